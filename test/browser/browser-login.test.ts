// browserLogin against the demo site's script-rendered pages (a real Chromium): what the server
// saw (logins, cookies, Authorization), the session jar's cookie attributes, no browser left.
import assert from 'node:assert/strict';
import {existsSync, readdirSync, readFileSync} from 'node:fs';
import path from 'node:path';
import {describe, test} from 'node:test';
import {APP_COOKIE} from '../../demo/site/index.js';
import {browserLogin, defineCrawler, runCrawler} from '../../src/index.js';
import {openStore} from '../../src/store/open-store.js';
import {chromiumDescendants, chromiumOrSkip} from '../helpers/browser.js';
import {ACCOUNT, captureLog, demoSite, quiet, storage} from './helpers.js';

const appLogin = (password = ACCOUNT.password) =>
	browserLogin({
		url: '/app/login',
		steps: async ({page, account}) => {
			await page.fill('#email', account.username);
			await page.fill('#password', password);
			await page.click('button[type=submit]');
			await page.waitForURL('**/app/dashboard');
		},
		stepTimeoutMs: 10_000,
	});

describe('browserLogin', () => {
	test('a script-rendered login with an XHR CSRF token: the HttpOnly SameSite=Lax cookie goes to the jar, the crawl runs over HTTP, the next run starts no browser', {timeout: 120_000}, async (t) => {
		if (!chromiumOrSkip(t)) return;
		const site = await demoSite(t);
		const storageDir = storage(t);
		const crawler = defineCrawler({
			name: 'app',
			startUrls: [1, 2, 3].map((id) => `${site.url}/app/item/${id}`),
			accounts: [ACCOUNT],
			login: appLogin(),
			...quiet,
			routes: {default: async ({$, push, request}) => push({url: request.url, title: $('h1.item-title').text()})},
		});
		const first = await runCrawler(crawler, {storageDir, log: captureLog()});
		assert.equal(first.requests.done, 3);
		assert.equal(site.browserStats.appLogins, 1);
		assert.equal(site.browserStats.csrfRejected, 0);
		// Every page request over HTTP carried the cookie the browser got (and HttpOnly did not hide it).
		const itemRequests = site.stats.log.filter((entry) => entry.path.startsWith('/app/item/'));
		assert.equal(itemRequests.length, 3);
		assert.ok(site.browserStats.appCookieNames.slice(-3).every((names) => names.includes(APP_COOKIE)));
		assert.deepEqual(chromiumDescendants(), [], 'no Chromium process outlives the login');

		const store = openStore({kind: 'sqlite', dir: storageDir}, 'app');
		const [stored] = await store.loadSessions();
		await store.close();
		const cookie = (stored!.meta as {cookies: Array<{name: string; httpOnly: boolean; sameSite: string; expiresAt?: number}>}).cookies.find((each) => each.name === APP_COOKIE);
		assert.deepEqual({httpOnly: cookie?.httpOnly, sameSite: cookie?.sameSite}, {httpOnly: true, sameSite: 'lax'});
		assert.ok(cookie?.expiresAt && cookie.expiresAt > Date.now() + 3_000_000, 'Max-Age=3600 kept as an expiry');

		// The next run reuses the persisted session: no login page, no browser.
		const loginPagesBefore = site.stats.log.filter((entry) => entry.path === '/app/login').length;
		const second = await runCrawler(crawler, {storageDir, fresh: true, log: captureLog()});
		assert.equal(second.requests.done, 3);
		assert.equal(site.browserStats.appLogins, 1);
		assert.equal(site.stats.log.filter((entry) => entry.path === '/app/login').length, loginPagesBefore);
	});

	test('an SPA keeping its JWT in localStorage: tokens() makes it the Authorization of the JSON crawl', {timeout: 120_000}, async (t) => {
		if (!chromiumOrSkip(t)) return;
		const site = await demoSite(t);
		const crawler = defineCrawler({
			name: 'spa',
			startUrls: [`${site.url}/spa/api/books?page=1`],
			accounts: [ACCOUNT],
			login: browserLogin({
				url: '/spa/',
				steps: async ({page, account}) => {
					await page.fill('#user', account.username);
					await page.fill('#pass', account.password!);
					await page.click('button');
					await page.waitForSelector('#welcome');
				},
				tokens: ({localStorage}) => ({accessToken: localStorage.auth_token}),
			}),
			...quiet,
			routes: {
				default: async ({json, push, enqueue, request}) => {
					const body = json as {books: Array<{id: number}>; next: number | null};
					await push(body.books);
					if (body.next) await enqueue({urls: [new URL(`?page=${body.next}`, request.url).href]});
				},
			},
		});
		const summary = await runCrawler(crawler, {storageDir: storage(t), log: captureLog()});
		assert.equal(summary.requests.done, 3);
		assert.equal(summary.items, 9);
		assert.equal(site.browserStats.spaLogins, 1);
		const tokens = new Set(site.browserStats.spaAuthorizations);
		assert.equal(site.browserStats.spaAuthorizations.length, 3);
		assert.equal(tokens.size, 1, 'the one JWT the SPA stored');
		assert.match([...tokens][0]!, /^[\w-]+\.[\w-]+\.[\w-]+$/);
		assert.deepEqual(chromiumDescendants(), []);
	});

	test('a failing step fails the login with its message and a screenshot, never the password', {timeout: 120_000}, async (t) => {
		if (!chromiumOrSkip(t)) return;
		const site = await demoSite(t);
		const storageDir = storage(t);
		const wrong = 'wrong-pass-77x';
		const log = captureLog();
		const summary = await runCrawler(
			defineCrawler({
				name: 'app-bad',
				startUrls: [`${site.url}/app/item/1`],
				accounts: [{username: ACCOUNT.username, password: wrong}],
				login: browserLogin({...appLogin(wrong).options as object, stepTimeoutMs: 2_000} as Parameters<typeof browserLogin>[0]),
				...quiet,
				routes: {default: async () => {}},
			}),
			{storageDir, log},
		);
		assert.equal(summary.state, 'aborted');
		assert.equal(site.browserStats.appLogins, 0);
		const failure = log.lines.find((line) => line.includes('a login step failed'));
		assert.ok(failure, log.lines.join('\n'));
		assert.match(failure, /waitForURL|Timeout/);
		const shot = /screenshot, form fields emptied: ([^)]+)\)/.exec(failure)?.[1];
		assert.ok(shot && existsSync(shot), `screenshot at ${shot}`);
		assert.equal(path.dirname(shot), path.join(storageDir, 'screenshots'));
		assert.ok(readFileSync(shot).subarray(1, 4).toString() === 'PNG');
		assert.ok(!log.lines.join('\n').includes(wrong), 'the password is in no log line');
		assert.equal(readdirSync(path.join(storageDir, 'screenshots')).length, 1, 'one attempt (a rejected password is not typed again), one screenshot');
		assert.deepEqual(chromiumDescendants(), []);
	});
});
