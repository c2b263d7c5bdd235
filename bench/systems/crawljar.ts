// (a) crawljar: runCrawler with its SQLite store, form login and exactly-once results (the
// default); 'crawljar-pg' the same worker on PostgreSQL; 'crawljar-pg-2' two worker processes
// on one PostgreSQL crawl (issue 10: one worker on PostgreSQL vs SQLite, two workers vs one).
import {randomBytes} from 'node:crypto';
import {fileURLToPath} from 'node:url';
import pg from 'pg';
import {runCrawler} from '../../dist/index.js';
import {loadGotClient} from '../../dist/http/got-client.js';
import {schemaOf} from '../../src/store/postgres/schema.js';
import {benchDefinition} from '../crawljar-definition.js';
import {runChild} from '../lib/spawn-child.js';
import {startClock, type Measurement, type WorkerConfig} from '../lib/types.js';

/** The definition's file: handler threads load it, configured as benchDefinition is here (see its default export). */
const DEFINITION_FILE = fileURLToPath(new URL('../crawljar-definition.ts', import.meta.url));

/** `threads`: 'crawljar-threads', route handlers in one worker thread (issue 13). */
export async function runCrawljar(config: WorkerConfig, options: {threads?: number} = {}): Promise<Measurement> {
	if (options.threads) {
		process.env.BENCH_SITE_URL = config.siteUrl;
		process.env.BENCH_CONCURRENCY = String(config.concurrency);
	}
	const definition = benchDefinition(config.siteUrl, config.concurrency, {
		...(config.crawlerName ? {name: config.crawlerName} : {}),
		...(config.workers ? {workers: config.workers} : {}),
		...(config.wideStart ? {catalogueStart: Math.ceil(config.books / config.perPage)} : {}),
	});
	// crawljar loads got-scraping on its first request; the hand-written loop imports it before its
	// clock starts, and so does this (crawljar's own loader: the instance its requests then use).
	await loadGotClient();
	const startedAt = Date.now();
	const stop = startClock();
	// The timed span includes opening the store and the login: that is what a user waits for.
	const summary = await runCrawler(definition, {
		...(config.storeUrl ? {storeUrl: config.storeUrl} : {storageDir: config.storageDir}),
		concurrency: config.concurrency,
		...(options.threads ? {threads: options.threads, definitionFile: DEFINITION_FILE} : {}),
		// One key for the workers of a crawl: they share its (encrypted) sessions.
		secretKey: config.crawlerName ? Buffer.alloc(32, 3) : randomBytes(32),
	});
	const {elapsedMs, cpuMs} = stop();
	if (summary.state !== 'finished') throw new Error(`crawljar run ended '${summary.state}': ${summary.stoppedReason ?? ''}`);
	return {pages: summary.requests.done, items: summary.items, elapsedMs, cpuMs, maxRssKiB: process.resourceUsage().maxRSS, startedAt};
}

/**
 * `workers` processes of the 'crawljar-pg' system on one fresh schema, started together; the
 * span from the first one's start (after its imports, as for every system) to the last one's
 * end, CPU summed, the peak RSS of the largest; pages and items counted in the store (each
 * worker reports only its own part).
 */
export async function runCrawljarWorkers(config: WorkerConfig, workers: number): Promise<Measurement> {
	if (!config.storeUrl) throw new Error('crawljar-pg-2 needs a PostgreSQL URL');
	const crawlerName = `bench-pg-${randomBytes(4).toString('hex')}`;
	const child: WorkerConfig = {...config, system: 'crawljar-pg', crawlerName, workers};
	const parts = await Promise.all(Array.from({length: workers}, () => runChild<Measurement>('bench/worker.ts', [JSON.stringify(child)])));
	const elapsedMs = Math.max(...parts.map((part) => part.startedAt! + part.elapsedMs)) - Math.min(...parts.map((part) => part.startedAt!));
	const client = new pg.Client({connectionString: config.storeUrl});
	await client.connect();
	try {
		const schema = pg.escapeIdentifier(schemaOf(crawlerName));
		const pages = await client.query<{n: number}>(`SELECT count(*)::integer AS n FROM ${schema}.requests WHERE state = 'done'`);
		const items = await client.query<{n: number}>(`SELECT count(*)::integer AS n FROM ${schema}.items`);
		return {
			pages: pages.rows[0]!.n,
			items: items.rows[0]!.n,
			elapsedMs,
			cpuMs: parts.reduce((sum, part) => sum + part.cpuMs, 0),
			maxRssKiB: Math.max(...parts.map((part) => part.maxRssKiB)),
		};
	} finally {
		await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schemaOf(crawlerName))} CASCADE`).catch(() => {});
		await client.end();
	}
}
