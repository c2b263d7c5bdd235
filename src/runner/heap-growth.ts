// How far V8 lets the heap grow past what survived the last full GC, while a crawl runs (issue 13).
// A crawl allocates fast and keeps little: pages in flight survive a scavenge or two and are then
// garbage. V8's default growth factor is dynamic, up to 4× when its GC looks cheap, so the old
// space of a crawl whose live heap is ~30 MB grew to 150–300 MB before a full GC ran (peak RSS
// 280–450 MiB at c=50, measured). A fixed factor of 1.5 kept it under ~110 MB (RSS ~200 MiB)
// at the same pages/s. It is a GC heuristic, not a limit: a crawl that needs more heap gets it.
import v8 from 'node:v8';
import {CrawljarError} from '../errors.js';

/** Heap grows to 1.5× what the last full GC kept. */
export const DEFAULT_HEAP_GROWTH_PERCENT = 50;
export const MAX_HEAP_GROWTH_PERCENT = 400;

/** A percentage (1–400), or false to leave V8's own heuristic alone. */
export type HeapGrowthOption = number | false;

interface Process {
	readonly env: NodeJS.ProcessEnv;
	readonly execArgv: readonly string[];
	setFlags(flags: string): void;
}

const nodeProcess: Process = {env: process.env, execArgv: process.execArgv, setFlags: (flags) => v8.setFlagsFromString(flags)};

/** Runs holding the setting (runCrawler may run twice at once in one process), and what it is. */
let holders = 0;
let inEffect: number | undefined;

/**
 * Sets V8's heap growth for the process until the returned release runs (the last release puts
 * V8's dynamic default back). Precedence: the option, then CRAWLJAR_HEAP_GROWTH ("off" or a
 * percentage), then the default; a `--heap-growing-percent` node was started with wins over all.
 */
export function holdHeapGrowth(option: HeapGrowthOption | undefined, proc: Process = nodeProcess): () => void {
	const percent = resolveHeapGrowth(option, proc);
	if (percent === undefined) return () => {};
	if (holders === 0 || inEffect !== percent) proc.setFlags(`--heap-growing-percent=${percent}`);
	holders += 1;
	inEffect = percent;
	let released = false;
	return () => {
		if (released) return;
		released = true;
		holders -= 1;
		if (holders > 0) return;
		// 0 is V8's "dynamic": its own heuristic again, for whatever the process does next.
		proc.setFlags('--heap-growing-percent=0');
		inEffect = undefined;
	};
}

/** The percentage a running crawl has set, if any (for tests and callers that want to know). */
export function heapGrowthInEffect(): number | undefined {
	return inEffect;
}

export function resolveHeapGrowth(option: HeapGrowthOption | undefined, proc: Pick<Process, 'env' | 'execArgv'>): number | undefined {
	if (proc.execArgv.some((flag) => /^--heap[-_]growing[-_]percent\b/.test(flag))) return undefined;
	if (option !== undefined) return option === false ? undefined : checkPercent(option, 'heapGrowthPercent', 'false');
	const fromEnv = proc.env.CRAWLJAR_HEAP_GROWTH?.trim();
	if (fromEnv === undefined || fromEnv === '') return DEFAULT_HEAP_GROWTH_PERCENT;
	if (fromEnv === 'off') return undefined;
	return checkPercent(Number(fromEnv), `CRAWLJAR_HEAP_GROWTH (${JSON.stringify(fromEnv)})`, "'off'");
}

/** `off`: how the place the setting came from spells "leave V8 alone". */
function checkPercent(value: number, field: string, off: string): number {
	if (Number.isInteger(value) && value >= 1 && value <= MAX_HEAP_GROWTH_PERCENT) return value;
	throw new CrawljarError('ERR_USAGE', `${field}: expected a whole percentage from 1 to ${MAX_HEAP_GROWTH_PERCENT}, or ${off} to leave V8's default`);
}
