// The Store contract for crashes: a resume (releaseInflight) counts, per request, the resumes
// that found it in flight, fails it at the second (ERR_CRASHED_WORKER), and leases "suspects"
// alone. Run by storeContract on every engine.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import type {TestContext} from 'node:test';
import {CRASHED_WORKER_MESSAGE} from '../../src/store/store.js';
import type {Store, StoredRequest} from '../../src/store/store.js';
import {done, keys, request, retry} from './contract-helpers.js';

export type Setup = (t: TestContext) => Promise<{store: Store; runId: number}>;
export type Leased = (store: Store, runId: number, ...names: string[]) => Promise<StoredRequest[]>;

export function crashContract(setup: Setup, leased: Leased): void {
	test('releaseInflight makes every in-flight request pending and due now', async (t) => {
		const {store, runId} = await setup(t);
		await leased(store, runId, 'a', 'b');
		await store.addRequests(runId, [request('c')]);
		const [c] = await store.lease(runId, 1, 0);
		await store.commit(runId, [retry(c!.id, 50_000)]);
		assert.deepEqual(await store.releaseInflight(runId), {released: 2, crashed: 0});
		assert.deepEqual(await store.releaseInflight(runId), {released: 0, crashed: 0});
		assert.deepEqual(await store.counts(runId), {pending: 3, inflight: 0, done: 0, failed: 0});
		assert.equal(await store.nextDueAt(runId), 0);
		// Due now, one at a time (see the ERR_CRASHED_WORKER case below).
		const [first] = await store.lease(runId, 10, 0);
		assert.equal(first?.uniqueKey, 'a');
		await store.commit(runId, [done(first.id)]);
		assert.deepEqual(keys(await store.lease(runId, 10, 0)), ['b']);
	});

	test('releaseInflight fails a request found in flight by a second resume in a row: ERR_CRASHED_WORKER', async (t) => {
		const {store, runId} = await setup(t);
		const other = await store.createRun(2000);
		await leased(store, other.id, 'elsewhere');
		const [a, b, c] = await leased(store, runId, 'a', 'b', 'c');
		assert.deepEqual(await store.releaseInflight(runId), {released: 3, crashed: 0});
		// Requests a resume found in flight ("suspects") are leased one at a time, alone.
		await store.addRequests(runId, [request('d')]);
		assert.deepEqual(keys(await store.lease(runId, 10, 0)), ['a']);
		assert.deepEqual(keys(await store.lease(runId, 10, 0)), [], 'a is in flight: nothing else goes with it');
		await store.commit(runId, [done(a!.id)]);
		assert.deepEqual(keys(await store.lease(runId, 10, 0)), ['b']);
		// b ran to its end (a retry): no longer a suspect. c goes next, alone.
		await store.commit(runId, [retry(b!.id, 0, 1)]);
		assert.deepEqual(keys(await store.lease(runId, 10, 0)), ['c']);
		assert.deepEqual(keys(await store.lease(runId, 10, 0)), []);
		// The process dies again with c in flight: the second death in a row with c in flight.
		assert.deepEqual(await store.releaseInflight(runId), {released: 0, crashed: 1});
		assert.deepEqual(await store.counts(runId), {pending: 2, inflight: 0, done: 1, failed: 1});
		const failed = await store.failedRequests(runId, 10);
		assert.deepEqual(
			failed.map((entry) => [entry.id, entry.errorCode, entry.status, entry.retryCount, entry.error]),
			[[c!.id, 'ERR_CRASHED_WORKER', undefined, 0, CRASHED_WORKER_MESSAGE]],
		);
		// b (retried since its first crash) and d are ordinary again: leased together, a death counts once.
		assert.deepEqual(keys(await store.lease(runId, 10, 0)), ['b', 'd']);
		assert.deepEqual(await store.releaseInflight(runId), {released: 2, crashed: 0});
		// Another run's requests are untouched; --retry-failed makes a crashed request an ordinary one.
		assert.deepEqual(await store.counts(other.id), {pending: 0, inflight: 1, done: 0, failed: 0});
		assert.equal(await store.requeueFailed(runId), 1);
		assert.deepEqual(await store.counts(runId), {pending: 3, inflight: 0, done: 1, failed: 0});
	});

	test('requeueFailed clears the crash count: a requeued crashed request is leased with others again', async (t) => {
		const {store, runId} = await setup(t);
		await leased(store, runId, 'a');
		assert.deepEqual(await store.releaseInflight(runId), {released: 1, crashed: 0});
		assert.deepEqual(keys(await store.lease(runId, 10, 0)), ['a']);
		assert.deepEqual(await store.releaseInflight(runId), {released: 0, crashed: 1});
		await store.addRequests(runId, [request('b'), request('c')]);
		assert.equal(await store.requeueFailed(runId), 1);
		assert.deepEqual(keys(await store.lease(runId, 10, 0)), ['a', 'b', 'c']);
		// In flight once more at a resume: one crash counted, not a second.
		assert.deepEqual(await store.releaseInflight(runId), {released: 3, crashed: 0});
	});
}
