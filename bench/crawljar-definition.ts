// crawljar's side of the benchmark: the demo crawler (crawlers/demo.ts) with its limits opened to
// the measured concurrency. The default export is for `crawljar run bench/crawljar-definition.ts`
// (the resume measurement), configured by BENCH_SITE_URL and BENCH_CONCURRENCY.
// The built package (dist/, as a user's definition gets it from 'crawljar'): `npm run bench`
// builds first, so the CLI and the definition share one copy of crawljar and none is transpiled.
import {defineCrawler, formLogin} from '../dist/index.js';
import type {CrawlerDefinition} from '../dist/index.js';
import {extractBook, isLoginPage} from './lib/extract.js';

/**
 * `workers`: processes sharing the crawl; its host and session limits are crawl-wide, so they grow
 * with it. `catalogueStart`: start at every catalogue page (1 to N) instead of the first one only.
 */
export function benchDefinition(siteUrl: string, concurrency: number, options: {name?: string; workers?: number; catalogueStart?: number} = {}): CrawlerDefinition {
	const crawlWide = concurrency * (options.workers ?? 1);
	const pages = options.catalogueStart ?? 1;
	return defineCrawler({
		name: options.name ?? 'bench-books',
		startUrls: Array.from({length: pages}, (_, index) => (index === 0 ? `${siteUrl}/catalogue` : `${siteUrl}/catalogue?page=${index + 1}`)),
		accounts: [{username: 'demo', password: 'demo-password'}],
		login: formLogin({
			url: '/login',
			fields: ({account}) => ({username: account.username, password: account.password ?? ''}),
		}),
		loggedOut: ({$}) => isLoginPage($),
		concurrency,
		// One host and one account: without these the per-host and per-session defaults (4 each)
		// would cap the crawl below the concurrency the other systems get.
		hosts: {maxConcurrency: crawlWide},
		sessions: {maxConcurrency: crawlWide},
		routes: {
			default: async ({enqueue}) => {
				await enqueue({selector: 'a.book', label: 'book'});
				await enqueue({selector: 'a.next'});
			},
			book: async ({request, $, push}) => {
				await push(extractBook($, request.url));
			},
		},
	});
}

export default benchDefinition(process.env.BENCH_SITE_URL ?? 'http://127.0.0.1:4180', Number(process.env.BENCH_CONCURRENCY ?? 10));
