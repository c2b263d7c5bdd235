// Browser routes: a page rendered by script, fetched in Chromium with the session's cookies;
// `page` and `$` of the rendered DOM in the handler; logged-out detection as for HTTP pages;
// a 429 cools the host and per-host limits hold as for HTTP pages; at most browser.maxPages
// pages at once; browsers recycled after pagesPerBrowser pages.
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {describe, test} from 'node:test';
import {fileURLToPath} from 'node:url';
import {APP_COOKIE, SCRIPT_ITEMS} from '../../demo/site/index.js';
import {BrowserPages} from '../../src/browser/browser-pages.js';
import {browserLogin, defineCrawler, runCrawler} from '../../src/index.js';
import {Session} from '../../src/sessions/session.js';
import {chromiumDescendants, chromiumOrSkip} from '../helpers/browser.js';
import {startServer} from '../sites/start-server.js';
import {ACCOUNT, captureLog, demoSite, quiet, storage} from './helpers.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

describe('browser routes', () => {
	test('a script-rendered catalogue: rendered $, page, cookies from the browser login, items enqueued over HTTP', {timeout: 150_000}, async (t) => {
		if (!chromiumOrSkip(t)) return;
		const site = await demoSite(t);
		const summary = await runCrawler(
			defineCrawler({
				name: 'catalogue',
				startUrls: [{url: `${site.url}/app/catalogue`, label: 'list'}],
				accounts: [ACCOUNT],
				login: browserLogin({
					url: '/app/login',
					steps: async ({page, account}) => {
						await page.fill('#email', account.username);
						await page.fill('#password', account.password!);
						await page.click('button[type=submit]');
						await page.waitForURL('**/app/dashboard');
					},
				}),
				...quiet,
				routes: {
					list: {
						browser: true,
						waitFor: 'li.item',
						handler: async ({$, page, enqueue, push}) => {
							assert.equal(await page.title(), 'Catalogue');
							await push({count: $('li.item').length});
							await enqueue({selector: 'li.item a', label: 'item'});
						},
					},
					item: async ({$, push, request}) => push({url: request.url, title: $('h1.item-title').text()}),
				},
			}),
			{storageDir: storage(t), log: captureLog()},
		);
		assert.equal(summary.requests.done, 1 + SCRIPT_ITEMS);
		assert.equal(summary.items, 1 + SCRIPT_ITEMS);
		assert.equal(site.browserStats.appLogins, 1);
		// The catalogue page and its XHR (from the browser) and every item page (over HTTP) carried the session cookie.
		const appRequests = site.browserStats.appCookieNames;
		assert.ok(appRequests.length >= 2 + SCRIPT_ITEMS);
		assert.ok(appRequests.every((names) => names.includes(APP_COOKIE)), JSON.stringify(appRequests));
		assert.deepEqual(chromiumDescendants(), [], 'the run closed its browser');
	});

	test('a redirect to the login page in the browser is a logout: the session logs in again', {timeout: 150_000}, async (t) => {
		if (!chromiumOrSkip(t)) return;
		const site = await demoSite(t);
		let isFirst = true;
		const log = captureLog();
		const summary = await runCrawler(
			defineCrawler({
				name: 'catalogue-relogin',
				startUrls: [{url: `${site.url}/app/catalogue`, label: 'list'}],
				accounts: [ACCOUNT],
				login: browserLogin({
					url: '/app/login',
					steps: async ({page, account, context}) => {
						await page.fill('#email', account.username);
						await page.fill('#password', account.password!);
						await page.click('button[type=submit]');
						await page.waitForURL('**/app/dashboard');
						// The first login's cookie is made useless: the catalogue then redirects to /app/login.
						if (isFirst) {
							isFirst = false;
							const [cookie] = (await context.cookies()).filter((each) => each.name === APP_COOKIE);
							await context.addCookies([{...cookie!, value: 'revoked'}]);
						}
					},
				}),
				...quiet,
				routes: {list: {browser: true, waitFor: 'li.item', handler: async ({$, push}) => push({count: $('li.item').length})}},
			}),
			{storageDir: storage(t), log},
		);
		assert.equal(summary.requests.done, 1);
		assert.equal(site.browserStats.appLogins, 2, log.lines.join('\n'));
		assert.ok(log.lines.some((line) => line.includes('logged in again')));
		assert.deepEqual(chromiumDescendants(), []);
	});

	test('a 429 in a browser route: the host cools down, its concurrency holds, each page gives its item once', {timeout: 150_000}, async (t) => {
		if (!chromiumOrSkip(t)) return;
		const log: Array<{at: number; path: string; status: number}> = [];
		const asked = new Set<string>();
		let open = 0;
		let peak = 0;
		const server = await startServer(t, (request, response) => {
			const path = new URL(request.url ?? '/', 'http://x').pathname;
			if (path === '/favicon.ico') {
				response.statusCode = 404;
				return response.end();
			}
			open++;
			peak = Math.max(peak, open);
			// Every page is refused once (429, Retry-After: 1), then served.
			const status = asked.has(path) ? 200 : 429;
			asked.add(path);
			log.push({at: Date.now(), path, status});
			setTimeout(() => {
				open--;
				response.statusCode = status;
				response.setHeader('content-type', 'text/html');
				if (status === 429) response.setHeader('retry-after', '1');
				response.end(status === 429 ? '<!doctype html><title>slow down</title>' : `<!doctype html><title>ok</title><h1>${path}</h1>`);
			}, 20);
		});
		const paths = ['/b/1', '/b/2', '/b/3', '/b/4'];
		const summary = await runCrawler(
			defineCrawler({
				name: 'browser-429',
				startUrls: paths.map((path) => ({url: server.url + path, label: 'page'})),
				hosts: {maxConcurrency: 1},
				...quiet,
				routes: {page: {browser: true, handler: async ({$, push, request}) => push({url: request.url, title: $('h1').text()})}},
			}),
			{storageDir: storage(t), log: captureLog()},
		);
		assert.equal(summary.requests.done, paths.length);
		assert.equal(summary.requests.failed, 0);
		assert.equal(summary.items, paths.length, 'one item per page, none from a 429');
		assert.equal(peak, 1, 'hosts.maxConcurrency 1 holds for browser pages');
		assert.equal(log.filter((entry) => entry.status === 429).length, paths.length);
		// Nothing reaches the host inside a cooldown it announced (one page at a time: nothing was in flight).
		for (const refused of log.filter((entry) => entry.status === 429)) {
			const inside = log.filter((entry) => entry.at > refused.at && entry.at < refused.at + 990);
			assert.deepEqual(inside, [], `arrivals inside the cooldown of the 429 at ${refused.path}`);
		}
		assert.deepEqual(chromiumDescendants(), []);
	});

	test('maxPages caps open pages; a browser is replaced after pagesPerBrowser pages', {timeout: 120_000}, async (t) => {
		if (!chromiumOrSkip(t)) return;
		let open = 0;
		let peak = 0;
		const server = await startServer(t, (request, response) => {
			open++;
			peak = Math.max(peak, open);
			// Slow enough that pages overlap if the cap let them.
			setTimeout(() => {
				open--;
				response.setHeader('content-type', 'text/html');
				response.setHeader('set-cookie', `seen=${request.url?.length ?? 0}; Path=/`);
				response.end('<!doctype html><title>p</title><p class="x">rendered</p>');
			}, 150);
		});
		const pages = new BrowserPages({maxPages: 2, pagesPerBrowser: 3});
		const session = new Session('s#1', {username: 's'});
		try {
			await Promise.all(
				Array.from({length: 7}, async (_, index) => {
					const fetched = await pages.open(`${server.url}/p${index}`, session, {waitFor: 'p.x'});
					assert.equal(fetched.result.status, 200);
					assert.match(fetched.result.body.toString(), /rendered/);
					await fetched.close();
				}),
			);
		} finally {
			await pages.close();
		}
		assert.ok(peak <= 2, `at most 2 pages at once (saw ${peak})`);
		assert.equal(pages.launches, 3, '7 pages, 3 per browser: 3 browsers');
		assert.ok(session.hasCookie('seen'), 'a cookie the page set is in the jar');
		assert.deepEqual(chromiumDescendants(), []);
	});

	test('an HTTP-only crawl never loads playwright-core', {timeout: 60_000}, () => {
		const script = `
			import {createRequire} from 'node:module';
			import {mkdtempSync} from 'node:fs';
			import os from 'node:os';
			import path from 'node:path';
			import {startDemoSite} from './demo/site/index.ts';
			import {defineCrawler, formLogin, runCrawler} from './src/index.ts';
			const site = await startDemoSite();
			const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((file) => file.includes('playwright-core'));
			await runCrawler(defineCrawler({
				name: 'http-only', startUrls: [site.url + '/catalogue'], accounts: [{username: 'demo', password: 'demo-password'}],
				login: formLogin({url: '/login', fields: ({account}) => ({username: account.username, password: account.password})}),
				useHeaderGenerator: false, maxRequests: 3,
				routes: {default: async ({enqueue}) => { await enqueue({selector: 'a.book'}); }},
			}), {storageDir: mkdtempSync(path.join(os.tmpdir(), 'crawljar-lazy-'))});
			const afterCrawl = loaded();
			await import('playwright-core');
			console.log(JSON.stringify({afterCrawl, afterImport: loaded()}));
			await site.close();
		`;
		const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {cwd: repoRoot, encoding: 'utf8', env: {...process.env, CRAWLJAR_SECRET: 'lazy-test'}});
		assert.equal(child.status, 0, child.stderr);
		assert.deepEqual(JSON.parse(child.stdout.trim().split('\n').at(-1)!), {afterCrawl: false, afterImport: true});
	});
});
