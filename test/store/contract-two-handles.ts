// The Store contract with two handles on one database (two workers): concurrent dedupe, lease
// exclusivity, and fencing of a stale lease. Run by storeContract when the engine gives `openPair`.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import type {TestContext} from 'node:test';
import type {Store, StoredRequest} from '../../src/store/store.js';
import {collect, done, keys, request} from './contract-helpers.js';

export /** Two handles on one database, used at the same time, as two workers use them. */
function twoHandleContract(openPair: () => Promise<readonly [Store, Store]>): void {
	test('two handles: a stale lease\'s commit is refused after the other reclaims and re-leases it', async (t) => {
		const [first, second] = await openPair();
		t.after(async () => {
			await first.close();
			await second.close();
		});
		const run = await first.createRun(1000);
		await first.addRequests(run.id, Array.from({length: 30}, (_, index) => request(`p-${index}`)));
		const stale = await first.leaseAs(run.id, 30, 0, {owner: 'paused', expiresAt: 10_000});
		assert.equal(await second.reclaimExpired(run.id, 10_000), 30);
		const taken = await second.leaseAs(run.id, 30, 10_000, {owner: 'live', expiresAt: 40_000});
		assert.deepEqual(keys(taken), keys(stale));
		// Both complete at once: only the live owner's completions are written.
		const [late, live] = await Promise.all([
			first.commitAs(run.id, 'paused', stale.map((stored) => done(stored.id, ['stale'], [request('from-stale')]))),
			second.commitAs(run.id, 'live', taken.map((stored) => done(stored.id, [stored.uniqueKey]))),
		]);
		assert.deepEqual([late.applied, late.refused.length, live.applied, live.refused.length], [0, 30, 30, 0]);
		assert.deepEqual((await collect(first.items(run.id))).sort(), keys(taken).sort());
		assert.deepEqual(await first.lease(run.id, 10, 0), [], 'the refused completions enqueued nothing');
	});

	async function pair(t: TestContext): Promise<{first: Store; second: Store}> {
		const [first, second] = await openPair();
		t.after(async () => {
			await first.close();
			await second.close();
		});
		return {first, second};
	}

	test('two handles: a run created by one is seen by the other', async (t) => {
		const {first, second} = await pair(t);
		const run = await first.createRun(1000);
		assert.equal((await second.latestRun())?.id, run.id);
		await second.addRequests(run.id, [request('a')]);
		assert.deepEqual(keys(await first.lease(run.id, 10, 0)), ['a']);
		await second.setMeta('k', 'v');
		assert.equal(await first.getMeta('k'), 'v');
	});

	test('two handles adding the same links at once store each link once', async (t) => {
		const {first, second} = await pair(t);
		const run = await first.createRun(1000);
		const links = Array.from({length: 300}, (_, index) => request(`link-${index}`));
		const reversed = [...links].reverse();
		// Batches overlapping in opposite orders, all at once: each key is new to exactly one call.
		const batches = [links.slice(0, 200), reversed.slice(0, 200), links.slice(100), reversed.slice(50, 250)];
		const added = await Promise.all(batches.map((batch, index) => (index % 2 === 0 ? first : second).addRequests(run.id, batch)));
		assert.equal(added.reduce((sum, n) => sum + n, 0), 300);
		const leased = [...(await first.lease(run.id, 1000, 0))];
		assert.equal(new Set(keys(leased)).size, 300);
		assert.equal(leased.length, 300);
	});

	test('two handles enqueueing the same links in concurrent commits store each link once', async (t) => {
		const {first, second} = await pair(t);
		const run = await first.createRun(1000);
		await first.addRequests(run.id, Array.from({length: 20}, (_, index) => request(`page-${index}`)));
		const pages = await first.lease(run.id, 20, 0);
		const links = Array.from({length: 50}, (_, index) => request(`shared-${index}`));
		await Promise.all(
			pages.map((page, index) =>
				(index % 2 === 0 ? first : second).commit(run.id, [done(page.id, [{page: page.uniqueKey}], index % 2 === 0 ? links : [...links].reverse())]),
			),
		);
		assert.equal(await second.itemCount(run.id), 20);
		const leased = await second.lease(run.id, 1000, 0);
		assert.deepEqual(new Set(keys(leased)), new Set(links.map((link) => link.uniqueKey)));
		assert.equal(leased.length, 50);
	});

	test('two handles leasing at once never get the same request', async (t) => {
		const {first, second} = await pair(t);
		const run = await first.createRun(1000);
		const total = 400;
		await first.addRequests(run.id, Array.from({length: total}, (_, index) => request(`r-${index}`)));
		const drain = async (store: Store): Promise<StoredRequest[]> => {
			const got: StoredRequest[] = [];
			for (;;) {
				const batch = await store.lease(run.id, 7, 0);
				if (batch.length === 0) return got;
				got.push(...batch);
			}
		};
		// Two concurrent lease loops per handle.
		const handles = [first, second, first, second];
		const results = await Promise.all(handles.map(drain));
		const all = results.flat();
		assert.equal(all.length, total);
		assert.equal(new Set(all.map((stored) => stored.id)).size, total);
		// Each loop completes what it leased: every completion applies once, none is lost.
		await Promise.all(results.map((got, index) => handles[index]!.commit(run.id, got.map((stored) => done(stored.id, [stored.uniqueKey])))));
		assert.equal(await first.itemCount(run.id), total);
		// A late second completion through the other handle writes nothing.
		await second.commit(run.id, results[0]!.slice(0, 5).map((stored) => done(stored.id, ['again'])));
		assert.equal(await second.itemCount(run.id), total);
	});

	test('two handles: of racing compareAndSetMeta claims over one expected value, exactly one wins', async (t) => {
		const {first, second} = await pair(t);
		for (const [round, expected] of [[0, undefined], [1, 'round-0']] as const) {
			const claims = await Promise.all(
				[first, second, first, second].map((store, index) => store.compareAndSetMeta('lock', expected, `round-${round}:${index}`)),
			);
			assert.equal(claims.filter(Boolean).length, 1, `round ${round}`);
			const winner = claims.indexOf(true);
			assert.equal(await second.getMeta('lock'), `round-${round}:${winner}`);
			await first.setMeta('lock', `round-${round}`);
		}
	});

	test('two handles leasing at once after a resume: the suspects still go one at a time, alone', async (t) => {
		const {first, second} = await pair(t);
		const run = await first.createRun(1000);
		await first.addRequests(run.id, Array.from({length: 6}, (_, index) => request(`s-${index}`)));
		assert.equal((await first.lease(run.id, 6, 0)).length, 6);
		assert.deepEqual(await second.releaseInflight(run.id), {released: 6, crashed: 0});
		await first.addRequests(run.id, [request('ordinary')]);
		for (let round = 0; round < 6; round++) {
			// Four leases at once, two per handle, owned or not: exactly one request between them.
			const batches = await Promise.all([
				first.lease(run.id, 10, 0),
				second.leaseAs(run.id, 10, 0, {owner: 'w2', expiresAt: 9000}),
				first.leaseAs(run.id, 10, 0, {owner: 'w1', expiresAt: 9000}),
				second.lease(run.id, 10, 0),
			]);
			const got = batches.flat();
			assert.deepEqual(keys(got), [`s-${round}`], `round ${round}`);
			await first.commit(run.id, [done(got[0]!.id)]);
		}
		assert.deepEqual(keys(await second.lease(run.id, 10, 0)), ['ordinary']);
	});
}
