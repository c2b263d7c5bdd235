// Issue 4: per-host limits under a larger global concurrency, seen from the server.
import assert from 'node:assert/strict';
import path from 'node:path';
import test from 'node:test';
import Database from 'better-sqlite3';
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

test('a narrow host holds no backlog: the crawl leases only a few of its requests ahead, not the frontier', async (t) => {
	const storage = tempStorage(t);
	let db: Database.Database | undefined;
	let maxInflight = 0;
	// Each arrival reads, from the store the crawl is writing, how many requests are leased.
	const server = await startLoggingServer(t, (_request, response) => {
		db ??= new Database(path.join(storage, 'narrow-host.sqlite'), {readonly: true});
		const {inflight} = db.prepare(`SELECT count(*) AS inflight FROM requests WHERE state = 'inflight'`).get() as {inflight: number};
		maxInflight = Math.max(maxInflight, inflight);
		setTimeout(() => page(response), 5);
	});
	t.after(() => db?.close());
	const summary = await runCrawler(
		{name: 'narrow-host', startUrls: pageUrls(server.url, 120), routes: {default: () => {}}, concurrency: 6, hosts: {maxConcurrency: 1}, ...testDefaults},
		{storageDir: storage, log: captureLog()},
	);
	assert.equal(summary.requests.done, 120);
	assert.equal(server.concurrency.max, 1);
	// One in flight and a buffer of twice the concurrency: 13 at most. Leasing further down the
	// frontier for requests of other hosts used to take all 120 of this one.
	assert.ok(maxInflight <= 13, `${maxInflight} requests leased at once for a host that takes 1`);
});
