// A run in several segments (stopped, resumed; issue 14 item 7, issue 9 item 7): the summary and
// the progress of a resumed run cover the whole run; --max-requests counts requests that ended,
// not 429 waits; the end state and the summary are written in one store call, so a crash just
// before it resumes the run instead of starting over.
import assert from 'node:assert/strict';
import {test, type TestContext} from 'node:test';
import type {CrawlerDefinition} from '../../src/job/types.js';
import type {ProgressSnapshot} from '../../src/output/progress.js';
import {openStore} from '../../src/store/open-store.js';
import type {Store} from '../../src/store/store.js';
import {startServer} from '../sites/start-server.js';
import {counts, crawl, html, tempStorage} from './crawl.js';

interface Site {
	readonly url: string;
	readonly seen: string[];
}

/**
 * `/` links to `pages` pages. Every third page answers 500 the first time it is asked (one
 * retry each); with `rateLimitFirst`, every page answers 429 the first time instead.
 */
async function site(t: TestContext, pages: number, options: {delayMs?: number; rateLimitFirst?: boolean} = {}): Promise<Site> {
	const seen: string[] = [];
	const server = await startServer(t, (request, response) => {
		const path = request.url!;
		seen.push(path);
		response.setHeader('content-type', 'text/html');
		if (path === '/') return response.end(html(Array.from({length: pages}, (_, index) => `<a href="/p/${index}">p</a>`).join('')));
		const isFirst = seen.filter((each) => each === path).length === 1;
		if (isFirst && options.rateLimitFirst) {
			response.statusCode = 429;
			response.setHeader('retry-after', '0');
			return response.end('slow down');
		}
		if (isFirst && Number(path.split('/').pop()) % 3 === 0) {
			response.statusCode = 500;
			return response.end('oops');
		}
		setTimeout(() => response.end(html(`<h1>${path}</h1>`)), options.delayMs ?? 0).unref();
	});
	return {url: server.url, seen};
}

function definition(url: string, extra: Partial<CrawlerDefinition> = {}): CrawlerDefinition {
	return {
		name: 'segments',
		startUrls: [`${url}/`],
		concurrency: 1,
		routes: {
			default: async ({enqueue}) => void (await enqueue({selector: 'a', label: 'page'})),
			page: async ({request, push}) => void (await push({url: request.url})),
		},
		...extra,
	};
}

test('a resumed run: the summary covers every segment (requests, retries, hosts, duration), and progress counts items and retries for the whole run', async (t) => {
	const server = await site(t, 30, {delayMs: 60});
	const storageDir = tempStorage(t);
	const first = await crawl(t, definition(server.url), {storageDir, maxRequests: 12});
	assert.equal(first.summary.state, 'stopped');
	assert.equal(first.summary.requests.done, 12);
	assert.equal(first.summary.segments, 1);
	const host = new URL(server.url).host;
	assert.equal(first.summary.hosts?.[host]?.requests, server.seen.length);
	const seenInFirst = server.seen.length;

	const snapshots: ProgressSnapshot[] = [];
	const second = await crawl(t, definition(server.url), {storageDir, onProgress: (snapshot) => snapshots.push(snapshot)});
	const {summary} = second;
	assert.equal(summary.state, 'finished');
	assert.equal(summary.runId, first.summary.runId, 'the same run, resumed');
	assert.equal(summary.segments, 2);
	assert.equal(summary.requests.done, 31);
	assert.equal(summary.items, 30);
	assert.equal(second.items.length, 30);
	// Every request the server saw, over both segments; each 500 was one retry.
	const failedOnce = [...counts(server.seen)].filter(([, times]) => times === 2).length;
	assert.equal(failedOnce, 10);
	assert.equal(summary.hosts?.[host]?.requests, server.seen.length);
	assert.equal(summary.requests.retried, 10);
	assert.equal(Object.values(summary.hosts?.[host]?.retries ?? {}).reduce((sum, each) => sum + each, 0), 10, 'retries per host, both segments');
	assert.equal(summary.startedAt, first.summary.startedAt, 'started when the first segment started');
	assert.ok(summary.durationMs > first.summary.durationMs);
	assert.ok(server.seen.length > seenInFirst);

	// The resumed segment lasts over a second (18 pages × 60 ms, one at a time): progress was shown.
	assert.ok(snapshots.length > 0, 'at least one progress snapshot');
	for (const snapshot of snapshots) {
		assert.ok(snapshot.items >= first.summary.items, `items ${snapshot.items} count the first segment's ${first.summary.items}`);
		assert.ok(snapshot.done >= first.summary.requests.done, `done ${snapshot.done}`);
		assert.ok((snapshot.retries ?? 0) >= first.summary.requests.retried, `retries ${snapshot.retries}`);
		assert.ok(snapshot.elapsedMs >= first.summary.durationMs, 'elapsed counts the first segment');
	}
});

test('--max-requests counts requests that ended (done or failed), not 429 waits', async (t) => {
	const server = await site(t, 10, {rateLimitFirst: true});
	const result = await crawl(t, definition(server.url, {concurrency: 2}), {maxRequests: 4});
	assert.equal(result.summary.state, 'stopped');
	assert.match(result.summary.stoppedReason ?? '', /reached maxRequests \(4\)/);
	assert.equal(result.summary.requests.done + result.summary.requests.failed, 4, JSON.stringify(result.summary.requests));
	assert.equal(result.summary.requests.done, 4);
	assert.equal(result.items.length, 3, 'the list page and three pages');
	assert.ok(result.summary.requests.retried >= 3, 'each page was rate-limited once first');
});

/** The SQLite store, except that writing an end state fails as a kill -9 right there would. */
function crashingBeforeTheEndState(storageDir: string): Store {
	const store = openStore(storageDir, 'segments');
	return new Proxy(store, {
		get(target, property, receiver) {
			if (property === 'setRunState') {
				return async (runId: number, state: string, ...rest: unknown[]) => {
					if (state !== 'running') throw new Error('killed');
					return target.setRunState(runId, state, ...(rest as [number, unknown?]));
				};
			}
			const value = Reflect.get(target, property, receiver) as unknown;
			return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
		},
	});
}

test('the store decides "finished"; the summary is one store call with the end state; a crash between them keeps every result', async (t) => {
	const server = await site(t, 6);
	const storageDir = tempStorage(t);
	const crashing = crashingBeforeTheEndState(storageDir);
	await assert.rejects(crawl(t, definition(server.url), {storageDir, store: crashing}), /killed/);
	await crashing.close();
	const seenBefore = server.seen.length;
	const store = openStore(storageDir, 'segments');
	t.after(() => store.close());
	// The store set the run finished when nothing was left (its compare-and-set), before the
	// summary: a crash in between loses that segment's traffic counters, never a result.
	const crashed = await store.latestRun();
	assert.deepEqual([crashed?.id, crashed?.state, crashed?.summary], [1, 'finished', undefined]);
	assert.equal(await store.itemCount(1), 6);

	// Every state write of a run that gets to its end: one call with the state and the summary
	// ('running' is set by the join, 'finished' first by the store's finish check).
	const writes: Array<{state: string; hasSummary: boolean}> = [];
	const recording = new Proxy(store, {
		get(target, property, receiver) {
			if (property === 'setRunState') {
				return async (runId: number, state: Parameters<Store['setRunState']>[1], now: number, summary?: unknown) => {
					writes.push({state, hasSummary: summary !== undefined});
					return target.setRunState(runId, state, now, summary);
				};
			}
			const value = Reflect.get(target, property, receiver) as unknown;
			return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
		},
	});
	const next = await crawl(t, definition(server.url), {storageDir, store: recording});
	assert.ok(next.logs.some((line) => /^starting run 2/.test(line)), next.logs.join('\n'));
	assert.equal(next.summary.state, 'finished');
	assert.ok(server.seen.length > seenBefore, 'a new run fetches again');
	assert.deepEqual(writes, [{state: 'finished', hasSummary: true}]);
	const run = await store.latestRun();
	assert.deepEqual([run?.id, run?.state, (run?.summary as {items?: number}).items], [2, 'finished', 6]);
});

test('top errors carry over a resume, and are dropped with --retry-failed (those requests are queued again)', async (t) => {
	let isBroken = true;
	const server = await startServer(t, (request, response) => {
		response.setHeader('content-type', 'text/html');
		if (request.url === '/') return response.end(html(Array.from({length: 6}, (_, index) => `<a href="/p/${index}">p</a>`).join('')));
		response.statusCode = isBroken && request.url === '/p/0' ? 404 : 200;
		response.end(html(`<h1>${request.url}</h1>`));
	});
	const storageDir = tempStorage(t);
	const first = await crawl(t, definition(server.url), {storageDir, maxRequests: 3});
	assert.equal(first.summary.state, 'stopped');
	assert.deepEqual(first.summary.topErrors.map((error) => [error.code, error.count]), [['ERR_HTTP_STATUS', 1]]);

	const second = await crawl(t, definition(server.url), {storageDir});
	assert.equal(second.summary.state, 'finished');
	assert.deepEqual(second.summary.topErrors.map((error) => [error.code, error.count]), [['ERR_HTTP_STATUS', 1]], 'the first segment\'s failure is still the run\'s');
	assert.equal(second.summary.requests.failed, 1);

	isBroken = false;
	const third = await crawl(t, definition(server.url), {storageDir, retryFailed: true});
	assert.equal(third.summary.runId, first.summary.runId);
	assert.equal(third.summary.requests.failed, 0);
	assert.deepEqual(third.summary.topErrors, []);
	assert.equal(third.summary.items, 6);
	assert.equal(third.summary.segments, 3);
});
