// Issue 10 item 4: host limits hold for the whole crawl. Three workers, each with its own store
// handle on one PostgreSQL schema (as three machines would have), crawl one local site (served
// in a worker thread, so its timestamps are when requests arrived) through the store's owner
// leases, their host throttles and the coordinators that share the limits.
import assert from 'node:assert/strict';
import {after, describe, test} from 'node:test';
import {PostgresStore} from '../../src/store/postgres/postgres-store.js';
import {dropSchemas, pgUrl, skipWithoutPostgres, uniqueName} from '../store/pg-helpers.js';
import {pageUrls, startSiteWorker} from './helpers.js';
import {runMiniWorker} from './mini-worker.js';
import type {SharedLimitsSiteOptions, SharedLimitsSiteState} from './sites/shared-limits-site.js';

const SITE = new URL('./sites/shared-limits-site.ts', import.meta.url);
const schemas: string[] = [];
after(() => dropSchemas(schemas));

/** Three handles on a fresh schema, a run with `pages` pages of the site, and the three workers run to the end. */
async function crawlWithThreeWorkers(siteUrl: string, pages: number, maxConcurrency: number) {
	const schema = uniqueName('crawljar_hosts');
	schemas.push(schema);
	const stores = [0, 1, 2].map(() => PostgresStore.open({url: pgUrl, schema}));
	try {
		const run = await stores[0]!.createRun(Date.now());
		await stores[0]!.addRequests(run.id, pageUrls(siteUrl, pages).map((url) => ({url, uniqueKey: url, depth: 0})));
		const fetched = await Promise.all(
			stores.map((store, index) => runMiniWorker({name: `w${index}`, store, runId: run.id, maxConcurrency, concurrency: maxConcurrency})),
		);
		return {fetched, counts: await stores[0]!.counts(run.id), items: await stores[0]!.itemCount(run.id)};
	} finally {
		await Promise.all(stores.map((store) => store.close()));
	}
}

describe('host limits shared by the workers of one crawl (PostgreSQL)', {skip: skipWithoutPostgres}, () => {
	test('the server never sees more than hosts.maxConcurrency requests at once, from three workers together', async (t) => {
		const options: SharedLimitsSiteOptions = {pageDelayMs: [20, 40]};
		const site = await startSiteWorker<SharedLimitsSiteState>(t, SITE, options);
		const {fetched, counts, items} = await crawlWithThreeWorkers(site.url, 200, 4);
		const {maxConcurrency, state} = await site.snapshot();
		// Each worker would send 4 at once on its own: 12 together without shares.
		assert.ok(maxConcurrency <= 4, `the server saw ${maxConcurrency} requests at once`);
		assert.equal(maxConcurrency, 4, 'the limit was used');
		assert.deepEqual(counts, {pending: 0, inflight: 0, done: 200, failed: 0});
		assert.equal(items, 200);
		assert.equal(new Set(state.served).size, 200);
		assert.ok(fetched.every((n) => n > 0), `every worker got a share: ${fetched.join(', ')}`);
	});

	test('a 429 seen by one worker: it sends nothing more, and no worker reaches the host later than one poll after it, until the cooldown ends', async (t) => {
		const options: SharedLimitsSiteOptions = {pageDelayMs: [20, 40], triggerAt: 60};
		const site = await startSiteWorker<SharedLimitsSiteState>(t, SITE, options);
		const {counts} = await crawlWithThreeWorkers(site.url, 160, 6);
		const {state} = await site.snapshot();
		const window = state.window;
		assert.ok(window, 'the server sent its 429');
		const SKEW_MS = 50;
		// The bound of the design: the other workers read the cooldown at their next poll (every
		// 500 ms); until then they may send what their buffers hold (each of those is refused with
		// a 429 and cools that worker down at once). 1 s: a poll and a generous margin for a busy machine.
		const POLL_BOUND_MS = 1_000;
		const during = (from: number) => state.arrivals.filter(({at}) => at > from && at < window.end - SKEW_MS);
		assert.deepEqual(
			during(window.start + SKEW_MS).filter(({worker}) => worker === window.worker),
			[],
			'the worker that got the 429 sent more during the cooldown',
		);
		assert.deepEqual(
			during(window.start + POLL_BOUND_MS).map(({at, worker}) => `${worker} at +${at - window.start} ms`),
			[],
			'requests arrived during the cooldown, later than one poll after the 429',
		);
		const early = during(window.start + SKEW_MS);
		t.diagnostic(`requests from other workers before they polled: ${early.length} (${early.map(({at, worker}) => `${worker} +${at - window.start} ms`).join(', ')})`);
		assert.ok(state.arrivals.some(({at}) => at >= window.end), 'the crawl went on after the cooldown');
		assert.deepEqual(counts, {pending: 0, inflight: 0, done: 160, failed: 0});
	});
});
