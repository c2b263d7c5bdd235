// Issue 4: per-host limits under a larger global concurrency, seen from the server.
import assert from 'node:assert/strict';
import test from 'node:test';
import {runCrawler} from '../../src/runner/run-crawler.js';
import {captureLog, page, pageUrls, startLoggingServer, tempStorage, testDefaults} from './helpers.js';

const slowPage = (delayMs: number) => (_request: unknown, response: Parameters<typeof page>[0]) => setTimeout(() => page(response), delayMs);

test('hosts.maxConcurrency 2: the server never sees more than 2 requests at once', async (t) => {
	const server = await startLoggingServer(t, slowPage(40));
	const summary = await runCrawler(
		{name: 'host-concurrency', startUrls: pageUrls(server.url, 30), routes: {default: () => {}}, concurrency: 10, hosts: {maxConcurrency: 2}, ...testDefaults},
		{storageDir: tempStorage(t), log: captureLog()},
	);
	assert.equal(summary.requests.done, 30);
	assert.equal(server.concurrency.max, 2);
});

test('hosts.maxRequestsPerSecond 10: requests arrive ~100 ms apart on average', async (t) => {
	const server = await startLoggingServer(t, slowPage(5));
	const summary = await runCrawler(
		{name: 'host-rate', startUrls: pageUrls(server.url, 21), routes: {default: () => {}}, concurrency: 10, hosts: {maxConcurrency: 10, maxRequestsPerSecond: 10}, ...testDefaults},
		{storageDir: tempStorage(t), log: captureLog()},
	);
	assert.equal(summary.requests.done, 21);
	const times = server.arrivals.map(({at}) => at);
	const averageMs = (times.at(-1)! - times[0]!) / (times.length - 1);
	assert.ok(averageMs >= 90, `average spacing ${averageMs.toFixed(1)} ms`);
	assert.ok(averageMs < 200, `average spacing ${averageMs.toFixed(1)} ms: the limit is a ceiling, not a crawl`);
});

test('an override by host pattern applies to that host only', async (t) => {
	const limited = await startLoggingServer(t, slowPage(40));
	const other = await startLoggingServer(t, slowPage(40));
	const summary = await runCrawler(
		{
			name: 'host-override',
			startUrls: [...pageUrls(limited.url, 20), ...pageUrls(other.url, 20)],
			routes: {default: () => {}},
			concurrency: 10,
			hosts: {maxConcurrency: 4, overrides: [{match: `*:${new URL(limited.url).port}`, maxConcurrency: 1}]},
			...testDefaults,
		},
		{storageDir: tempStorage(t), log: captureLog()},
	);
	assert.equal(summary.requests.done, 40);
	assert.equal(limited.concurrency.max, 1, 'the matching host');
	assert.equal(other.concurrency.max, 4, 'the default for the others');
});
