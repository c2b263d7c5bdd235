// A temp project for scheduler tests: crawler files in <dir>/crawlers (written by the test, the
// site URL passed through the env), storage in <dir>/storage, a secret so no key file is written.
import path from 'node:path';
import type {TestContext} from 'node:test';
import {expectedBook} from '../../demo/site/index.js';
import {openStore} from '../../src/store/open-store.js';
import type {RunRecord} from '../../src/store/store.js';
import {REPO, tempProject} from '../helpers/run-cli.js';

export interface Workspace {
	readonly dir: string;
	readonly crawlersDir: string;
	readonly storageDir: string;
	/** For child processes: CRAWLJAR_SECRET, CRAWLJAR_STORAGE and SITE_URL. */
	readonly env: Record<string, string>;
	/** Writes `crawlers/<file>` and returns its path. */
	writeCrawler(file: string, source: string): string;
}

export function createWorkspace(t: TestContext, siteUrl = 'http://127.0.0.1:9'): Workspace {
	const project = tempProject(t);
	// ESM like a real project: without it tsx loads the crawler files (and src/) as CommonJS.
	project.write('package.json', '{"type": "module"}\n');
	return {
		dir: project.dir,
		crawlersDir: path.join(project.dir, 'crawlers'),
		storageDir: project.storage,
		env: {...project.env, CRAWLJAR_SECRET: 'scheduler-cli-test-secret', SITE_URL: siteUrl},
		writeCrawler: (file, source) => project.write(path.join('crawlers', file), source),
	};
}

const indexModule = JSON.stringify(path.join(REPO, 'src/index.ts'));

export interface BookCrawlerOptions {
	readonly name: string;
	/** Source text of the `schedule` value, e.g. `'* * * * * *'` or `{cron: '…', catchUp: 'once'}`. */
	readonly schedule?: string;
	/** Extra definition fields, as source text (`concurrency: 2, hosts: {…},`). */
	readonly extra?: string;
}

/** A crawler of the demo bookshop like crawlers/demo.ts: CSRF form login, catalogue → books. */
export function bookCrawler({name, schedule, extra = ''}: BookCrawlerOptions): string {
	return `import {defineCrawler, formLogin} from ${indexModule};
const site = process.env.SITE_URL;
export default defineCrawler({
	name: ${JSON.stringify(name)},
	startUrls: [site + '/catalogue'],
	${schedule === undefined ? '' : `schedule: ${schedule},`}
	${extra}
	accounts: [{username: 'demo', password: 'demo-password'}],
	login: formLogin({url: '/login', fields: ({account}) => ({username: account.username, password: account.password ?? ''})}),
	loggedOut: ({$}) => $('form#login').length > 0,
	routes: {
		default: async ({enqueue}) => {
			await enqueue({selector: 'a.book', label: 'book'});
			await enqueue({selector: 'a.next'});
		},
		book: async ({request, $, push}) => {
			await push({url: request.url, title: $('h1').text().trim(), price: Number($('p.price').text().replace(/[^0-9.]/g, ''))});
		},
	},
});
`;
}

/** What a complete crawl of a site with `books` books exports, sorted by url. */
export function expectedItems(siteUrl: string, books: number): Array<{url: string; title: string; price: number}> {
	return Array.from({length: books}, (_, index) => {
		const book = expectedBook(index + 1);
		return {url: siteUrl + book.path, title: book.title, price: book.price};
	}).sort((a, b) => a.url.localeCompare(b.url));
}

/** Reads one meta value of a crawler's store, as the scheduler persisted it. */
export async function readMeta(storageDir: string, crawler: string, key: string): Promise<string | undefined> {
	const store = openStore(storageDir, crawler);
	try {
		return await store.getMeta(key);
	} finally {
		await store.close();
	}
}

export async function writeMeta(storageDir: string, crawler: string, key: string, value: string): Promise<void> {
	const store = openStore(storageDir, crawler);
	try {
		await store.setMeta(key, value);
	} finally {
		await store.close();
	}
}

/** Every run of a crawler, oldest first. */
export async function readRuns(storageDir: string, crawler: string): Promise<RunRecord[]> {
	const store = openStore(storageDir, crawler);
	try {
		return (await store.listRuns(1000)).sort((a, b) => a.id - b.id);
	} finally {
		await store.close();
	}
}
