// `npm run bench`: crawljar side by side with Crawlee (disk and memory storage), a hand-written
// got-scraping + cheerio + p-queue loop and a raw undici GET loop, against the demo site in its
// own process; each measurement in its own child process, systems alternating. Then the resume
// time after SIGKILL, session save/load and the 1M-URL frontier. Writes bench/results.json.
//
//   npm run bench                      5,000 books, concurrency 10 and 50, 3 repetitions
//   npm run bench -- --quick           1,000 books, concurrency 10 and 50, 1 repetition (~3 min)
//   npm run bench -- --browser         browser login time and RSS; browser route vs HTTP (bench/browser-bench.ts)
//   npm run bench -- --reps 5 --books 5000 --concurrency 10,50 --no-extras --profile
//   npm run bench -- --quick --handler-cpu-us 1000   a handler with 1 ms of extraction per book (where threads pay)
//   npm run bench -- --store           only the PostgreSQL store benchmark (N = 1, 4, 16 workers);
//                                      --store-url URL (default CRAWLJAR_PG_URL or the local server)
//   npm run bench -- --scale-books 20000   books of the 2-workers-vs-1 crawl (bench/scale-out.ts;
//                                      static files behind nginx when it is installed); --no-scale-out skips it,
//                                      --scale-out runs only it (the results file's scaleOut section changes),
//                                      --scale-wide also measures it with every catalogue page a start URL
import {spawnSync} from 'node:child_process';
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {parseArgs} from 'node:util';
import {measureResume, type ResumeResult} from './measure-resume.js';
import type {SessionsResult} from './measure-sessions.js';
import {formatProfile, profileSystem} from './profile.js';
import {formatScaleOut, measureScaleOut, type ScaleOutOptions, type ScaleOutResult} from './scale-out.js';
import {formatStoreBench, measureStore, type StoreBenchResult} from './store-bench.js';
import {startSiteProcess} from './lib/site-process.js';
import {repoDir, runChild} from './lib/spawn-child.js';
import {round, spread, table, type Spread} from './lib/stats.js';
import {POSTGRES_SYSTEMS, SYSTEMS, expectedPages, type Measurement, type SystemName, type WorkerConfig} from './lib/types.js';

// --browser: only the browser costs (bench/browser-bench.ts), not the default comparison.
if (process.argv.includes('--browser')) {
	const {runBrowserBench} = await import('./browser-bench.js');
	await runBrowserBench();
	process.exit(0);
}

const {values: flags} = parseArgs({
	options: {
		quick: {type: 'boolean'},
		reps: {type: 'string'},
		books: {type: 'string'},
		'page-bytes': {type: 'string'},
		'handler-cpu-us': {type: 'string'},
		concurrency: {type: 'string'},
		systems: {type: 'string'},
		'no-extras': {type: 'boolean'},
		profile: {type: 'boolean'},
		store: {type: 'boolean'},
		'store-url': {type: 'string'},
		'store-workers': {type: 'string'},
		'store-seconds': {type: 'string'},
		'store-batch': {type: 'string'},
		'scale-books': {type: 'string'},
		'no-scale-out': {type: 'boolean'},
		'scale-out': {type: 'boolean'},
		'scale-wide': {type: 'boolean'},
	},
});
const quick = Boolean(flags.quick);
const books = Number(flags.books ?? (quick ? 1000 : 5000));
const pageBytes = Number(flags['page-bytes'] ?? 10_000);
// Read by bench/lib/extract.ts in every child (they inherit this process's environment).
if (flags['handler-cpu-us']) process.env.BENCH_HANDLER_CPU_US = flags['handler-cpu-us'];
const perPage = 20;
const reps = Number(flags.reps ?? (quick ? 1 : 3));
const concurrencies = (flags.concurrency ?? '10,50').split(',').map(Number);
const hasCrawlee = existsSync(path.join(repoDir, 'bench/node_modules/crawlee/package.json'));
const pgUrl = flags['store-url'] ?? process.env.CRAWLJAR_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const hasPostgres = await isReachable(pgUrl);
const systems =
	(flags.systems?.split(',') as SystemName[] | undefined) ??
	[...SYSTEMS.filter((system) => hasCrawlee || !system.startsWith('crawlee')), ...(hasPostgres ? POSTGRES_SYSTEMS : [])];
const resultsFile = path.join(repoDir, quick ? 'bench/tmp/results-quick.json' : 'bench/results.json');

interface Run extends Measurement {
	readonly system: SystemName;
	readonly concurrency: number;
	readonly rep: number;
	readonly pagesPerSecond: number;
	readonly peakRssMiB: number;
	/** CPU time of the crawler's process per page (user + system). */
	readonly cpuUsPerPage: number;
	/** Every page fetched once and every book extracted. */
	readonly complete: boolean;
}

interface SystemSummary {
	readonly pagesPerSecond: Spread;
	readonly peakRssMiB: Spread;
	readonly cpuUsPerPage: Spread;
	readonly runs: number;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

// Alone: only that section of the results file changes.
if (flags.store) writeSectionAndExit('store', await storeBench(), formatStoreBench);
if (flags['scale-out']) {
	if (!hasPostgres) throw new Error(`--scale-out needs PostgreSQL at ${pgUrl}`);
	writeSectionAndExit('scaleOut', await measureScaleOut(scaleOutOptions()), formatScaleOut);
}

function writeSectionAndExit<T>(section: string, value: T, format: (value: T) => string): never {
	const previous = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as Record<string, unknown>) : {};
	mkdirSync(path.dirname(resultsFile), {recursive: true});
	writeFileSync(resultsFile, `${JSON.stringify({...previous, [section]: value}, null, '\t')}\n`);
	console.log(format(value));
	log(`\nwrote the ${section} section of ${path.relative(process.cwd(), resultsFile)}`);
	process.exit(0);
}

if (!hasCrawlee) log('bench: Crawlee is not installed (cd bench && npm install --no-audit --no-fund); measuring without it');
log(`bench: ${books} books of ~${pageBytes} bytes, concurrency ${concurrencies.join(' and ')}, ${reps} repetition(s), systems ${systems.join(', ')}`);

const runs: Run[] = [];
/** Issue 13: crawljar's peak RSS must hold in every run, not in most: RSS_RUNS more runs of it alone. */
const RSS_RUNS = 10;
const rssRuns: Run[] = [];
const site = await startSiteProcess({books, pageBytes});
try {
	for (const concurrency of concurrencies) {
		for (let rep = 1; rep <= reps; rep++) {
			// Alternating (a, b, c, d, a, b, …) spreads the machine's noise over every system.
			for (const system of systems) runs.push(await measure(system, concurrency, rep));
		}
	}
	if (systems.includes('crawljar') && !flags['no-extras']) {
		const concurrency = Math.max(...concurrencies);
		log(`bench: crawljar's peak RSS over ${RSS_RUNS} more runs at concurrency ${concurrency}…`);
		for (let rep = 1; rep <= RSS_RUNS; rep++) rssRuns.push(await measure('crawljar', concurrency, rep));
	}
} finally {
	await site.stop();
}

// Issue 10: 2 workers vs 1, on a site cheap to serve (bench/scale-out.ts), when PostgreSQL is up.
const scaleOut: ScaleOutResult | {error: string} | undefined =
	hasPostgres && !flags['no-scale-out'] && !flags.systems
		? await measureScaleOut(scaleOutOptions()).catch((error: unknown) => ({error: String(error)}))
		: undefined;
const extras = flags['no-extras'] ? undefined : await measureExtras();
const storeResult = flags['no-extras'] ? undefined : await storeBench().catch((error: unknown) => ({error: String(error)}));
const profile = flags.profile ? await profileSystem('crawljar', books, concurrencies[0]!, pageBytes) : undefined;

const summary = summarize();
const ratios = ratiosAt(concurrencies[0]!);
const results = {
	date: new Date().toISOString(),
	machine: {
		cpus: os.cpus().length,
		cpuModel: os.cpus()[0]?.model ?? 'unknown',
		memoryGiB: round(os.totalmem() / 2 ** 30, 1),
		node: process.version,
		platform: `${os.platform()} ${os.release()}`,
		// Every child runs under tsx (TypeScript loader thread): this much RSS is the loader, not the system.
		baselineRssMiB: baselineRss(),
	},
	config: {books, pageBytes, perPage, reps, concurrencies, quick, expectedPages: expectedPages(books, perPage)},
	ratios: {...ratios, byConcurrency: Object.fromEntries(concurrencies.map((concurrency) => [concurrency, ratiosAt(concurrency)]))},
	targets: targets(),
	summary,
	runs,
	...extras,
	...(rssRuns.length > 0 ? {rss: {runs: rssRuns.length, concurrency: rssRuns[0]!.concurrency, maxMiB: Math.max(...rssRuns.map((run) => run.peakRssMiB)), peakRssMiB: rssRuns.map((run) => run.peakRssMiB)}} : {}),
	...(scaleOut ? {scaleOut} : {}),
	...(storeResult ? {store: storeResult} : {}),
	...(profile ? {profile: {measurement: profile.measurement, busyMs: profile.profile.busyMs, areas: profile.profile.areas, functions: profile.profile.functions}} : {}),
};
mkdirSync(path.dirname(resultsFile), {recursive: true});
writeFileSync(resultsFile, `${JSON.stringify(results, null, '\t')}\n`);

console.log(report());
if (scaleOut) console.log(`\n${'error' in scaleOut ? `2 workers vs 1: failed: ${scaleOut.error}` : formatScaleOut(scaleOut)}`);
if (storeResult) console.log('error' in storeResult ? `\nstore benchmark: failed: ${storeResult.error}` : formatStoreBench(storeResult));
if (profile) console.log(`\n${formatProfile(profile)}`);
log(`\nwrote ${path.relative(process.cwd(), resultsFile)}`);

async function measure(system: SystemName, concurrency: number, rep: number): Promise<Run> {
	const storageDir = mkdtempSync(path.join(os.tmpdir(), `crawljar-bench-${system}-`));
	try {
		const config: WorkerConfig = {system, siteUrl: site.url, concurrency, books, perPage, storageDir, ...(system.startsWith('crawljar-pg') ? {storeUrl: pgUrl} : {})};
		const measurement = await runChild<Measurement>('bench/worker.ts', [JSON.stringify(config)]);
		const complete = measurement.pages === expectedPages(books, perPage) && (system === 'raw-http' || measurement.items === books);
		const run: Run = {
			system,
			concurrency,
			rep,
			...measurement,
			pagesPerSecond: round((measurement.pages * 1000) / measurement.elapsedMs, 1),
			peakRssMiB: round(measurement.maxRssKiB / 1024, 1),
			cpuUsPerPage: round((measurement.cpuMs * 1000) / Math.max(1, measurement.pages), 0),
			complete,
		};
		log(`  c=${concurrency} #${rep} ${system.padEnd(14)} ${String(run.pagesPerSecond).padStart(8)} pages/s  ${String(run.cpuUsPerPage).padStart(6)} µs CPU/page  ${String(run.peakRssMiB).padStart(6)} MiB${complete ? '' : `  INCOMPLETE (${measurement.pages} pages, ${measurement.items} items)`}`);
		return run;
	} finally {
		rmSync(storageDir, {recursive: true, force: true});
	}
}

function scaleOutOptions(): ScaleOutOptions {
	return {books: Number(flags['scale-books'] ?? (quick ? 5000 : 20_000)), pageBytes, perPage, concurrencies, reps, storeUrl: pgUrl, wide: Boolean(flags['scale-wide']), log};
}

async function storeBench(): Promise<StoreBenchResult> {
	const url = pgUrl;
	const workers = (flags['store-workers'] ?? '1,4,16').split(',').map(Number);
	const durationMs = Number(flags['store-seconds'] ?? (quick ? 2 : 5)) * 1000;
	const batch = Number(flags['store-batch'] ?? 10);
	log(`bench: store, N = ${workers.join(', ')} workers, ${durationMs / 1000} s each, ${reps} repetition(s), load average ${os.loadavg().map((each) => each.toFixed(2)).join(' ')}…`);
	return measureStore({url, workers, reps, durationMs, batch, log});
}

async function measureExtras(): Promise<{resume: ResumeResult | {error: string}; sessions: SessionsResult | {error: string}; frontier: {urls: number; peakRssMiB: number | undefined; output: string} | {error: string}}> {
	log('bench: resume after SIGKILL…');
	const resume = await measureResume({books: quick ? 1000 : 5000, pageBytes, concurrency: 10}).catch((error: unknown) => ({error: String(error)}));
	log('bench: 1,000 sessions × 20 cookies…');
	const sessions = await runChild<SessionsResult>('bench/measure-sessions.ts', ['1000', '20']).catch((error: unknown) => ({error: String(error)}));
	const urls = quick ? 100_000 : 1_000_000;
	log(`bench: ${urls.toLocaleString()}-URL frontier…`);
	const frontier = runFrontier(urls);
	return {resume, sessions, frontier};
}

function runFrontier(urls: number): {urls: number; peakRssMiB: number | undefined; output: string} | {error: string} {
	const child = spawnSync(process.execPath, ['--import', 'tsx', 'bench/frontier-1m.ts', String(urls), quick ? '500' : '2000'], {cwd: repoDir, encoding: 'utf8', timeout: 600_000});
	if (child.status !== 0) return {error: `bench/frontier-1m.ts exited ${child.status ?? child.signal}: ${child.stderr.slice(-1000)}`};
	const peak = /peak RSS: ([\d.]+) MB/.exec(child.stdout)?.[1];
	return {urls, peakRssMiB: peak ? Number(peak) : undefined, output: child.stdout.trim()};
}

function baselineRss(): number {
	const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', 'console.log(process.resourceUsage().maxRSS)'], {cwd: repoDir, encoding: 'utf8'});
	return round(Number(child.stdout.trim()) / 1024, 1);
}

function summarize(): Record<string, Partial<Record<SystemName, SystemSummary>>> {
	const byConcurrency: Record<string, Partial<Record<SystemName, SystemSummary>>> = {};
	for (const concurrency of concurrencies) {
		const entry: Partial<Record<SystemName, SystemSummary>> = {};
		for (const system of systems) {
			const mine = runs.filter((run) => run.system === system && run.concurrency === concurrency && run.complete);
			if (mine.length === 0) continue;
			entry[system] = {
				pagesPerSecond: spread(mine.map((run) => run.pagesPerSecond)),
				peakRssMiB: spread(mine.map((run) => run.peakRssMiB)),
				cpuUsPerPage: spread(mine.map((run) => run.cpuUsPerPage)),
				runs: mine.length,
			};
		}
		byConcurrency[concurrency] = entry;
	}
	return byConcurrency;
}

function ratiosAt(concurrency: number): {
	crawljarVsCrawleeDisk: number | null;
	crawljarVsCrawleeMemory: number | null;
	crawljarVsHandwritten: number | null;
	crawleeSessionsVsCrawleeMemory: number | null;
	postgresVsSqlite: number | null;
	twoWorkersVsOne: number | null;
} {
	const entry = summary[concurrency] ?? {};
	const ratio = (other: SystemName, system: SystemName = 'crawljar') => {
		const mine = entry[system]?.pagesPerSecond.median;
		const theirs = entry[other]?.pagesPerSecond.median;
		return mine && theirs ? round(mine / theirs, 2) : null;
	};
	return {
		crawljarVsCrawleeDisk: ratio('crawlee-disk'),
		crawljarVsCrawleeMemory: ratio('crawlee-memory'),
		crawljarVsHandwritten: ratio('handwritten'),
		// The adapter's cost: the same CheerioCrawler (memory storage) on crawljar's sessions.
		crawleeSessionsVsCrawleeMemory: ratio('crawlee-memory', 'crawlee-sessions'),
		// Issue 10: one worker on PostgreSQL against the same worker on SQLite; two workers against one.
		postgresVsSqlite: ratio('crawljar', 'crawljar-pg'),
		// Measured on its own site (bench/scale-out.ts) unless crawljar-pg-2 was run here (--systems).
		twoWorkersVsOne: ratio('crawljar-pg', 'crawljar-pg-2') ?? (scaleOut && !('error' in scaleOut) ? (scaleOut.byConcurrency[concurrency]?.ratio ?? null) : null),
	};
}

/** The smallest of a ratio over the measured concurrencies (null if any is missing). */
function worstRatio(name: 'crawljarVsCrawleeDisk' | 'crawljarVsCrawleeMemory' | 'crawljarVsHandwritten'): number | null {
	const values = concurrencies.map((concurrency) => ratiosAt(concurrency)[name]);
	return values.some((value) => value === null) ? null : Math.min(...(values as number[]));
}

function targets(): Record<string, {target: string; measured: number | null; met: boolean | null}> {
	const check = (target: string, measured: number | null | undefined, met: (value: number) => boolean) => ({
		target,
		measured: measured ?? null,
		met: measured === null || measured === undefined ? null : met(measured),
	});
	const crawljarRss = Math.max(...[...runs, ...rssRuns].filter((run) => run.system === 'crawljar').map((run) => run.peakRssMiB));
	const resume = extras?.resume;
	const frontier = extras?.frontier;
	return {
		// Issue 13: at every measured concurrency, so the worst of them is what is checked.
		crawljarVsCrawleeDisk: check('>= 6', worstRatio('crawljarVsCrawleeDisk'), (value) => value >= 6),
		crawljarVsCrawleeMemory: check('>= 3', worstRatio('crawljarVsCrawleeMemory'), (value) => value >= 3),
		crawljarVsHandwritten: check('>= 1.1', worstRatio('crawljarVsHandwritten'), (value) => value >= 1.1),
		crawleeSessionsVsCrawleeMemory: check('>= 0.9', ratios.crawleeSessionsVsCrawleeMemory, (value) => value >= 0.9),
		postgresVsSqlite: check('>= 0.8', ratios.postgresVsSqlite, (value) => value >= 0.8),
		twoWorkersVsOne: check('>= 1.5', ratios.twoWorkersVsOne, (value) => value >= 1.5),
		crawljarPeakRssMiB: check('<= 300', Number.isFinite(crawljarRss) ? crawljarRss : null, (value) => value <= 300),
		resumeToFirstRequestMs: check('< 1000', resume && 'spawnToFirstRequestMs' in resume ? resume.spawnToFirstRequestMs : null, (value) => value < 1000),
		frontierPeakRssMiB: check('< 300', frontier && 'peakRssMiB' in frontier ? frontier.peakRssMiB : null, (value) => value < 300),
	};
}

function report(): string {
	const lines: string[] = [];
	const number = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(1));
	for (const concurrency of concurrencies) {
		const entry = summary[concurrency] ?? {};
		const rows = systems.map((system) => {
			const each = entry[system];
			const failed = runs.filter((run) => run.system === system && run.concurrency === concurrency && !run.complete).length;
			if (!each) return [system, '-', '-', '-', '-', '', failed ? `${failed} incomplete` : ''];
			const pps = each.pagesPerSecond;
			const crawljar = entry.crawljar?.pagesPerSecond.median;
			return [
				system,
				number(pps.median),
				`${number(pps.min)}–${number(pps.max)}`,
				`${number(each.cpuUsPerPage.median)}`,
				`${number(each.peakRssMiB.max)} MiB`,
				system === 'crawljar' || !crawljar ? '' : `${(crawljar / pps.median).toFixed(2)}×`,
				failed ? `${failed} incomplete` : '',
			];
		});
		lines.push(`\nconcurrency ${concurrency} (${books} books + ${Math.ceil(books / perPage)} catalogue pages, ${reps} run(s) each)`);
		lines.push(table(['system', 'pages/s (median)', 'min–max', 'CPU µs/page', 'peak RSS', 'crawljar ÷ this', ''], rows));
	}
	lines.push('');
	for (const concurrency of concurrencies) {
		const at = ratiosAt(concurrency);
		lines.push(
			`ratios at concurrency ${concurrency}: crawljar/Crawlee-disk ${at.crawljarVsCrawleeDisk ?? '-'}×, crawljar/Crawlee-memory ${at.crawljarVsCrawleeMemory ?? '-'}×, crawljar/hand-written ${at.crawljarVsHandwritten ?? '-'}×, PostgreSQL/SQLite ${at.postgresVsSqlite ?? '-'}×, 2 workers/1 ${at.twoWorkersVsOne ?? '-'}×`,
		);
	}
	if (rssRuns.length > 0) lines.push(`crawljar peak RSS over ${rssRuns.length} more runs at c=${rssRuns[0]!.concurrency}: max ${Math.max(...rssRuns.map((run) => run.peakRssMiB))} MiB (${rssRuns.map((run) => run.peakRssMiB).join(', ')})`);
	lines.push(`(peak RSS includes ~${results.machine.baselineRssMiB} MiB of node + the tsx loader every child runs under)`);
	if (extras) {
		const {resume, sessions, frontier} = extras;
		lines.push('');
		lines.push(
			'spawnToFirstRequestMs' in resume
				? `resume after SIGKILL (${resume.books}-page crawl killed after ${resume.killedAfterBooks} books, CLI from dist/): first request ${Math.round(resume.spawnToFirstRequestMs)} ms after spawn (${resume.firstRequestPath}); ${resume.items} items after resuming (exactly once: ${resume.items === resume.books ? 'yes' : 'NO'})`
				: `resume after SIGKILL: failed: ${resume.error}`,
		);
		lines.push(
			'saveMs' in sessions
				? `sessions: ${sessions.sessions} × ${sessions.cookiesPerSession} cookies saved in ${Math.round(sessions.saveMs)} ms, loaded in ${Math.round(sessions.loadMs)} ms (${sessions.cookiesLoaded} cookies back)`
				: `sessions: failed: ${sessions.error}`,
		);
		lines.push('peakRssMiB' in frontier ? `frontier of ${frontier.urls.toLocaleString()} URLs: peak RSS ${frontier.peakRssMiB ?? '?'} MB` : `frontier: failed: ${frontier.error}`);
	}
	lines.push('\ntargets:');
	for (const [name, each] of Object.entries(results.targets)) lines.push(`  ${name.padEnd(26)} ${each.target.padEnd(8)} ${String(each.measured ?? '-').padStart(8)}  ${each.met === null ? 'n/a' : each.met ? 'met' : 'MISSED'}`);
	return lines.join('\n');
}

/** A PostgreSQL server answers at `url` (the PostgreSQL systems and the store benchmark need one). */
async function isReachable(url: string): Promise<boolean> {
	const {default: pg} = await import('pg');
	const client = new pg.Client({connectionString: url, connectionTimeoutMillis: 2_000});
	try {
		await client.connect();
		return true;
	} catch {
		return false;
	} finally {
		await client.end().catch(() => {});
	}
}
