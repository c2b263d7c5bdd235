// Route handlers in worker threads (issue 13, the `threads` option): the same results, logins
// and retries as on the main thread; a thread stuck in an endless loop is restarted and its
// page retried; what a thread cannot give (the live session) fails with a clear error.
import assert from 'node:assert/strict';
import {writeFileSync} from 'node:fs';
import path from 'node:path';
import {test, type TestContext} from 'node:test';
import {pathToFileURL} from 'node:url';
import {startTestSite} from '../sites/demo.js';
import {startServer} from '../sites/start-server.js';
import {crawl, fastRetry, html, tempStorage} from './crawl.js';

const CRAWLJAR = pathToFileURL(path.resolve('src/index.ts')).href;

/** A crawler file in its own folder (what `crawljar run` is given), loaded again by each thread. */
async function crawlerFile(t: TestContext, source: string): Promise<{file: string; definition: never}> {
	const file = path.join(tempStorage(t), 'crawler.ts');
	writeFileSync(file, `import {defineCrawler, formLogin} from '${CRAWLJAR}';\nimport {threadId} from 'node:worker_threads';\n${source}`);
	const {loadCrawlerFile} = await import('../../src/job/load.js');
	const loaded = await loadCrawlerFile(file);
	return {file, definition: loaded.definition as never};
}

test('threads: 1 — every book once, parsed in the thread; soft logouts seen there re-log the session in on the main thread', {timeout: 120_000}, async (t) => {
	const site = await startTestSite(t, {books: 120, sessionMaxRequests: 40, logoutStyle: 'soft'});
	const {file, definition} = await crawlerFile(
		t,
		`export default defineCrawler({
	name: 'threaded-books',
	startUrls: ['${site.url}/catalogue'],
	accounts: [{username: 'demo', password: 'demo-password'}],
	login: formLogin({url: '/login', fields: ({account}) => ({username: account.username, password: account.password ?? ''})}),
	loggedOut: ({$}) => $('form#login').length > 0,
	threads: 1,
	routes: {
		default: async ({enqueue, log}) => {
			if (threadId === 0) throw new Error('a handler ran on the main thread');
			log.info('catalogue page in thread ' + threadId);
			await enqueue({selector: 'a.book', label: 'book'});
			await enqueue({selector: 'a.next'});
		},
		book: async ({request, $, push, session}) => {
			await push({url: request.url, title: $('h1').text().trim(), thread: threadId, user: session?.username});
		},
	},
});`,
	);
	const {summary, items, failed, logs} = await crawl(t, definition, {definitionFile: file});
	assert.equal(summary.state, 'finished', logs.join('\n'));
	assert.deepEqual(failed, []);
	const books = items as {url: string; title: string; thread: number; user: string}[];
	assert.equal(books.length, 120);
	assert.equal(new Set(books.map((book) => book.url)).size, 120, 'each book once');
	assert.ok(books.every((book) => book.thread > 0 && book.title !== '' && book.user === 'demo'));
	assert.ok(site.stats.loggedOut > 0, 'the site logged the session out');
	assert.equal(site.stats.loginSuccess, 1 + site.stats.sessionsExpired, 'logins = sessions + expiries');
	assert.ok(logs.some((line) => /^catalogue page in thread [1-9]/.test(line)), 'ctx.log reaches the run log');
});

test('a handler stuck in an endless loop: its thread is restarted, the page retried, the rest unharmed', {timeout: 120_000}, async (t) => {
	const site = await startServer(t, (request, response) => {
		response.setHeader('content-type', 'text/html');
		if (request.url === '/') response.end(html(Array.from({length: 10}, (_, index) => `<a href="/p/${index}">${index}</a>`).join('') + '<a href="/stuck">s</a>'));
		else response.end(html(`<h1>${request.url}</h1>`));
	});
	const {file, definition} = await crawlerFile(
		t,
		`export default defineCrawler({
	name: 'stuck-thread',
	startUrls: ['${site.url}/'],
	threads: 1,
	timeouts: {handlerMs: 200},
	retry: {maxRetries: 2, backoff: {baseMs: 10, capMs: 50}},
	routes: {
		default: async ({request, enqueue, push, $}) => {
			if (request.url.endsWith('/')) return void (await enqueue({selector: 'a'}));
			// The first attempt at /stuck never yields: no timer in this thread can fire.
			if (request.url.endsWith('/stuck') && request.retryCount === 0) for (;;);
			await push({url: request.url, h1: $('h1').text(), retryCount: request.retryCount});
		},
	},
});`,
	);
	const startedAt = Date.now();
	const {summary, items, failed, logs} = await crawl(t, definition, {definitionFile: file});
	assert.equal(summary.state, 'finished', logs.join('\n'));
	assert.deepEqual(failed, []);
	const pages = items as {url: string; retryCount: number}[];
	assert.equal(pages.length, 11);
	assert.equal(new Set(pages.map((page) => page.url)).size, 11);
	assert.equal(pages.find((page) => page.url.endsWith('/stuck'))?.retryCount, 1, 'the stuck page, retried once');
	assert.ok(logs.some((line) => line.includes('did not answer in 5600 ms')), logs.join('\n'));
	assert.ok(Date.now() - startedAt < 60_000);
});

test("in a thread, ctx.session has id, username and account; what needs the live jar fails that page, not retried, naming the option", {timeout: 60_000}, async (t) => {
	const site = await startTestSite(t, {books: 3, perPage: 3});
	const {file, definition} = await crawlerFile(
		t,
		`export default defineCrawler({
	name: 'thread-session',
	startUrls: ['${site.url}/catalogue'],
	accounts: [{username: 'demo', password: 'demo-password', team: 'blue'}],
	login: formLogin({url: '/login', fields: ({account}) => ({username: account.username, password: account.password ?? ''})}),
	threads: 1,
	routes: {
		default: async ({enqueue}) => void (await enqueue({selector: 'a.book', label: 'book'})),
		book: async ({request, push, session}) => {
			if (request.url.endsWith('/1')) session.cookieHeader(request.url);
			await push({id: session.id, username: session.username, team: session.account.team});
		},
	},
});`,
	);
	const {summary, items, failed} = await crawl(t, definition, {definitionFile: file});
	assert.equal(summary.state, 'finished');
	assert.deepEqual(items, [
		{id: 'demo#1', username: 'demo', team: 'blue'},
		{id: 'demo#1', username: 'demo', team: 'blue'},
	]);
	assert.equal(failed.length, 1);
	assert.equal(failed[0]!.errorCode, 'ERR_THREAD_SESSION');
	assert.equal(failed[0]!.retryCount, 0);
	assert.match(failed[0]!.error ?? '', /ctx\.session\.cookieHeader is not available .*threads: 0/);
});

test('a crawler file that does not load in a thread: a warning, and the handlers run on the main thread', {timeout: 60_000}, async (t) => {
	const site = await startServer(t, (request, response) => {
		response.setHeader('content-type', 'text/html');
		response.end(html(request.url === '/' ? '<a href="/a">a</a><a href="/b">b</a>' : `<h1>${request.url}</h1>`));
	});
	const {file, definition} = await crawlerFile(
		t,
		`if (threadId !== 0) throw new Error('not in a thread, please');
export default defineCrawler({
	name: 'main-only',
	startUrls: ['${site.url}/'],
	threads: 2,
	routes: {default: async ({request, enqueue, push}) => {
		await enqueue({selector: 'a'});
		await push({url: request.url, thread: threadId});
	}},
});`,
	);
	const {summary, items, logs} = await crawl(t, definition, {definitionFile: file, retry: fastRetry} as never);
	assert.equal(summary.state, 'finished');
	assert.deepEqual((items as {thread: number}[]).map((item) => item.thread), [0, 0, 0]);
	assert.ok(logs.some((line) => line.includes('handler thread: ') && line.includes('not in a thread, please')), logs.join('\n'));
	assert.ok(logs.some((line) => line.includes('route handlers run on the main thread from now on')));
});

test('threads without a definitionFile: a warning, the run as without threads; an invalid threads value names the field', async (t) => {
	const site = await startServer(t, (_request, response) => {
		response.setHeader('content-type', 'text/html');
		response.end(html('<h1>x</h1>'));
	});
	const {summary, items, logs} = await crawl(t, {name: 'no-file', startUrls: [`${site.url}/`], threads: 1, routes: {default: async ({push}) => push({ok: true})}});
	assert.equal(summary.state, 'finished');
	assert.deepEqual(items, [{ok: true}]);
	assert.ok(logs.some((line) => line.includes('threads: 1 ignored') && line.includes('definitionFile')));
	await assert.rejects(
		crawl(t, {name: 'bad-threads', startUrls: [`${site.url}/`], threads: -1, routes: {default: async () => {}}}),
		/threads/,
	);
});
