// The Store contract for workers (issue 10): start-or-join, heartbeat, leave, the release of
// dead owners' requests at a join, and "finished" decided by the store. Run by storeContract on
// every engine; the racing cases need two handles on one database (openPair).
import assert from 'node:assert/strict';
import {test} from 'node:test';
import type {TestContext} from 'node:test';
import {CrawljarError} from '../../src/errors.js';
import type {JoinRunOptions, Store, WorkerStats} from '../../src/store/store.js';
import {collect, done, keys, request} from './contract-helpers.js';

const LEASE_MS = 10_000;
const stats = (pagesDone = 0): WorkerStats => ({pagesDone, pagesPerSecond: pagesDone / 10, requests: pagesDone, items: pagesDone});

function joinAs(id: string, now: number, extra: Partial<JoinRunOptions> = {}): JoinRunOptions {
	return {worker: {id, host: 'test-host', pid: 1000 + id.length}, now, leaseMs: LEASE_MS, fresh: false, retryFailed: false, ...extra};
}

async function opened(t: TestContext, open: () => Promise<Store>): Promise<Store> {
	const store = await open();
	t.after(() => store.close());
	return store;
}

export function workerContract(open: () => Promise<Store>): void {
	test('joinRun starts a run and registers the worker; a second worker joins it; leaveRun names who is still live', async (t) => {
		const store = await opened(t, open);
		const first = await store.joinRun(joinAs('w1', 1000));
		assert.equal(first.created, true);
		assert.equal(first.run.state, 'running');
		assert.deepEqual(first.others, []);
		assert.deepEqual(first.released, {released: 0, crashed: 0});
		const second = await store.joinRun(joinAs('w2', 2000));
		assert.equal(second.created, false);
		assert.equal(second.run.id, first.run.id);
		assert.deepEqual(second.others.map((worker) => worker.id), ['w1']);
		assert.equal((await store.listRuns(10)).length, 1);

		await store.heartbeat(first.run.id, 'w1', 3000, 3000 + LEASE_MS, stats(5), []);
		const listed = await store.listWorkers(first.run.id);
		assert.deepEqual(
			listed.map((worker) => [worker.id, worker.host, worker.pid, worker.startedAt, worker.heartbeatAt, worker.expiresAt, worker.leftAt]),
			[
				['w1', 'test-host', 1002, 1000, 3000, 3000 + LEASE_MS, undefined],
				['w2', 'test-host', 1002, 2000, 2000, 2000 + LEASE_MS, undefined],
			],
		);
		assert.deepEqual(listed[0]!.stats, stats(5));
		assert.equal(listed[1]!.stats, undefined);

		assert.deepEqual((await store.leaveRun(first.run.id, 'w1', 4000, stats(6))).map((worker) => worker.id), ['w2']);
		assert.deepEqual(await store.leaveRun(first.run.id, 'w2', 4500, stats(1)), [], 'the last one to leave sees nobody live');
		const left = await store.listWorkers(first.run.id);
		assert.deepEqual(left.map((worker) => [worker.id, worker.leftAt, worker.stats?.pagesDone]), [['w1', 4000, 6], ['w2', 4500, 1]]);
		// A left worker's heartbeat (a late timer) does not bring it back.
		await store.heartbeat(first.run.id, 'w1', 5000, 5000 + LEASE_MS, stats(7), []);
		assert.equal((await store.listWorkers(first.run.id))[0]!.leftAt, 4000);
	});

	test('joinRun resumes an unfinished run, releasing requests of owners that are not live (a crash counted) and sparing live ones', async (t) => {
		const store = await opened(t, open);
		const {run} = await store.joinRun(joinAs('live', 1000));
		await store.joinRun(joinAs('expired', 1000));
		await store.joinRun(joinAs('gone', 1000));
		await store.addRequests(run.id, ['l1', 'l2', 'e1', 'g1', 'n1', 'n2'].map((key) => request(key)));
		const liveLeases = await store.leaseAs(run.id, 2, 0, {owner: 'live', expiresAt: 1000 + LEASE_MS});
		await store.leaseAs(run.id, 1, 0, {owner: 'expired', expiresAt: 1000 + LEASE_MS});
		await store.leaseAs(run.id, 1, 0, {owner: 'gone', expiresAt: 1000 + LEASE_MS});
		await store.lease(run.id, 2, 0); // no owner: a runner of an older crawljar
		// 'live' heartbeats, 'expired' does not; 'gone' is fresh but reported dead (pid gone).
		const now = 1000 + LEASE_MS + 1;
		// (before the others' leases expire: this heartbeat reclaims nothing)
		await store.heartbeat(run.id, 'live', now - 5000, now + LEASE_MS, stats(), liveLeases.map((stored) => stored.id));
		const joined = await store.joinRun(joinAs('new', now, {isGone: (worker) => worker.id === 'gone' || worker.id === 'live-not'}));
		assert.equal(joined.created, false);
		assert.equal(joined.run.id, run.id);
		assert.deepEqual(joined.others.map((worker) => worker.id), ['live']);
		assert.deepEqual(joined.released, {released: 4, crashed: 0});
		assert.deepEqual(await store.counts(run.id), {pending: 4, inflight: 2, done: 0, failed: 0});
		// The released requests are suspects (a crash counted): leased alone, one at a time.
		const [suspect] = await store.leaseAs(run.id, 10, now, {owner: 'new', expiresAt: now + LEASE_MS});
		assert.deepEqual(keys([suspect!]), ['e1']);
		assert.deepEqual(await store.leaseAs(run.id, 10, now, {owner: 'new', expiresAt: now + LEASE_MS}), []);
		// The live worker's leases still hold: its completions apply.
		const live = await store.commitAs(run.id, 'live', [done(1, ['l1'])]);
		assert.equal(live.applied, 1);
		// 'gone' is not live any more, for everyone.
		assert.deepEqual((await store.leaveRun(run.id, 'new', now + 1, stats())).map((worker) => worker.id), ['live']);
	});

	test('joinRun with fresh is refused while other workers are live (naming host and pid), and supersedes the run once they left', async (t) => {
		const store = await opened(t, open);
		const {run} = await store.joinRun(joinAs('w1', 1000));
		await assert.rejects(store.joinRun(joinAs('w2', 2000, {fresh: true})), (error: unknown) => {
			assert.ok(error instanceof CrawljarError);
			assert.equal(error.code, 'ERR_LOCKED');
			assert.match(error.message, /test-host pid 1002/);
			return true;
		});
		assert.equal((await store.listRuns(10)).length, 1, 'nothing was created');
		await store.leaveRun(run.id, 'w1', 2500, stats());
		const fresh = await store.joinRun(joinAs('w3', 3000, {fresh: true}));
		assert.equal(fresh.created, true);
		assert.notEqual(fresh.run.id, run.id);
		const runs = await store.listRuns(10);
		assert.deepEqual(runs.map((entry) => [entry.id, entry.state]), [[fresh.run.id, 'running'], [run.id, 'aborted']]);
		// An expired worker does not block --fresh either.
		const later = await store.joinRun(joinAs('w4', 3000 + 2 * LEASE_MS, {fresh: true}));
		assert.equal(later.created, true);
	});

	test('joinRun after a finished run starts a new one; with retryFailed it continues the finished run and queues its failures', async (t) => {
		const store = await opened(t, open);
		const {run} = await store.joinRun(joinAs('w1', 1000));
		await store.addRequests(run.id, [request('a'), request('b')]);
		const [a, b] = await store.leaseAs(run.id, 2, 0, {owner: 'w1', expiresAt: 1000 + LEASE_MS});
		await store.commitAs(run.id, 'w1', [done(a!.id), {kind: 'failed', requestId: b!.id, retryCount: 1, status: 500, errorCode: 'ERR_HTTP_STATUS', error: 'x'}]);
		assert.deepEqual(await store.tryFinishRun(run.id, 2000), {state: 'finished', byThisCall: true});
		await store.leaveRun(run.id, 'w1', 2000, stats());
		const again = await store.joinRun(joinAs('w2', 3000, {retryFailed: true}));
		assert.deepEqual([again.created, again.run.id, again.run.state, again.requeued], [false, run.id, 'running', 1]);
		assert.equal((await store.latestRun())?.state, 'running');
		await store.leaveRun(run.id, 'w2', 3500, stats());
		await store.setRunState(run.id, 'finished', 4000);
		const next = await store.joinRun(joinAs('w3', 5000));
		assert.equal(next.created, true);
		assert.notEqual(next.run.id, run.id);
	});

	test('heartbeat renews the leases the worker holds and reclaims other owners\' expired ones, never a held one', async (t) => {
		const store = await opened(t, open);
		const {run} = await store.joinRun(joinAs('w1', 0));
		await store.joinRun(joinAs('w2', 0));
		await store.addRequests(run.id, ['a', 'b', 'c'].map((key) => request(key)));
		const mine = await store.leaseAs(run.id, 2, 0, {owner: 'w1', expiresAt: 5000});
		await store.leaseAs(run.id, 1, 0, {owner: 'w2', expiresAt: 5000});
		// At 6000 both leases are expired: w1's heartbeat renews those it holds and reclaims w2's.
		const held = mine.map((stored) => stored.id);
		assert.deepEqual(await store.heartbeat(run.id, 'w1', 6000, 16_000, stats(2), held), {renewed: 2, reclaimed: 1});
		assert.deepEqual(await store.counts(run.id), {pending: 1, inflight: 2, done: 0, failed: 0});
		assert.equal(await store.reclaimExpired(run.id, 15_999), 0, 'renewed until 16000');
		const late = await store.commitAs(run.id, 'w2', [done(3, ['stale'])]);
		assert.equal(late.applied, 0);
		const fenced = await store.commitAs(run.id, 'w1', mine.map((stored) => done(stored.id, [stored.uniqueKey])));
		assert.equal(fenced.applied, 2);
		assert.deepEqual((await collect(store.items(run.id))).sort(), ['a', 'b']);
	});

	test('a lease the worker does not hold (its reply lost with the connection) is not renewed: once expired it is reclaimed, by the worker\'s own heartbeat too', async (t) => {
		const store = await opened(t, open);
		const {run} = await store.joinRun(joinAs('w1', 0));
		await store.addRequests(run.id, ['kept', 'lost'].map((key) => request(key)));
		const [kept] = await store.leaseAs(run.id, 1, 0, {owner: 'w1', expiresAt: 5000});
		await store.leaseAs(run.id, 1, 0, {owner: 'w1', expiresAt: 5000}); // the call whose reply never arrived
		// Before the lost one expires: only the held one is renewed, nothing is reclaimed.
		assert.deepEqual(await store.heartbeat(run.id, 'w1', 4000, 14_000, stats(), [kept!.id]), {renewed: 1, reclaimed: 0});
		assert.deepEqual(await store.counts(run.id), {pending: 0, inflight: 2, done: 0, failed: 0});
		// Past its expiry it goes back to the queue; the held one stays leased.
		assert.deepEqual(await store.heartbeat(run.id, 'w1', 6000, 16_000, stats(), [kept!.id]), {renewed: 1, reclaimed: 1});
		assert.deepEqual(await store.counts(run.id), {pending: 1, inflight: 1, done: 0, failed: 0});
		const [again] = await store.leaseAs(run.id, 5, 6000, {owner: 'w1', expiresAt: 16_000});
		assert.equal(again?.uniqueKey, 'lost');
		assert.equal((await store.commitAs(run.id, 'w1', [done(kept!.id, ['kept']), done(again.id, ['lost'])])).applied, 2);
		assert.deepEqual((await collect(store.items(run.id))).sort(), ['kept', 'lost']);
	});

	test('tryFinishRun: pending work, then a live lease, keep the run going; an expired lease goes back to pending; the end is set once', async (t) => {
		const store = await opened(t, open);
		const {run} = await store.joinRun(joinAs('w1', 0));
		await store.addRequests(run.id, [request('a'), request('b')]);
		assert.deepEqual(await store.tryFinishRun(run.id, 100), {state: 'pending'});
		const [a, b] = await store.leaseAs(run.id, 2, 100, {owner: 'w1', expiresAt: 5000});
		await store.commitAs(run.id, 'w1', [done(a!.id)]);
		assert.deepEqual(await store.tryFinishRun(run.id, 200), {state: 'leased'}, 'b is leased and its lease is live');
		assert.equal((await store.latestRun())?.state, 'running');
		// Past b's expiry its lease is reclaimed: pending again, not finished (b is not done).
		assert.deepEqual(await store.tryFinishRun(run.id, 5000), {state: 'pending'});
		assert.deepEqual(await store.counts(run.id), {pending: 1, inflight: 0, done: 1, failed: 0});
		assert.equal((await store.commitAs(run.id, 'w1', [done(b!.id)])).applied, 0, 'the reclaimed lease is fenced');
		const [again] = await store.leaseAs(run.id, 1, 5000, {owner: 'w1', expiresAt: 9000});
		await store.commitAs(run.id, 'w1', [done(again!.id)]);
		assert.deepEqual(await store.tryFinishRun(run.id, 6000), {state: 'finished', byThisCall: true});
		assert.deepEqual(await store.tryFinishRun(run.id, 6001), {state: 'finished', byThisCall: false});
		const latest = await store.latestRun();
		assert.deepEqual([latest?.state, latest?.finishedAt], ['finished', 6000]);
	});
}

export function workerPairContract(openPair: () => Promise<readonly [Store, Store]>): void {
	async function pair(t: TestContext): Promise<readonly [Store, Store]> {
		const stores = await openPair();
		t.after(async () => {
			for (const store of stores) await store.close();
		});
		return stores;
	}

	test('two handles: joins at once start exactly one run, and every worker is on it', async (t) => {
		const [first, second] = await pair(t);
		const joins = await Promise.all(Array.from({length: 6}, (_, index) => (index % 2 === 0 ? first : second).joinRun(joinAs(`w${index}`, 1000))));
		assert.equal(joins.filter((joined) => joined.created).length, 1);
		assert.equal(new Set(joins.map((joined) => joined.run.id)).size, 1);
		assert.equal((await first.listRuns(10)).length, 1);
		assert.equal((await second.listWorkers(joins[0]!.run.id)).length, 6);
		// Each joiner saw the ones before it: 0, 1, … 5 others in some order.
		assert.deepEqual(joins.map((joined) => joined.others.length).sort(), [0, 1, 2, 3, 4, 5]);
	});

	test('two handles: of workers racing to finish, exactly one wins; none finishes while the other holds a live lease', async (t) => {
		const [first, second] = await pair(t);
		const {run} = await first.joinRun(joinAs('w1', 0));
		await second.joinRun(joinAs('w2', 0));
		await first.addRequests(run.id, [request('a')]);
		const [a] = await second.leaseAs(run.id, 1, 0, {owner: 'w2', expiresAt: 10_000});
		assert.deepEqual(await first.tryFinishRun(run.id, 100), {state: 'leased'});
		await second.commitAs(run.id, 'w2', [done(a!.id, ['a'])]);
		const checks = await Promise.all([first.tryFinishRun(run.id, 200), second.tryFinishRun(run.id, 200), first.tryFinishRun(run.id, 200), second.tryFinishRun(run.id, 200)]);
		assert.ok(checks.every((check) => check.state === 'finished'));
		assert.equal(checks.filter((check) => check.state === 'finished' && check.byThisCall).length, 1);
	});

	test('two handles: leaving at once, exactly one of the workers is the last', async (t) => {
		const [first, second] = await pair(t);
		const {run} = await first.joinRun(joinAs('w1', 0));
		await second.joinRun(joinAs('w2', 0));
		const [fromFirst, fromSecond] = await Promise.all([first.leaveRun(run.id, 'w1', 10, stats()), second.leaveRun(run.id, 'w2', 10, stats())]);
		assert.equal([fromFirst, fromSecond].filter((others) => others.length === 0).length, 1);
	});
}
