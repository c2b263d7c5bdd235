// (d) The HTTP ceiling: undici GETs of the same pages, bodies read, nothing parsed.
import {loginCookie} from '../lib/login.js';
import {startClock, expectedPages, type Measurement, type WorkerConfig} from '../lib/types.js';

/** The part of undici's Pool this loop uses (undici comes with cheerio; typed here to keep it optional). */
interface UndiciPool {
	request(options: {path: string; method: 'GET'; headers: Record<string, string>}): Promise<{statusCode: number; body: {text(): Promise<string>}}>;
	close(): Promise<void>;
}
type PoolConstructor = new (origin: string, options: {connections: number; pipelining: number}) => UndiciPool;

/** Every page the crawl visits, in the order a breadth-first crawl would roughly meet them. */
export function pagePaths(books: number, perPage: number): string[] {
	const paths = ['/catalogue'];
	for (let page = 2; page <= Math.ceil(books / perPage); page++) paths.push(`/catalogue?page=${page}`);
	for (let id = 1; id <= books; id++) paths.push(`/books/${id}`);
	return paths;
}

export async function runRawHttp(config: WorkerConfig): Promise<Measurement> {
	const cookie = await loginCookie(config.siteUrl);
	const paths = pagePaths(config.books, config.perPage);
	if (paths.length !== expectedPages(config.books, config.perPage)) throw new Error('page list does not match the site');
	const undici = (await import('undici' as string).catch(() => undefined)) as {Pool: PoolConstructor} | undefined;
	const pool = undici ? new undici.Pool(config.siteUrl, {connections: config.concurrency, pipelining: 1}) : undefined;
	const get = pool
		? async (path: string) => {
				const response = await pool.request({path, method: 'GET', headers: {cookie}});
				await response.body.text();
				return response.statusCode;
			}
		: async (path: string) => {
				// Node's global fetch is undici too, with more per-request overhead.
				const response = await fetch(config.siteUrl + path, {headers: {cookie}, redirect: 'manual'});
				await response.text();
				return response.status;
			};

	let next = 0;
	let pages = 0;
	const stop = startClock();
	await Promise.all(
		Array.from({length: config.concurrency}, async () => {
			while (next < paths.length) {
				const path = paths[next++]!;
				if ((await get(path)) === 200) pages++;
			}
		}),
	);
	const {elapsedMs, cpuMs} = stop();
	await pool?.close();
	return {pages, items: 0, elapsedMs, cpuMs, maxRssKiB: process.resourceUsage().maxRSS};
}
