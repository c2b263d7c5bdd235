// Live progress while a crawl runs, on stderr so that stdout stays clean for data.
// On a TTY: one status line rewritten in place. Otherwise (CI, a log file, a pipe): a plain,
// grep-friendly line every 10 s. The reporter owns no timer: the runner calls update() (on a
// tick or on every event; redraws are throttled here), which keeps it deterministic to test.
import {formatClock, formatCount, formatRate} from './format.js';

export interface ProgressSnapshot {
	readonly done: number;
	readonly pending: number;
	readonly inflight: number;
	readonly failed: number;
	readonly items: number;
	readonly retries?: number | undefined;
	readonly elapsedMs: number;
	/** A recent-window rate (see createRateMeter), not the run-wide average. */
	readonly pagesPerSecond: number;
	readonly sessions?: {readonly ready: number; readonly loggingIn: number; readonly disabled: number} | undefined;
	/** Hosts paused by a 429/503 cooldown. */
	readonly coolingHosts?: number | undefined;
}

/** The part of a stream the reporter uses (process.stderr fits; tests pass a fake). */
export interface ProgressStream {
	write(chunk: string): unknown;
	readonly isTTY?: boolean | undefined;
	/** Terminal width: the status line is cut to fit, or a wrapped line could not be redrawn. */
	readonly columns?: number | undefined;
}

export interface ProgressReporterOptions {
	/** @default process.stderr */
	readonly stream?: ProgressStream;
	/** @default stream.isTTY */
	readonly isTTY?: boolean;
	/** Minimum time between two status outputs. @default 250 on a TTY, 10_000 otherwise */
	readonly intervalMs?: number;
	/** @default Date.now */
	readonly now?: () => number;
}

export interface ProgressReporter {
	/** Shows the snapshot, unless the previous output is younger than intervalMs. */
	update(snapshot: ProgressSnapshot): void;
	/** Ends live output: prints `final` as a last line if given, else clears the status line. */
	stop(final?: ProgressSnapshot): void;
	/** Prints a line of its own (a warning, a login) without garbling the status line. */
	log(line: string): void;
}

const clearLine = '\r\x1b[2K';

function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
	return count === 1 ? singular : pluralForm;
}

// The counters both formats share, in display order; `count` formats a number.
function counterParts(snapshot: ProgressSnapshot, count: (value: number) => string): string[] {
	const parts = [
		`${count(snapshot.done)} done`,
		`${count(snapshot.pending)} pending`,
		`${count(snapshot.inflight)} in flight`,
		`${count(snapshot.failed)} failed`,
		`${count(snapshot.items)} ${plural(snapshot.items, 'item')}`,
	];
	if (snapshot.retries !== undefined && snapshot.retries > 0) {
		parts.push(`${count(snapshot.retries)} ${plural(snapshot.retries, 'retry', 'retries')}`);
	}
	if (snapshot.sessions !== undefined) {
		const {ready, loggingIn, disabled} = snapshot.sessions;
		parts.push(`sessions ${count(ready)} ready/${count(loggingIn)} logging in/${count(disabled)} disabled`);
	}
	if (snapshot.coolingHosts !== undefined && snapshot.coolingHosts > 0) {
		parts.push(`${count(snapshot.coolingHosts)} ${plural(snapshot.coolingHosts, 'host')} cooling down`);
	}
	return parts;
}

/** `▸ 1,204 done · 8,310 pending · 10 in flight · 2 failed · 312 items · 41.2 pages/s · 00:01:12` */
export function formatStatusLine(snapshot: ProgressSnapshot): string {
	const parts = counterParts(snapshot, formatCount);
	parts.push(`${formatRate(snapshot.pagesPerSecond)} pages/s`, formatClock(snapshot.elapsedMs));
	return `▸ ${parts.join(' · ')}`;
}

/** `[progress] 1204 done, 8310 pending, 10 in flight, 2 failed, 312 items, 41.2 pages/s, elapsed 72s` */
export function formatPlainLine(snapshot: ProgressSnapshot): string {
	const rate = Number.isFinite(snapshot.pagesPerSecond) ? snapshot.pagesPerSecond : 0;
	const parts = counterParts(snapshot, String);
	parts.push(`${rate.toFixed(1)} pages/s`, `elapsed ${Math.floor(Math.max(0, snapshot.elapsedMs) / 1000)}s`);
	return `[progress] ${parts.join(', ')}`;
}

function fitToWidth(line: string, columns: number | undefined): string {
	// Leave the last column free: writing into it makes some terminals wrap early.
	if (columns === undefined || columns < 2 || line.length < columns) return line;
	return `${line.slice(0, columns - 2)}…`;
}

export function createProgressReporter(options: ProgressReporterOptions = {}): ProgressReporter {
	const stream = options.stream ?? process.stderr;
	const isTTY = options.isTTY ?? stream.isTTY === true;
	const intervalMs = options.intervalMs ?? (isTTY ? 250 : 10_000);
	const now = options.now ?? Date.now;
	// A TTY shows the first snapshot at once; a log gets its first line after one interval,
	// so a short run does not log "0 done".
	let lastOutputAt = isTTY ? Number.NEGATIVE_INFINITY : now();
	let latest: ProgressSnapshot | undefined;
	let statusShown = false;
	let isStopped = false;

	const statusLine = (snapshot: ProgressSnapshot): string => fitToWidth(formatStatusLine(snapshot), stream.columns);

	return {
		update(snapshot) {
			if (isStopped) return;
			latest = snapshot;
			const time = now();
			if (time - lastOutputAt < intervalMs) return;
			lastOutputAt = time;
			if (isTTY) {
				stream.write(`${clearLine}${statusLine(snapshot)}`);
				statusShown = true;
			} else {
				stream.write(`${formatPlainLine(snapshot)}\n`);
			}
		},
		stop(final) {
			if (isStopped) return;
			isStopped = true;
			if (isTTY) {
				if (final !== undefined) stream.write(`${clearLine}${statusLine(final)}\n`);
				else if (statusShown) stream.write(clearLine);
			} else if (final !== undefined) {
				stream.write(`${formatPlainLine(final)}\n`);
			}
			statusShown = false;
		},
		log(line) {
			const text = line.endsWith('\n') ? line : `${line}\n`;
			if (isTTY && statusShown && latest !== undefined) {
				stream.write(`${clearLine}${text}${statusLine(latest)}`);
			} else {
				stream.write(text);
			}
		},
	};
}
