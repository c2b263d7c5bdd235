// Issue 4: against a server that admits 20 req/s per client and answers 429 (no Retry-After)
// above it, the host's adaptive rate converges to what the server admits: every page is
// crawled, few requests are refused once the rate is learned, and the rate achieved stays
// close to the limit. The issue asks >= 70% of the limit; the crawl reaches ~92% (one 429 about
// every 20 s after the first second), so 80% is asserted. The one slow test of the area (~55 s:
// 1,000 pages at <= 20 req/s).
import assert from 'node:assert/strict';
import test from 'node:test';
import {runCrawler} from '../../src/runner/run-crawler.js';
import {captureLog, pageUrls, startSiteWorker, tempStorage, testDefaults} from './helpers.js';
import type {RateLimitSiteOptions, RateLimitSiteState} from './sites/rate-limit-site.js';

const PAGES = 1_000;
const LIMIT = 20;

test('a server admitting 20 req/s: 1,000 pages done, < 5% 429s after the first 10 s, >= 80% of 20 req/s achieved', {timeout: 120_000}, async (t) => {
	const options: RateLimitSiteOptions = {perSecond: LIMIT, pageDelayMs: 20};
	const site = await startSiteWorker<RateLimitSiteState>(t, new URL('./sites/rate-limit-site.ts', import.meta.url), options);
	const summary = await runCrawler(
		{
			name: 'adaptive-rate',
			startUrls: pageUrls(site.url, PAGES),
			routes: {default: async ({push, request}) => push({url: request.url})},
			// A rate-limit wait is not a failed attempt: no retry budget is needed to get through.
			retry: {maxRetries: 0},
			...testDefaults,
		},
		{storageDir: tempStorage(t), log: captureLog()},
	);
	const {state} = await site.snapshot();

	assert.equal(summary.state, 'finished');
	assert.equal(summary.requests.done, PAGES);
	assert.equal(summary.requests.failed, 0);
	assert.equal(new Set(state.served).size, PAGES, 'every page was served');

	const first = state.answers[0]![0];
	const lastOk = Math.max(...state.answers.filter(([, status]) => status === 200).map(([at]) => at));
	const later = state.answers.filter(([at]) => at >= first + 10_000);
	const refusedLater = later.filter(([, status]) => status === 429).length;
	const refused = state.answers.filter(([, status]) => status === 429).length;
	const rate = (PAGES * 1000) / (lastOk - first);
	t.diagnostic(`${state.answers.length} requests, ${refused} refused (${refusedLater} of ${later.length} after 10 s); ${rate.toFixed(1)} pages/s over ${((lastOk - first) / 1000).toFixed(1)} s`);
	assert.ok(later.length > 0, 'the crawl lasted more than 10 s (it cannot beat 20 req/s)');
	assert.ok(refusedLater / later.length < 0.05, `429s after the first 10 s: ${refusedLater} of ${later.length}`);
	assert.ok(rate >= 0.8 * LIMIT, `achieved ${rate.toFixed(1)} pages/s, want >= ${0.8 * LIMIT}`);
	// What the user sees: the 429s counted per host.
	assert.equal(summary.hosts?.[site.host]?.status429, refused);
});
