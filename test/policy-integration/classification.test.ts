// Issue 4: what is retried and what is not, on real crawls; counted on the server.
import assert from 'node:assert/strict';
import test from 'node:test';
import {NonRetryableError} from '../../src/errors.js';
import type {CrawlerDefinition} from '../../src/job/types.js';
import {runCrawler} from '../../src/runner/run-crawler.js';
import {openStore} from '../../src/store/open-store.js';
import {captureLog, page, pageUrls, startLoggingServer, tempStorage, testDefaults} from './helpers.js';

const fastRetry = {maxRetries: 3, backoff: {baseMs: 10, factor: 2, capMs: 50}} as const;

async function failedRows(storageDir: string, name: string) {
	const store = openStore(storageDir, name);
	try {
		const run = await store.latestRun();
		return await store.failedRequests(run!.id, 100);
	} finally {
		await store.close();
	}
}

test('a 404 is not retried: the server sees it once, the request is failed with its status', async (t) => {
	const server = await startLoggingServer(t, (_request, response, {path}) => (path === '/missing' ? page(response, 'not found', 404) : page(response)));
	const storageDir = tempStorage(t);
	const summary = await runCrawler(
		{name: 'status-404', startUrls: [`${server.url}/missing`, `${server.url}/ok`], routes: {default: () => {}}, retry: fastRetry, ...testDefaults},
		{storageDir, log: captureLog()},
	);
	assert.equal(server.count('/missing'), 1);
	assert.equal(summary.requests.done, 1);
	assert.equal(summary.requests.failed, 1);
	const [row] = await failedRows(storageDir, 'status-404');
	assert.equal(row?.status, 404);
	assert.equal(row?.errorCode, 'ERR_HTTP_STATUS');
	assert.equal(row?.retryCount, 0);
});

test('a handler error marked non-retryable is not retried; a plain handler error is', async (t) => {
	const server = await startLoggingServer(t, (_request, response) => page(response));
	const storageDir = tempStorage(t);
	const summary = await runCrawler(
		{
			name: 'handler-errors',
			startUrls: [`${server.url}/gone`, `${server.url}/buggy`, `${server.url}/fine`],
			routes: {
				default: ({request}) => {
					if (request.url.endsWith('/gone')) throw new NonRetryableError('item was removed');
					if (request.url.endsWith('/buggy')) throw new Error('selector drifted');
				},
			},
			retry: fastRetry,
			...testDefaults,
		},
		{storageDir, log: captureLog()},
	);
	assert.equal(server.count('/gone'), 1, 'non-retryable: one attempt');
	assert.equal(server.count('/buggy'), fastRetry.maxRetries + 1, 'retryable: maxRetries + 1 attempts');
	assert.equal(summary.requests.done, 1);
	assert.equal(summary.requests.failed, 2);
	const rows = await failedRows(storageDir, 'handler-errors');
	const gone = rows.find((row) => row.url.endsWith('/gone'));
	assert.equal(gone?.errorCode, 'ERR_HANDLER');
	assert.match(gone?.error ?? '', /item was removed/);
	assert.equal(gone?.retryCount, 0);
	assert.equal(rows.find((row) => row.url.endsWith('/buggy'))?.retryCount, fastRetry.maxRetries);
});

test('a 500 is retried with backoff until it heals', async (t) => {
	const server = await startLoggingServer(t, (_request, response, {path}) => {
		if (path === '/flaky' && server.count('/flaky') <= 2) return page(response, 'oops', 500);
		page(response);
	});
	const storageDir = tempStorage(t);
	const summary = await runCrawler(
		{name: 'status-500', startUrls: [`${server.url}/flaky`], routes: {default: ({push}) => push({ok: true})}, retry: fastRetry, ...testDefaults},
		{storageDir, log: captureLog()},
	);
	assert.equal(server.count('/flaky'), 3);
	assert.equal(summary.requests.done, 1);
	assert.equal(summary.requests.failed, 0);
	assert.equal(summary.items, 1);
	assert.equal(summary.hosts?.[server.host]?.retries['500'], 2);
});

test('a stalled server does not stall the crawl: the request fails with ERR_TIMEOUT after its retries, other pages finish', async (t) => {
	const doneAt: number[] = [];
	const server = await startLoggingServer(t, (_request, response, {path}) => {
		if (path === '/stalled') return; // never answers
		setTimeout(() => page(response), 20);
	});
	const storageDir = tempStorage(t);
	const started = Date.now();
	const summary = await runCrawler(
		{
			name: 'stalled',
			startUrls: [`${server.url}/stalled`, ...pageUrls(server.url, 30)],
			routes: {default: () => void doneAt.push(Date.now())},
			timeouts: {responseMs: 500, totalMs: 800},
			retry: {maxRetries: 2, backoff: {baseMs: 10, capMs: 50}},
			...testDefaults,
		},
		{storageDir, log: captureLog()},
	);
	const elapsedMs = Date.now() - started;
	assert.equal(server.count('/stalled'), 3, 'maxRetries + 1 attempts');
	assert.equal(summary.requests.done, 30);
	assert.equal(summary.requests.failed, 1);
	const [row] = await failedRows(storageDir, 'stalled');
	assert.equal(row?.errorCode, 'ERR_TIMEOUT');
	assert.equal(row?.retryCount, 2);
	// The 30 pages did not wait for the stalled one: all done before its last attempt began.
	const lastAttempt = server.arrivals.filter(({path}) => path === '/stalled')[2]!.at;
	assert.ok(Math.max(...doneAt) < lastAttempt, `last page done ${Math.max(...doneAt) - lastAttempt} ms after the last attempt of the stalled one`);
	assert.ok(elapsedMs < 3_000, `run took ${elapsedMs} ms`);
});

test('a Retry-After beyond maxRetryAfterMs defers the request (logged); the run goes on with the other hosts', async (t) => {
	const limited = await startLoggingServer(t, (_request, response) => {
		response.setHeader('retry-after', '120');
		page(response, 'come back later', 429);
	});
	const healthy = await startLoggingServer(t, (_request, response) => setTimeout(() => page(response), 10));
	const storageDir = tempStorage(t);
	const log = captureLog();
	const definition: CrawlerDefinition = {
		name: 'deferred',
		startUrls: [`${limited.url}/later`, ...pageUrls(healthy.url, 20)],
		routes: {default: () => {}},
		retry: {maxRetryAfterMs: 1_000},
		...testDefaults,
	};
	const started = Date.now();
	const summary = await runCrawler(definition, {storageDir, log});
	const elapsedMs = Date.now() - started;

	// The host asked for 2 minutes: it is not contacted again in this run, and the run does not wait.
	assert.equal(limited.arrivals.length, 1, 'one 429, then the host is left alone');
	assert.equal(healthy.count('/p/19'), 1);
	assert.ok(elapsedMs < 5_000, `run took ${elapsedMs} ms`);
	assert.ok(
		log.lines.some((line) => line.startsWith('warn:') && line.includes(limited.host) && line.includes('deferred')),
		`a deferral is logged: ${log.lines.join('\n')}`,
	);
	assert.equal(summary.requests.done, 20);
	assert.equal(summary.requests.failed, 0, 'deferred, not failed');
	assert.equal(summary.state, 'stopped');
	assert.match(summary.stoppedReason ?? '', /deferred/);
	// Not lost: the request is still queued for a later run, due when the host allows it.
	const store = openStore(storageDir, 'deferred');
	try {
		const run = await store.latestRun();
		assert.ok(run);
		assert.notEqual(run.state, 'finished', 'a run with deferred requests is resumable');
		assert.equal((await store.counts(run.id)).pending, 1);
		const dueAt = await store.nextDueAt(run.id);
		assert.ok(dueAt !== undefined && dueAt >= limited.arrivals[0]!.at + 119_000, 'due when the Retry-After ends');
		const cooldown = (await store.hosts()).find((entry) => entry.host === limited.host)?.cooldownUntil;
		assert.ok(cooldown !== undefined && cooldown >= limited.arrivals[0]!.at + 119_000, 'the host cooldown is persisted');
	} finally {
		await store.close();
	}
	// Run again before the time is up: it resumes, leaves the host alone and stops again.
	const again = await runCrawler(definition, {storageDir, log: captureLog()});
	assert.equal(again.runId, summary.runId);
	assert.equal(again.state, 'stopped');
	assert.equal(limited.arrivals.length, 1);
});

test('a 200 "slow down" page matched by the rateLimited predicate pauses the host and is retried, not stored', async (t) => {
	let isSlowDown = true;
	const server = await startLoggingServer(t, (_request, response, {path}) => {
		if (path === '/busy' && isSlowDown) {
			isSlowDown = false;
			return page(response, 'Slow down, please');
		}
		return page(response, `content of ${path}`);
	});
	const storageDir = tempStorage(t);
	const seen: string[] = [];
	const summary = await runCrawler(
		{
			name: 'soft-rate-limit',
			startUrls: [`${server.url}/busy`],
			rateLimited: ({body}) => body.includes('Slow down'),
			routes: {default: ({body}) => void seen.push(body)},
			retry: {...fastRetry, maxRetries: 0},
			...testDefaults,
		},
		{storageDir, log: captureLog()},
	);
	assert.equal(server.count('/busy'), 2, 'the slow-down page was retried');
	assert.equal(summary.requests.done, 1);
	assert.equal(summary.requests.failed, 0, 'a rate-limit wait is not a failed attempt (maxRetries 0)');
	assert.ok(seen.every((body) => !body.includes('Slow down')), 'the slow-down page never reached the handler');
	assert.equal(summary.hosts?.[new URL(server.url).host]?.retries['rateLimited-page'], 1);
});
