// (b) Crawlee's CheerioCrawler, logged in by a plain form POST, the `sid` cookie set on every
// request. 'disk' is Crawlee's default storage (request queue and dataset persisted as JSON files
// under CRAWLEE_STORAGE_DIR); 'memory' keeps them in memory only (persistStorage: false).
// Crawlee is a dependency of bench/ only (bench/package.json), so it is imported by name at run
// time and typed by the few members used here: the root typecheck must pass without it installed.
import {extractBook, isLoginPage, type Selectable} from '../lib/extract.js';
import {crawleeSessions} from '../../dist/crawlee/index.js';
import {benchDefinition} from '../crawljar-definition.js';
import {loginCookie} from '../lib/login.js';
import {startClock, type Measurement, type WorkerConfig} from '../lib/types.js';

interface CrawleeContext {
	readonly request: {readonly url: string; readonly label?: string | undefined};
	readonly $: Selectable;
	enqueueLinks(options: {selector: string; label?: string}): Promise<unknown>;
	pushData(data: Record<string, unknown>): Promise<void>;
}

interface CrawleeModule {
	CheerioCrawler: new (options: Record<string, unknown>, config?: unknown) => {run(urls: string[]): Promise<{requestsFinished: number; requestsFailed: number}>};
	Configuration: new (options: Record<string, unknown>) => unknown;
	log: {setLevel(level: number): void; LEVELS: {WARNING: number}};
}

/**
 * `withSessions`: the same crawler on crawljar's sessions (crawljar/crawlee: its httpClient, a
 * form login through crawljar's pool) instead of a cookie set by hand — the adapter's cost.
 */
export async function runCrawlee(config: WorkerConfig, storage: 'disk' | 'memory', withSessions = false): Promise<Measurement> {
	// Read by Crawlee when its global configuration is first built; set before the import.
	process.env.CRAWLEE_STORAGE_DIR = config.storageDir;
	const crawlee = (await import('crawlee' as string)) as CrawleeModule;
	crawlee.log.setLevel(crawlee.log.LEVELS.WARNING);
	const auth = withSessions
		? await crawleeSessions(benchDefinition(config.siteUrl, config.concurrency), {storage: config.storageDir, secretKey: Buffer.alloc(32, 7)})
		: undefined;
	const cookie = auth ? '' : await loginCookie(config.siteUrl);
	let pages = 0;
	let items = 0;
	let loggedOut = 0;

	const crawler = new crawlee.CheerioCrawler(
		{
			// Both bounds: at equal concurrency, not Crawlee's autoscaling ramp from 1.
			minConcurrency: config.concurrency,
			maxConcurrency: config.concurrency,
			maxRequestRetries: 3,
			...(auth ? (auth.crawlerOptions as unknown as Record<string, unknown>) : {}),
			preNavigationHooks: auth ? [] : [
				(_context: unknown, gotOptions: {headers?: Record<string, string>}) => {
					gotOptions.headers = {...gotOptions.headers, cookie};
				},
			],
			async requestHandler(context: CrawleeContext) {
				if (isLoginPage(context.$)) {
					loggedOut++;
					return;
				}
				pages++;
				if (context.request.label === 'book') {
					await context.pushData({...extractBook(context.$, context.request.url)});
					items++;
					return;
				}
				await context.enqueueLinks({selector: 'a.book', label: 'book'});
				await context.enqueueLinks({selector: 'a.next'});
			},
		},
		storage === 'memory' ? new crawlee.Configuration({persistStorage: false}) : undefined,
	);
	const stop = startClock();
	await crawler.run([`${config.siteUrl}/catalogue`]);
	const {elapsedMs, cpuMs} = stop();
	await auth?.close();
	if (loggedOut > 0) console.error(`crawlee: ${loggedOut} logged-out pages`);
	return {pages, items, elapsedMs, cpuMs, maxRssKiB: process.resourceUsage().maxRSS};
}
