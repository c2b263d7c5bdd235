// Issue 10, item 6: two crawljar workers on one PostgreSQL crawl against one worker. Measured
// against a site that is cheap to serve (the bench site as static files behind nginx, see
// lib/static-site.ts): on 2 cores, the demo site's own CPU (~0.5 ms a page in node) would take
// the core the second worker needs, and the ratio would measure the site. Falls back to the demo
// site, and says so, where nginx is not installed (`apt-get install nginx-light`).
// The crawl is bigger than the main comparison's (20,000 books by default): each worker pays
// its start (imports, store, login or the wait for the other's) once, and at 5,000 books that
// fixed part alone is a tenth of a worker's run.
import {mkdtempSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {startSiteProcess, type SiteProcess} from './lib/site-process.js';
import {findNginx, startStaticSite} from './lib/static-site.js';
import {runChild} from './lib/spawn-child.js';
import {round, spread, table, type Spread} from './lib/stats.js';
import {expectedPages, type Measurement, type WorkerConfig} from './lib/types.js';

export interface ScaleOutOptions {
	readonly books: number;
	readonly pageBytes: number;
	readonly perPage: number;
	readonly concurrencies: readonly number[];
	readonly reps: number;
	readonly storeUrl: string;
	/** Also measure both with every catalogue page a start URL (a wide frontier; see WorkerConfig.wideStart). */
	readonly wide?: boolean;
	readonly log: (line: string) => void;
}

export interface ScaleOutRun {
	readonly system: 'crawljar-pg' | 'crawljar-pg-2';
	/** 'chain': the crawl starts at the first catalogue page; 'wide': at every one. */
	readonly frontier: Frontier;
	readonly concurrency: number;
	readonly rep: number;
	readonly pagesPerSecond: number;
	readonly cpuUsPerPage: number;
	readonly complete: boolean;
}

type Frontier = 'chain' | 'wide';

export interface ScaleOutResult {
	/** What served the pages. */
	readonly site: string;
	readonly books: number;
	/** Median pages/s of one and of two workers, and their ratio, per concurrency (each worker's). */
	readonly byConcurrency: Record<string, Ratio>;
	/** The same with a wide frontier (--scale-wide), where measured. */
	readonly wideByConcurrency?: Record<string, Ratio>;
	readonly runs: readonly ScaleOutRun[];
}

interface Ratio {
	readonly one: Spread;
	readonly two: Spread;
	readonly ratio: number;
}

export async function measureScaleOut(options: ScaleOutOptions): Promise<ScaleOutResult> {
	const {books, pageBytes, perPage, concurrencies, reps, storeUrl, log} = options;
	const frontiers: readonly Frontier[] = options.wide ? ['chain', 'wide'] : ['chain'];
	const nginx = findNginx();
	let site: SiteProcess;
	let description: string;
	if (nginx) {
		log(`bench: 2 workers vs 1 on PostgreSQL: snapshotting ${books} books for nginx…`);
		const served = await startStaticSite({books, pageBytes, nginx});
		site = served;
		description = served.server;
	} else {
		log('bench: nginx not found (apt-get install nginx-light): 2 workers vs 1 measured on the demo site, which shares the 2 cores');
		site = await startSiteProcess({books, pageBytes});
		description = 'the demo site (node) in its own process: nginx not installed';
	}
	const runs: ScaleOutRun[] = [];
	try {
		for (const concurrency of concurrencies) {
			for (let rep = 1; rep <= reps; rep++) {
				for (const [frontier, system] of frontiers.flatMap((each) => (['crawljar-pg', 'crawljar-pg-2'] as const).map((name) => [each, name] as const))) {
					const storageDir = mkdtempSync(path.join(os.tmpdir(), `crawljar-bench-${system}-`));
					try {
						const config: WorkerConfig = {system, siteUrl: site.url, concurrency, books, perPage, storageDir, storeUrl, ...(frontier === 'wide' ? {wideStart: true} : {})};
						const measurement = await runChild<Measurement>('bench/worker.ts', [JSON.stringify(config)]);
						const run: ScaleOutRun = {
							system,
							frontier,
							concurrency,
							rep,
							pagesPerSecond: round((measurement.pages * 1000) / measurement.elapsedMs, 1),
							cpuUsPerPage: round((measurement.cpuMs * 1000) / Math.max(1, measurement.pages), 0),
							complete: measurement.pages === expectedPages(books, perPage) && measurement.items === books,
						};
						runs.push(run);
						log(`  c=${concurrency} #${rep} ${system.padEnd(14)} ${frontier.padEnd(5)} ${String(run.pagesPerSecond).padStart(8)} pages/s  ${String(run.cpuUsPerPage).padStart(6)} µs CPU/page${run.complete ? '' : '  INCOMPLETE'}`);
					} finally {
						rmSync(storageDir, {recursive: true, force: true});
					}
				}
			}
		}
	} finally {
		await site.stop();
	}
	const ratios = (frontier: Frontier): Record<string, Ratio> => {
		const byConcurrency: Record<string, Ratio> = {};
		for (const concurrency of concurrencies) {
			const rates = (system: ScaleOutRun['system']) =>
				runs.filter((run) => run.system === system && run.frontier === frontier && run.concurrency === concurrency && run.complete).map((run) => run.pagesPerSecond);
			const one = rates('crawljar-pg');
			const two = rates('crawljar-pg-2');
			if (one.length === 0 || two.length === 0) continue;
			byConcurrency[concurrency] = {one: spread(one), two: spread(two), ratio: round(spread(two).median / spread(one).median, 2)};
		}
		return byConcurrency;
	};
	return {site: description, books, byConcurrency: ratios('chain'), ...(options.wide ? {wideByConcurrency: ratios('wide')} : {}), runs};
}

export function formatScaleOut(result: ScaleOutResult): string {
	const rows = [
		...Object.entries(result.byConcurrency).map(([concurrency, each]) => ['chain', concurrency, each] as const),
		...Object.entries(result.wideByConcurrency ?? {}).map(([concurrency, each]) => ['wide', concurrency, each] as const),
	].map(([frontier, concurrency, each]) => [
		`c=${concurrency} ${frontier}`,
		`${each.one.median} (${each.one.min}–${each.one.max})`,
		`${each.two.median} (${each.two.min}–${each.two.max})`,
		`${each.ratio}×`,
	]);
	return [`2 workers vs 1 on one PostgreSQL crawl, ${result.books} books, served by ${result.site}`, table(['', '1 worker pages/s', '2 workers pages/s', '2 ÷ 1'], rows)].join('\n');
}
