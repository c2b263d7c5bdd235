// Shared by the session integration tests: real crawls (runCrawler in-process) of the demo site,
// per-test temp storage, crawler definitions like crawlers/demo.ts and crawlers/demo-api.ts.
import path from 'node:path';
import type {TestContext} from 'node:test';
import {expectedBook, startDemoSite, type DemoSite, type DemoSiteOptions} from '../../demo/site/index.js';
import {defineCrawler, formLogin, tokenLogin} from '../../src/index.js';
import type {CrawlerDefinition} from '../../src/job/types.js';
import {openStore} from '../../src/store/open-store.js';
import {REPO} from '../helpers/run-cli.js';
import {captureLog, tempStorage as sharedTempStorage, type CapturedLog} from '../helpers/temp.js';

// Session encryption key for in-process runs: never a key file in the real home.
process.env.CRAWLJAR_SECRET ??= 'sessions-integration-test-secret';

/** The demo site for one test; closed when the test ends. */
export async function demoSite(t: TestContext, options: DemoSiteOptions): Promise<DemoSite> {
	const site = await startDemoSite(options);
	t.after(() => site.close());
	return site;
}

/** A fresh storage folder, removed when the test ends. */
export function tempStorage(t: TestContext): string {
	return sharedTempStorage(t, 'crawljar-sessions-');
}

export {captureLog, type CapturedLog};

/** Fast, predictable requests: no generated browser headers. */
const quiet = {useHeaderGenerator: false, headers: {'user-agent': 'crawljar-sessions-test'}} as const;

export const DEMO_ACCOUNT = {username: 'demo', password: 'demo-password'};

/** Book page URLs 1..count of the demo site. */
export function bookUrls(site: DemoSite, count: number, from = 1): string[] {
	return Array.from({length: count}, (_, index) => site.url + expectedBook(from + index).path);
}

/** What crawling those book pages yields, sorted by url. */
export function expectedBooks(site: DemoSite, count: number, from = 1): Array<{url: string; title: string}> {
	return Array.from({length: count}, (_, index) => {
		const book = expectedBook(from + index);
		return {url: site.url + book.path, title: book.title};
	}).sort((a, b) => a.url.localeCompare(b.url));
}

/**
 * Form login on the demo bookshop (as crawlers/demo.ts): start URLs given (default: the
 * catalogue), book pages pushed as {url, title}, catalogue pages followed.
 */
export function formCrawler(site: DemoSite, options: Partial<CrawlerDefinition> = {}): CrawlerDefinition {
	return defineCrawler({
		name: 'form',
		startUrls: [`${site.url}/catalogue`],
		accounts: [DEMO_ACCOUNT],
		login: formLogin({url: '/login', fields: ({account}) => ({username: account.username, password: account.password ?? ''})}),
		loggedOut: ({$}) => $('form#login').length > 0,
		...quiet,
		routes: {
			default: async ({request, $, push, enqueue}) => {
				if ($('article.book').length > 0) {
					await push({url: request.url, title: $('h1').text().trim()});
					return;
				}
				await enqueue({selector: 'ul.books a.book'});
				await enqueue({selector: 'a.next'});
			},
		},
		...options,
	} as CrawlerDefinition);
}

/** Token login on the demo JSON API (as crawlers/demo-api.ts): one item per book. */
export function tokenCrawler(site: DemoSite, options: Partial<CrawlerDefinition> = {}): CrawlerDefinition {
	return defineCrawler({
		name: 'token',
		startUrls: [{url: `${site.url}/api/books?page=1`, label: 'list'}],
		accounts: [DEMO_ACCOUNT],
		login: tokenLogin({
			url: '/api/auth/login',
			body: ({account}) => ({username: account.username, password: account.password}),
			accessToken: 'data.access_token',
			refreshToken: 'data.refresh_token',
			expiresIn: 'data.expires_in',
			refresh: {url: '/api/auth/refresh', body: ({refreshToken}) => ({refresh_token: refreshToken})},
		}),
		...quiet,
		routes: {
			list: async ({json, enqueue, push}) => {
				const page = json as {items: Array<{id: number; title: string}>; next: string | null};
				await push(page.items.map(({id, title}) => ({id, title})));
				if (page.next) await enqueue({urls: [page.next], label: 'list'});
			},
		},
		...options,
	} as CrawlerDefinition);
}

/** Every item of the latest run of `crawler` in `storageDir`. */
export async function storedItems(storageDir: string, crawler: string): Promise<unknown[]> {
	const store = openStore(storageDir, crawler);
	try {
		const run = await store.latestRun();
		if (!run) return [];
		const items: unknown[] = [];
		for await (const item of store.items(run.id)) items.push(item);
		return items;
	} finally {
		await store.close();
	}
}

export function byUrl<T extends {url: string}>(items: readonly T[]): T[] {
	return [...items].sort((a, b) => a.url.localeCompare(b.url));
}

export function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Import specifier of the sources, for crawler files written by a test (CLI runs). */
export const INDEX_MODULE = JSON.stringify(path.join(REPO, 'src/index.ts'));

export interface CrawlerSourceOptions {
	readonly name: string;
	/** Source text of the accounts array; default: one account from env DEMO_USER / DEMO_PASSWORD. */
	readonly accounts?: string;
	/** Extra definition fields, as source text (`concurrency: 2, hosts: {…},`). */
	readonly extra?: string;
}

const defaultAccounts = `[{username: process.env.DEMO_USER ?? 'demo', password: process.env.DEMO_PASSWORD ?? ''}]`;

/**
 * A crawler file for CLI runs, like crawlers/demo.ts: form login on the demo bookshop at
 * SITE_URL, catalogue → books, items {url, title}.
 */
export function formCrawlerSource({name, accounts = defaultAccounts, extra = ''}: CrawlerSourceOptions): string {
	return `import {defineCrawler, formLogin} from ${INDEX_MODULE};
const site = process.env.SITE_URL;
export default defineCrawler({
	name: ${JSON.stringify(name)},
	startUrls: [site + '/catalogue'],
	accounts: ${accounts},
	login: formLogin({url: '/login', fields: ({account}) => ({username: account.username, password: account.password ?? ''})}),
	loggedOut: ({$}) => $('form#login').length > 0,
	useHeaderGenerator: false,
	${extra}
	routes: {
		default: async ({enqueue}) => {
			await enqueue({selector: 'ul.books a.book', label: 'book'});
			await enqueue({selector: 'a.next'});
		},
		book: async ({request, $, push}) => {
			await push({url: request.url, title: $('h1').text().trim()});
		},
	},
});
`;
}

/** A crawler file for CLI runs, like crawlers/demo-api.ts: token login with refresh, items {id, title}. */
export function tokenCrawlerSource({name, accounts = defaultAccounts, extra = ''}: CrawlerSourceOptions): string {
	return `import {defineCrawler, tokenLogin} from ${INDEX_MODULE};
const site = process.env.SITE_URL;
export default defineCrawler({
	name: ${JSON.stringify(name)},
	startUrls: [{url: site + '/api/books?page=1', label: 'list'}],
	accounts: ${accounts},
	login: tokenLogin({
		url: '/api/auth/login',
		body: ({account}) => ({username: account.username, password: account.password}),
		accessToken: 'data.access_token',
		refreshToken: 'data.refresh_token',
		expiresIn: 'data.expires_in',
		refresh: {url: '/api/auth/refresh', body: ({refreshToken}) => ({refresh_token: refreshToken})},
	}),
	useHeaderGenerator: false,
	${extra}
	routes: {
		list: async ({json, enqueue, push}) => {
			const page = json;
			await push(page.items.map(({id, title}) => ({id, title})));
			if (page.next) await enqueue({urls: [page.next], label: 'list'});
		},
	},
});
`;
}

/** Items {id, title} of books 1..count, as the token crawler pushes them. */
export function expectedApiItems(count: number): Array<{id: number; title: string}> {
	return Array.from({length: count}, (_, index) => ({id: index + 1, title: expectedBook(index + 1).title}));
}

/** Parses `crawljar export --format jsonl` output. */
export function parseJsonl(text: string): unknown[] {
	return text
		.split('\n')
		.filter((line) => line.trim() !== '')
		.map((line) => JSON.parse(line) as unknown);
}
