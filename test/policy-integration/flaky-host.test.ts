// Issue 4: a flaky host (10% connection resets, 10% 502, 5% hangs past the timeout) ends with
// every page done within maxRetries + 1 attempts, and its backoffs hold no worker: a healthy
// host crawled alongside keeps its throughput.
import assert from 'node:assert/strict';
import {createHash} from 'node:crypto';
import test from 'node:test';
import type {CrawlerDefinition} from '../../src/job/types.js';
import {runCrawler} from '../../src/runner/run-crawler.js';
import {captureLog, page, pageUrls, startLoggingServer, tempStorage, testDefaults, type LoggingServer} from './helpers.js';

const FLAKY_PAGES = 300;
const HEALTHY_PAGES = 150;
const MAX_RETRIES = 5;

/** The fate of one attempt, fixed by (path, attempt number): the same on every run, in any order. */
function fate(path: string, attempt: number): 'reset' | '502' | 'hang' | 'ok' {
	const roll = createHash('sha1').update(`flaky:${path}:${attempt}`).digest().readUInt32BE(0) / 2 ** 32;
	if (roll < 0.1) return 'reset';
	if (roll < 0.2) return '502';
	if (roll < 0.25) return 'hang';
	return 'ok';
}

async function startFlakyServer(t: test.TestContext): Promise<LoggingServer & {fates: Map<string, number>}> {
	const fates = new Map<string, number>();
	const server = await startLoggingServer(t, (request, response, {path}) => {
		request.resume();
		const kind = fate(path, server.count(path));
		fates.set(kind, (fates.get(kind) ?? 0) + 1);
		if (kind === 'reset') return void request.socket.destroy();
		if (kind === 'hang') return; // answered never; the server closes it when the test ends
		setTimeout(() => page(response, kind === '502' ? 'bad gateway' : 'ok', kind === '502' ? 502 : 200), 10);
	});
	return Object.assign(server, {fates});
}

function crawler(name: string, startUrls: string[]): CrawlerDefinition {
	return {
		name,
		startUrls,
		routes: {default: () => {}},
		concurrency: 8,
		hosts: {maxConcurrency: 4},
		timeouts: {responseMs: 500, totalMs: 1_000},
		retry: {maxRetries: MAX_RETRIES, backoff: {baseMs: 200, factor: 2, capMs: 2_000}},
		...testDefaults,
	};
}

/** Pages per second the server answered, from `since` (the crawl's first request) to its last request. */
function rateOf(server: LoggingServer, since = server.arrivals[0]!.at): number {
	return (server.arrivals.length * 1000) / Math.max(1, server.arrivals.at(-1)!.at - since);
}

test('a flaky host: every page done within maxRetries + 1 attempts; a healthy host alongside keeps its throughput', async (t) => {
	const healthyServer = (delayMs: number) => startLoggingServer(t, (_request, response) => setTimeout(() => page(response), delayMs));

	const alone = await healthyServer(20);
	const baseline = await runCrawler(crawler('healthy-alone', pageUrls(alone.url, HEALTHY_PAGES)), {storageDir: tempStorage(t), log: captureLog()});
	assert.equal(baseline.requests.done, HEALTHY_PAGES);

	const flaky = await startFlakyServer(t);
	const healthy = await healthyServer(20);
	// The flaky host's pages first: the healthy ones must not queue behind its retries.
	const summary = await runCrawler(crawler('flaky-and-healthy', [...pageUrls(flaky.url, FLAKY_PAGES), ...pageUrls(healthy.url, HEALTHY_PAGES)]), {
		storageDir: tempStorage(t),
		log: captureLog(),
	});

	assert.equal(summary.state, 'finished');
	assert.equal(summary.requests.failed, 0);
	assert.equal(summary.requests.done, FLAKY_PAGES + HEALTHY_PAGES);
	// Every failure kind happened, and each page took at most maxRetries + 1 attempts.
	for (const kind of ['reset', '502', 'hang']) assert.ok((flaky.fates.get(kind) ?? 0) > 0, `some ${kind}`);
	const attempts = pageUrls('', FLAKY_PAGES).map((path) => flaky.count(path));
	assert.ok(Math.max(...attempts) <= MAX_RETRIES + 1, `attempts per page: max ${Math.max(...attempts)}`);
	assert.ok(attempts.some((count) => count > 1), 'some pages were retried');
	const retries = summary.hosts?.[flaky.host]?.retries ?? {};
	assert.ok(Object.keys(retries).some((reason) => reason.includes('502')), `retries by reason: ${JSON.stringify(retries)}`);
	assert.ok(Object.keys(retries).some((reason) => reason.includes('ERR_TIMEOUT')), `retries by reason: ${JSON.stringify(retries)}`);
	assert.ok(Object.keys(retries).some((reason) => reason.includes('ECONNRESET')), `retries by reason: ${JSON.stringify(retries)}`);

	const baselineRate = rateOf(alone);
	// Counted from the crawl's first request: a healthy host queued behind the flaky one's
	// backlog (or its retries) would start late, and its rate with it.
	const sharedRate = rateOf(healthy, Math.min(flaky.arrivals[0]!.at, healthy.arrivals[0]!.at));
	t.diagnostic(`healthy host: ${sharedRate.toFixed(0)} pages/s beside the flaky one, ${baselineRate.toFixed(0)} pages/s alone`);
	assert.equal(healthy.arrivals.length, HEALTHY_PAGES, 'the healthy host saw each page once');
	assert.ok(sharedRate >= 0.6 * baselineRate, `healthy host: ${sharedRate.toFixed(0)} pages/s vs ${baselineRate.toFixed(0)} alone`);
});
