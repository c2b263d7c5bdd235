// Issue 4: a 429 with Retry-After pauses the host for every worker and every session.
// Concurrency 20 on 3 logged-in sessions. The server (in a worker thread, so its clock is not
// held up by the crawler) holds every request from the 60th on and answers them all with the
// 429 at once, so the crawler has nothing else in flight; it logs when each request arrived.
// None may arrive during the cooldown (50 ms of skew allowed at either end), and every page ends
// done. Pages take 50-150 ms, so 20 in flight is ~200 req/s: the crawler's event loop is not
// saturated (a saturated loop would read the 429 late, whatever the policy).
import assert from 'node:assert/strict';
import test from 'node:test';
import {runCrawler} from '../../src/runner/run-crawler.js';
import {captureLog, pageUrls, startSiteWorker, tempStorage, testDefaults} from './helpers.js';
import type {RetryAfterSiteOptions, RetryAfterSiteState} from './sites/retry-after-site.js';

const PAGES = 150;
const SKEW_MS = 50;
const SITE = new URL('./sites/retry-after-site.ts', import.meta.url);

for (const form of ['seconds', 'date'] as const) {
	const title = form === 'seconds' ? 'delta-seconds "2"' : 'an HTTP-date 2 s ahead';
	test(`429 with Retry-After (${title}): no request reaches the host during the cooldown, all pages done`, async (t) => {
		const options: RetryAfterSiteOptions = {retryAfter: form, triggerAt: 60, pageDelayMs: [50, 150]};
		const site = await startSiteWorker<RetryAfterSiteState>(t, SITE, options);
		const summary = await runCrawler(
			{
				name: `retry-after-${form}`,
				startUrls: pageUrls(site.url, PAGES),
				routes: {default: async ({push, request}) => push({url: request.url})},
				accounts: [{username: 'alice'}, {username: 'bob'}, {username: 'carol'}],
				login: async ({http, account}) => (await http.post('/login', {form: {user: account.username}})).status === 200,
				sessions: {maxConcurrency: 7},
				concurrency: 20,
				hosts: {maxConcurrency: 20},
				// A rate-limit wait is not a failed attempt: no retry budget is needed to get through.
				retry: {maxRetries: 0},
				...testDefaults,
			},
			{storageDir: tempStorage(t), log: captureLog()},
		);

		const {arrivals, state} = await site.snapshot();
		const window = state.window;
		assert.ok(window, 'the server sent its 429');
		const duringCooldown = arrivals.filter(({at}) => at > window.start + SKEW_MS && at < window.end - SKEW_MS);
		assert.deepEqual(
			duringCooldown.map(({at, path}) => `${path} at +${at - window.start} ms`),
			[],
			'requests arrived during the cooldown',
		);
		// Pages were still queued when the 429 came: the crawl went on after the cooldown.
		assert.ok(arrivals.filter(({at}) => at >= window.end).length >= PAGES - 80, 'requests after the cooldown');
		assert.equal(summary.state, 'finished');
		assert.equal(summary.requests.done, PAGES);
		assert.equal(summary.requests.failed, 0);
		assert.equal(summary.items, PAGES);
		assert.equal(new Set(state.served).size, PAGES, 'every page was served with 200');
		// The cooldown held for the workers of all three sessions, each logged in before the 429.
		const logins = arrivals.filter(({path}) => path === '/login');
		assert.equal(logins.length, 3);
		assert.ok(logins.every(({at}) => at < window.start));
		assert.deepEqual(state.sessionsBeforeTrigger.sort(), ['alice', 'bob', 'carol']);
		const hostStats = summary.hosts?.[site.host];
		assert.ok(hostStats, 'per-host stats');
		assert.ok(hostStats.status429 >= 1);
		assert.ok(hostStats.cooldownMs >= 1_900, `cooldownMs ${hostStats.cooldownMs}`);
	});
}
