// Issue 3, pool and re-login on real crawls of the demo bookshop (CSRF form login):
// 50 concurrent requests on 2 sessions log in exactly twice; a server-side session expiry
// costs exactly one re-login per session per expiry, in each of the four logout styles, and no
// request carries a stale cookie once the re-login has happened.
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import type {LogoutStyle} from '../../demo/site/index.js';
import {runCrawler} from '../../src/runner/run-crawler.js';
import {bookUrls, byUrl, captureLog, DEMO_ACCOUNT, demoSite, expectedBooks, formCrawler, storedItems, tempStorage} from './helpers.js';

const ALICE = {username: 'alice', password: 'alice-password'};
const users = {[DEMO_ACCOUNT.username]: DEMO_ACCOUNT.password, [ALICE.username]: ALICE.password};

describe('session pool on a real crawl', () => {
	test('50 concurrent requests on 2 sessions (2 accounts): exactly 2 logins, every page done', async (t) => {
		const site = await demoSite(t, {books: 50, users});
		const storageDir = tempStorage(t);
		const summary = await runCrawler(
			formCrawler(site, {
				startUrls: bookUrls(site, 50),
				accounts: [DEMO_ACCOUNT, ALICE],
				sessions: {maxConcurrency: 25},
				concurrency: 50,
				hosts: {maxConcurrency: 50},
			}),
			{storageDir},
		);
		assert.equal(summary.state, 'finished');
		assert.equal(site.stats.loginSuccess, 2);
		assert.equal(site.stats.loginFailure + site.stats.csrfRejected, 0);
		assert.equal(site.stats.book, 50, 'each page fetched once: no request went out before its session was logged in');
		assert.deepEqual(Object.keys(summary.sessions ?? {}).sort(), ['alice#1', 'demo#1']);
		for (const [id, session] of Object.entries(summary.sessions ?? {})) {
			assert.equal(session.logins, 1, id);
			assert.ok(session.requests > 0, `${id} took part`);
		}
		assert.deepEqual(byUrl((await storedItems(storageDir, 'form')) as Array<{url: string; title: string}>), expectedBooks(site, 50));
	});

	test('perAccount 2 on one account: 2 sessions, exactly 2 logins', async (t) => {
		const site = await demoSite(t, {books: 50});
		const storageDir = tempStorage(t);
		const summary = await runCrawler(
			formCrawler(site, {startUrls: bookUrls(site, 50), sessions: {perAccount: 2, maxConcurrency: 25}, concurrency: 50, hosts: {maxConcurrency: 50}}),
			{storageDir},
		);
		assert.equal(summary.state, 'finished');
		assert.equal(site.stats.loginSuccess, 2);
		assert.equal(site.stats.book, 50);
		assert.deepEqual(Object.keys(summary.sessions ?? {}).sort(), ['demo#1', 'demo#2']);
		assert.equal(summary.items, 50);
	});
});

describe('server-side expiry after N requests: one re-login per session per expiry', () => {
	const styles: LogoutStyle[] = ['401', 'redirect', 'soft', 'delete-cookie'];
	for (const logoutStyle of styles) {
		test(`logout style '${logoutStyle}'`, async (t) => {
			// 3 catalogue pages + 60 books = 63 authenticated pages over 2 sessions of 10 requests.
			const site = await demoSite(t, {books: 60, users, sessionMaxRequests: 10, logoutStyle});
			const storageDir = tempStorage(t);
			const log = captureLog();
			const summary = await runCrawler(
				formCrawler(site, {accounts: [DEMO_ACCOUNT, ALICE], sessions: {maxConcurrency: 3}, concurrency: 6, hosts: {maxConcurrency: 6}}),
				{storageDir, log},
			);
			assert.equal(summary.state, 'finished', log.lines.join('\n'));
			assert.equal(summary.requests.failed, 0, log.lines.join('\n'));
			// Each expiry is seen by the first request past the limit; it must cost one login, no more.
			assert.ok(site.stats.sessionsExpired >= 4, `expected several expiries, saw ${site.stats.sessionsExpired}`);
			assert.equal(site.stats.loginSuccess, 2 + site.stats.sessionsExpired, log.lines.join('\n'));
			assert.equal(site.stats.loginFailure, 0);
			assert.equal(site.stats.csrfRejected, 0, 'no login attempt wasted on a stale CSRF token');
			assert.equal(site.stats.staleCookieRequests, 0, 'no request sent with the old cookie after the re-login');
			const sessions = Object.values(summary.sessions ?? {});
			const logins = sessions.reduce((sum, session) => sum + session.logins, 0);
			const relogins = sessions.reduce((sum, session) => sum + session.relogins, 0);
			assert.equal(logins + relogins, site.stats.loginSuccess, 'the crawler counts the same logins as the server');
			assert.equal(logins, 2, 'one first login per session');
			assert.equal(relogins, site.stats.sessionsExpired, 'one re-login per expiry, told apart from the first logins');
			assert.deepEqual(byUrl((await storedItems(storageDir, 'form')) as Array<{url: string; title: string}>), expectedBooks(site, 60));
		});
	}
});
