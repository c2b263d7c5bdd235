// The Store contract: every engine (SQLite, PostgreSQL, …) must pass this one suite.
// `open` must return a fresh, empty store on every call; each test closes what it opened.
// `openPair`, where the engine has it, returns two handles on ONE fresh, empty database (two
// workers): the cases for concurrent dedupe and lease exclusivity run on it.
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import type {TestContext} from 'node:test';
import {CrawljarError} from '../../src/errors.js';
import type {NewRequest, Store, StoredRequest, StoredSession} from '../../src/store/store.js';
import {collect, done, keys, request, retry} from './contract-helpers.js';
import {crashContract} from './contract-crashes.js';
import {leaseContract} from './contract-leases.js';
import {sessionContract} from './contract-sessions.js';
import {twoHandleContract} from './contract-two-handles.js';
import {workerContract, workerPairContract} from './contract-workers.js';
import {shareContract} from './contract-shares.js';
import {hostContract} from './contract-hosts.js';

export interface ContractOptions {
	readonly openPair?: () => Promise<readonly [Store, Store]>;
	/** Skips the whole suite with this reason (an engine whose server is not reachable outside CI). */
	readonly skip?: string | false;
}

export function storeContract(name: string, open: () => Promise<Store>, options: ContractOptions = {}): void {
	/** A fresh store, closed when the test ends, with one run already created. */
	async function setup(t: TestContext): Promise<{store: Store; runId: number}> {
		const store = await open();
		t.after(() => store.close());
		const run = await store.createRun(1000);
		return {store, runId: run.id};
	}

	/** Adds the keys and leases them all, in order. */
	async function leased(store: Store, runId: number, ...names: string[]): Promise<StoredRequest[]> {
		await store.addRequests(runId, names.map((key) => request(key)));
		const requests = await store.lease(runId, names.length, 0);
		assert.deepEqual(keys(requests), names);
		return requests;
	}

	describe(`Store contract: ${name}`, {skip: options.skip ?? false}, () => {
		test('createRun, latestRun, setRunState and listRuns (newest first)', async (t) => {
			const store = await open();
			t.after(() => store.close());
			assert.equal(await store.latestRun(), undefined);
			assert.deepEqual(await store.listRuns(10), []);

			const first = await store.createRun(1000);
			assert.deepEqual(first, {id: first.id, state: 'running', startedAt: 1000, finishedAt: undefined, summary: undefined});
			const second = await store.createRun(2000);
			assert.ok(second.id > first.id);
			assert.equal((await store.latestRun())?.id, second.id);

			await store.setRunState(first.id, 'finished', 3000, {pages: 3, hosts: ['a']});
			await store.setRunState(second.id, 'stopped', 4000);
			const runs = await store.listRuns(10);
			assert.deepEqual(runs, [
				{id: second.id, state: 'stopped', startedAt: 2000, finishedAt: 4000, summary: undefined},
				{id: first.id, state: 'finished', startedAt: 1000, finishedAt: 3000, summary: {pages: 3, hosts: ['a']}},
			]);
			assert.deepEqual(
				(await store.listRuns(1)).map((run) => run.id),
				[second.id],
			);

			// A state change without a summary keeps the last one; back to running clears finishedAt.
			await store.setRunState(first.id, 'running', 5000);
			const resumed = (await store.listRuns(10)).find((run) => run.id === first.id);
			assert.deepEqual(resumed, {id: first.id, state: 'running', startedAt: 1000, finishedAt: undefined, summary: {pages: 3, hosts: ['a']}});
		});

		test('addRequests dedupes by uniqueKey within a run and returns how many were new', async (t) => {
			const {store, runId} = await setup(t);
			assert.equal(await store.addRequests(runId, [request('a'), request('b'), request('a')]), 2);
			assert.equal(await store.addRequests(runId, [request('b'), request('c')]), 1);
			assert.equal(await store.addRequests(runId, []), 0);
			// Same key in another run is another request.
			const other = await store.createRun(2000);
			assert.equal(await store.addRequests(other.id, [request('a')]), 1);
			assert.deepEqual(await store.counts(runId), {pending: 3, inflight: 0, done: 0, failed: 0});
			assert.deepEqual(await store.counts(other.id), {pending: 1, inflight: 0, done: 0, failed: 0});
		});

		test('requests enqueued by a commit are deduped against the frontier and each other', async (t) => {
			const {store, runId} = await setup(t);
			const [a] = await leased(store, runId, 'a', 'b');
			await store.commit(runId, [done(a!.id, [], [request('a'), request('b'), request('c'), request('c'), request('d')])]);
			assert.deepEqual(await store.counts(runId), {pending: 2, inflight: 1, done: 1, failed: 0});
			assert.equal(await store.addRequests(runId, [request('c'), request('d'), request('e')]), 1);
			assert.deepEqual(keys(await store.lease(runId, 10, 0)), ['c', 'd', 'e']);
		});

		test('lease returns the stored fields of each request', async (t) => {
			const {store, runId} = await setup(t);
			await store.addRequests(runId, [
				request('full', {
					url: 'http://shop.example.com:8080/books?page=2',
					method: 'POST',
					label: 'list',
					userData: {category: 'books', nested: {n: 1}},
					headers: {'x-token': 't'},
					depth: 3,
				}),
				request('plain', {url: 'https://example.com/plain'}),
			]);
			const [full, plain] = await store.lease(runId, 2, 0);
			assert.deepEqual(full, {
				id: full!.id,
				runId,
				url: 'http://shop.example.com:8080/books?page=2',
				uniqueKey: 'full',
				method: 'POST',
				label: 'list',
				userData: {category: 'books', nested: {n: 1}},
				headers: {'x-token': 't'},
				depth: 3,
				retryCount: 0,
				reloginCount: 0,
				rateLimitCount: 0,
				host: 'shop.example.com:8080',
			});
			assert.equal(plain!.method, 'GET');
			assert.equal(plain!.label, undefined);
			assert.deepEqual(plain!.userData, {});
			assert.equal(plain!.headers, undefined);
			assert.equal(plain!.host, 'example.com');
		});

		test('lease honours limit and retryAt, oldest due first, and never hands out an in-flight request twice', async (t) => {
			const {store, runId} = await setup(t);
			const [a, b, c, d, e] = await leased(store, runId, 'a', 'b', 'c', 'd', 'e');
			assert.deepEqual(await store.lease(runId, 10, 10_000), []);
			await store.commit(runId, [
				retry(a!.id, 500),
				retry(b!.id, 100),
				{kind: 'release', requestId: c!.id, retryAt: 300},
				done(d!.id),
				retry(e!.id, 100),
			]);
			assert.equal(await store.nextDueAt(runId), 100);
			assert.deepEqual(await store.lease(runId, 10, 99), []);
			assert.deepEqual(keys(await store.lease(runId, 10, 100)), ['b', 'e']);
			assert.equal(await store.nextDueAt(runId), 300);
			// New requests are due at once, so they come before older ones that wait for retryAt.
			await store.addRequests(runId, [request('f')]);
			assert.equal(await store.nextDueAt(runId), 0);
			assert.deepEqual(keys(await store.lease(runId, 2, 1000)), ['f', 'c']);
			assert.deepEqual(keys(await store.lease(runId, 2, 1000)), ['a']);
			assert.deepEqual(await store.lease(runId, 2, 1000), []);
			assert.equal(await store.nextDueAt(runId), undefined);
			assert.deepEqual(await store.lease(runId, 0, 1000), []);
			assert.deepEqual(await store.counts(runId), {pending: 0, inflight: 5, done: 1, failed: 0});
		});

		test('retry keeps the counters it is given; release leaves them untouched', async (t) => {
			const {store, runId} = await setup(t);
			const [a, b] = await leased(store, runId, 'a', 'b');
			await store.commit(runId, [
				{kind: 'retry', requestId: a!.id, retryAt: 0, retryCount: 2, reloginCount: 1, rateLimitCount: 4, error: undefined},
			]);
			const [again] = await store.lease(runId, 1, 0);
			assert.deepEqual([again!.retryCount, again!.reloginCount, again!.rateLimitCount], [2, 1, 4]);
			await store.commit(runId, [
				{kind: 'release', requestId: again!.id, retryAt: 0},
				{kind: 'release', requestId: b!.id, retryAt: 0},
			]);
			const released = await store.lease(runId, 2, 0);
			assert.deepEqual(
				released.map((stored) => [stored.uniqueKey, stored.retryCount, stored.reloginCount, stored.rateLimitCount]),
				[
					['a', 2, 1, 4],
					['b', 0, 0, 0],
				],
			);
		});

		test('commit writes a done request, its items and its enqueued requests together', async (t) => {
			const {store, runId} = await setup(t);
			const [a] = await leased(store, runId, 'a');
			await store.commit(runId, [done(a!.id, [{title: 'A'}, {title: 'B'}], [request('b', {depth: 1}), request('c', {depth: 1})])]);
			assert.deepEqual(await store.counts(runId), {pending: 2, inflight: 0, done: 1, failed: 0});
			assert.equal(await store.itemCount(runId), 2);
			assert.deepEqual(await collect(store.items(runId)), [{title: 'A'}, {title: 'B'}]);
			const next = await store.lease(runId, 10, 0);
			assert.deepEqual(
				next.map((stored) => [stored.uniqueKey, stored.depth]),
				[
					['b', 1],
					['c', 1],
				],
			);
		});

		test('commit with itemsJson (items serialized by the runner) stores the same items', async (t) => {
			const {store, runId} = await setup(t);
			const [a] = await leased(store, runId, 'a');
			const items = [{title: 'A', tags: ['x']}, 'plain', 3];
			const itemsJson = items.map((item) => JSON.stringify(item));
			await store.commit(runId, [{kind: 'done', requestId: a!.id, items, itemsJson, enqueued: [], status: 200}]);
			assert.deepEqual(await collect(store.items(runId)), items);
		});

		test('commit rejects an item that is not JSON-serializable and writes nothing of the batch', async (t) => {
			const {store, runId} = await setup(t);
			const [a, b] = await leased(store, runId, 'a', 'b');
			assert.deepEqual(await store.counts(runId), {pending: 0, inflight: 2, done: 0, failed: 0});
			for (const bad of [10n, undefined, () => 1]) {
				await assert.rejects(
					store.commit(runId, [done(a!.id, [{ok: true}], [request('x')]), done(b!.id, [{ok: true}, {bad}, bad])]),
					(error: unknown) => error instanceof CrawljarError && error.code === 'ERR_STORAGE',
				);
			}
			assert.deepEqual(await store.counts(runId), {pending: 0, inflight: 2, done: 0, failed: 0});
			assert.equal(await store.itemCount(runId), 0);
			// Both requests are still in flight and can be completed.
			await store.commit(runId, [done(a!.id, [1]), done(b!.id, [2])]);
			assert.deepEqual(await collect(store.items(runId)), [1, 2]);
		});

		test('a commit that fails inside the batch rolls the whole batch back', async (t) => {
			const {store, runId} = await setup(t);
			const [a, b] = await leased(store, runId, 'a', 'b');
			// A request without url or uniqueKey violates the schema only when it is written.
			const broken = {depth: 0} as unknown as NewRequest;
			assert.deepEqual(await store.counts(runId), {pending: 0, inflight: 2, done: 0, failed: 0});
			await assert.rejects(store.commit(runId, [done(a!.id, [{first: true}], [request('x')]), done(b!.id, [], [broken])]));
			assert.deepEqual(await store.counts(runId), {pending: 0, inflight: 2, done: 0, failed: 0});
			assert.equal(await store.itemCount(runId), 0);
			await store.commit(runId, [done(a!.id, [{first: true}], [request('x')])]);
			assert.deepEqual(await store.counts(runId), {pending: 1, inflight: 1, done: 1, failed: 0});
		});

		test('a completion for a request that is not in flight is ignored, items included', async (t) => {
			const {store, runId} = await setup(t);
			const [a, b] = await leased(store, runId, 'a', 'b');
			await store.commit(runId, [done(a!.id, ['first'], [request('x')]), done(a!.id, ['twice in a batch'], [request('y')])]);
			await store.commit(runId, [done(a!.id, ['again'], [request('z')])]);
			await store.commit(runId, [retry(a!.id, 0), {kind: 'failed', requestId: a!.id, retryCount: 9, status: 500, errorCode: 'ERR_HTTP_STATUS', error: 'x'}]);
			await store.commit(runId, [{kind: 'release', requestId: a!.id, retryAt: 0}]);
			// A pending request (leased, then released) and an unknown id are not in flight either.
			const [x] = await store.lease(runId, 1, 0);
			assert.equal(x!.uniqueKey, 'x');
			await store.commit(runId, [{kind: 'release', requestId: x!.id, retryAt: 0}]);
			await store.commit(runId, [done(x!.id, ['pending']), done(999_999, ['ghost'])]);
			// A request of another run cannot be completed through this one.
			const other = await store.createRun(2000);
			await store.commit(other.id, [done(b!.id, ['wrong run'])]);

			assert.deepEqual(await collect(store.items(runId)), ['first']);
			assert.equal(await store.itemCount(other.id), 0);
			assert.deepEqual(await store.counts(runId), {pending: 1, inflight: 1, done: 1, failed: 0});
			assert.deepEqual(keys(await store.lease(runId, 10, 0)), ['x']);
		});

		test('failed completions are listed by failedRequests and requeueFailed resets them', async (t) => {
			const {store, runId} = await setup(t);
			const [a, b, c] = await leased(store, runId, 'a', 'b', 'c');
			await store.addRequests(runId, [request('d', {label: 'detail'})]);
			const [d] = await store.lease(runId, 1, 0);
			await store.commit(runId, [
				{kind: 'failed', requestId: a!.id, retryCount: 3, status: 503, errorCode: 'ERR_HTTP_STATUS', error: 'Status 503'},
				{kind: 'failed', requestId: d!.id, retryCount: 0, status: undefined, errorCode: 'ERR_HANDLER', error: 'no title'},
				{kind: 'retry', requestId: b!.id, retryAt: 0, retryCount: 1, reloginCount: 2, rateLimitCount: 3, error: 'x'},
				done(c!.id),
			]);
			assert.deepEqual(await store.failedRequests(runId, 10), [
				{id: a!.id, url: 'https://example.com/a', label: undefined, status: 503, errorCode: 'ERR_HTTP_STATUS', error: 'Status 503', retryCount: 3},
				{id: d!.id, url: 'https://example.com/d', label: 'detail', status: undefined, errorCode: 'ERR_HANDLER', error: 'no title', retryCount: 0},
			]);
			assert.deepEqual(
				(await store.failedRequests(runId, 1)).map((failed) => failed.id),
				[a!.id],
			);
			assert.deepEqual(await store.counts(runId), {pending: 1, inflight: 0, done: 1, failed: 2});

			assert.equal(await store.requeueFailed(runId), 2);
			assert.deepEqual(await store.failedRequests(runId, 10), []);
			assert.deepEqual(await store.counts(runId), {pending: 3, inflight: 0, done: 1, failed: 0});
			const requeued = await store.lease(runId, 10, 0);
			assert.deepEqual(
				requeued.map((stored) => [stored.uniqueKey, stored.retryCount, stored.reloginCount, stored.rateLimitCount]),
				[
					['a', 0, 0, 0],
					['b', 1, 2, 3],
					['d', 0, 0, 0],
				],
			);
			assert.equal(await store.requeueFailed(runId), 0);
		});

		test('items streams a run in commit order, across pages, while the store keeps working', async (t) => {
			const {store, runId} = await setup(t);
			const other = await store.createRun(2000);
			const total = 2500;
			await store.addRequests(
				runId,
				Array.from({length: 25}, (_, index) => request(`r${index}`)),
			);
			await store.addRequests(other.id, [request('o')]);
			const [o] = await store.lease(other.id, 1, 0);
			let next = 0;
			for (const leasedRequest of await store.lease(runId, 25, 0)) {
				const items = Array.from({length: total / 25}, () => ({n: next++}));
				await store.commit(runId, [done(leasedRequest.id, items)]);
			}
			await store.commit(other.id, [done(o!.id, ['other', null, 3, [1], 'x'])]);
			assert.equal(await store.itemCount(runId), total);
			assert.deepEqual(await collect(store.items(other.id)), ['other', null, 3, [1], 'x']);

			let expected = 0;
			for await (const item of store.items(runId)) {
				assert.deepEqual(item, {n: expected});
				expected++;
				// Writing between two items must work: the stream must not hold the connection.
				if (expected === 1500) await store.setMeta('progress', String(expected));
			}
			assert.equal(expected, total);
			assert.equal(await store.getMeta('progress'), '1500');
			assert.deepEqual(await collect(store.items(999_999)), []);
			assert.equal(await store.itemCount(999_999), 0);
		});

		test('sessions: save upserts by id, load returns all, delete one or all', async (t) => {
			const store = await open();
			t.after(() => store.close());
			const session = (id: string, state: string, updatedAt: number): StoredSession => ({
				id,
				account: `user-${id}`,
				state,
				meta: {cookies: [{name: 'sid', expires: 123}]},
				secret: `enc:${id}:${state}`,
				updatedAt,
			});
			assert.deepEqual(await store.loadSessions(), []);
			await store.saveSession(session('s1', 'new', 1));
			await store.saveSession(session('s2', 'new', 2));
			await store.saveSession(session('s3', 'new', 3));
			await store.saveSession(session('s1', 'healthy', 10));
			const loaded = (await store.loadSessions()).sort((x, y) => x.id.localeCompare(y.id));
			// Every write bumps the row's version: s1 was written twice.
			assert.deepEqual(loaded, [
				{...session('s1', 'healthy', 10), version: 2},
				{...session('s2', 'new', 2), version: 1},
				{...session('s3', 'new', 3), version: 1},
			]);

			assert.equal(await store.deleteSessions('s2'), 1);
			assert.equal(await store.deleteSessions('s2'), 0);
			assert.deepEqual(
				(await store.loadSessions()).map((stored) => stored.id).sort(),
				['s1', 's3'],
			);
			assert.equal(await store.deleteSessions(), 2);
			assert.deepEqual(await store.loadSessions(), []);
			assert.equal(await store.deleteSessions(), 0);
		});

		test('meta: getMeta and setMeta upsert', async (t) => {
			const store = await open();
			t.after(() => store.close());
			assert.equal(await store.getMeta('cooldown:example.com'), undefined);
			await store.setMeta('cooldown:example.com', '1000');
			await store.setMeta('schedule:last', '');
			await store.setMeta('cooldown:example.com', '2000');
			assert.equal(await store.getMeta('cooldown:example.com'), '2000');
			assert.equal(await store.getMeta('schedule:last'), '');
		});

		test('meta: compareAndSetMeta sets only over the expected value (absent: undefined); one of two racing claims wins', async (t) => {
			const store = await open();
			t.after(() => store.close());
			assert.equal(await store.compareAndSetMeta('lock', 'someone', 'me'), false, 'absent is not a value');
			assert.equal(await store.getMeta('lock'), undefined);
			assert.equal(await store.compareAndSetMeta('lock', undefined, 'a'), true);
			assert.equal(await store.compareAndSetMeta('lock', undefined, 'b'), false, 'present is not absent');
			assert.equal(await store.getMeta('lock'), 'a');
			assert.equal(await store.compareAndSetMeta('lock', 'x', 'b'), false);
			assert.equal(await store.getMeta('lock'), 'a');
			assert.equal(await store.compareAndSetMeta('lock', 'a', ''), true);
			assert.equal(await store.getMeta('lock'), '');
			// Two claims over the same observed value, started together: exactly one wins.
			const claims = await Promise.all([store.compareAndSetMeta('lock', '', 'first'), store.compareAndSetMeta('lock', '', 'second')]);
			assert.deepEqual(claims.filter(Boolean), [true]);
			assert.equal(await store.getMeta('lock'), claims[0] ? 'first' : 'second');
		});

		crashContract(setup, leased);
		leaseContract(setup);
		workerContract(open);
		const {openPair} = options;
		if (openPair) {
			twoHandleContract(openPair);
			workerPairContract(openPair);
		}
		if (openPair) twoHandleContract(openPair);
		sessionContract(open, openPair);
		shareContract(open, openPair);
		hostContract(open, openPair);

		test('close is idempotent', async () => {
			const store = await open();
			await store.createRun(1);
			await store.close();
			await store.close();
		});
	});
}
