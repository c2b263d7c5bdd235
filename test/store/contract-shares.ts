// The Store contract for shares of crawl-wide limits (Store.claimShares): one handle, and two
// handles on one database (two workers). Run by storeContract.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import type {TestContext} from 'node:test';
import {CrawljarError} from '../../src/errors.js';
import {fairShare} from '../../src/policy/fair-share.js';
import type {ShareGrant, Store} from '../../src/store/store.js';

/** Granted amounts only, in the order of the claims. */
function granted(grants: readonly ShareGrant[]): number[] {
	return grants.map((grant) => grant.granted);
}

export function shareContract(open: () => Promise<Store>, openPair: (() => Promise<readonly [Store, Store]>) | undefined): void {
	async function fresh(t: TestContext): Promise<Store> {
		const store = await open();
		t.after(() => store.close());
		return store;
	}

	test('claimShares: a lone claimant gets what it wants up to the limit, many keys in one call, in the order given', async (t) => {
		const store = await fresh(t);
		const grants = await store.claimShares(
			[
				{key: 'host:b', wanted: 9, limit: 4},
				{key: 'host:a', wanted: 2, limit: 4},
				{key: 'session:s1', wanted: 0, limit: 1},
			],
			'w1',
			1000,
			6000,
		);
		assert.deepEqual(grants, [
			{key: 'host:b', granted: 4, claimants: 1, rank: 0},
			{key: 'host:a', granted: 2, claimants: 1, rank: 0},
			{key: 'session:s1', granted: 0, claimants: 1, rank: 0},
		]);
		// Claiming again replaces the owner's own share, it does not add to it.
		assert.deepEqual(granted(await store.claimShares([{key: 'host:b', wanted: 4, limit: 4}], 'w1', 2000, 7000)), [4]);
		assert.deepEqual(await store.claimShares([], 'w1', 2000, 7000), []);
	});

	test('claimShares: a newcomer is granted only what the others leave, is counted at once, and the holder can give way', async (t) => {
		const store = await fresh(t);
		const claim = (owner: string, wanted: number, now = 1000) => store.claimShares([{key: 'host:x', wanted, limit: 4}], owner, now, now + 5000);
		assert.deepEqual(await claim('w-b', 4), [{key: 'host:x', granted: 4, claimants: 1, rank: 0}]);
		// The newcomer gets nothing yet, but its demand is recorded: the holder sees two claimants.
		assert.deepEqual(await claim('w-a', 4), [{key: 'host:x', granted: 0, claimants: 2, rank: 0}]);
		assert.deepEqual(await claim('w-b', 2, 2000), [{key: 'host:x', granted: 2, claimants: 2, rank: 1}]);
		assert.deepEqual(await claim('w-a', 2, 2000), [{key: 'host:x', granted: 2, claimants: 2, rank: 0}]);
		// A third newcomer finds nothing left; the share it is refused still counts it.
		assert.deepEqual(await claim('w-c', 2, 2000), [{key: 'host:x', granted: 0, claimants: 3, rank: 2}]);
	});

	test('claimShares: expired shares count for nothing; releaseShares frees what an owner held', async (t) => {
		const store = await fresh(t);
		await store.claimShares([{key: 'k1', wanted: 3, limit: 3}, {key: 'k2', wanted: 3, limit: 3}], 'gone', 1000, 5000);
		assert.deepEqual(granted(await store.claimShares([{key: 'k1', wanted: 3, limit: 3}], 'other', 4999, 9000)), [0]);
		// At its expiry the share is free, and its owner is no longer a claimant.
		assert.deepEqual(await store.claimShares([{key: 'k1', wanted: 3, limit: 3}], 'other', 5000, 9000), [{key: 'k1', granted: 3, claimants: 1, rank: 0}]);
		await store.claimShares([{key: 'k2', wanted: 3, limit: 3}], 'leaving', 1000, 9000);
		assert.equal(await store.releaseShares('gone'), 1);
		assert.equal(await store.releaseShares('gone'), 0);
		assert.deepEqual(granted(await store.claimShares([{key: 'k2', wanted: 3, limit: 3}], 'leaving', 1001, 9000)), [3]);
	});

	test('claimShares: a bad claim is refused with ERR_USAGE naming the field, and nothing is recorded', async (t) => {
		const store = await fresh(t);
		for (const [claim, field] of [
			[{key: '', wanted: 1, limit: 1}, 'claims[1].key'],
			[{key: 'k', wanted: -1, limit: 1}, 'claims[1].wanted'],
			[{key: 'k', wanted: 1, limit: Infinity}, 'claims[1].limit'],
			[{key: 'k', wanted: 1.5, limit: 2}, 'claims[1].wanted'],
		] as const) {
			await assert.rejects(
				store.claimShares([{key: 'fine', wanted: 1, limit: 1}, claim], 'w1', 1000, 2000),
				(error: unknown) => error instanceof CrawljarError && error.code === 'ERR_USAGE' && error.message.includes(field),
			);
		}
		assert.deepEqual(granted(await store.claimShares([{key: 'fine', wanted: 1, limit: 1}], 'w2', 1000, 2000)), [1]);
	});

	if (!openPair) return;

	async function pair(t: TestContext): Promise<readonly [Store, Store]> {
		const handles = await openPair!();
		t.after(async () => {
			await handles[0].close();
			await handles[1].close();
		});
		return handles;
	}

	test('two handles: racing claims are never granted more than the limit in total', async (t) => {
		const [first, second] = await pair(t);
		const owners = ['w0', 'w1', 'w2', 'w3', 'w4', 'w5'];
		const limit = 5;
		for (let round = 0; round < 8; round++) {
			const now = 1000 + round;
			// Every owner claims both keys at once (in opposite orders on the two handles), wanting it all.
			const grants = await Promise.all(
				owners.map((owner, index) => {
					const keys = index % 2 === 0 ? ['host:p', 'host:q'] : ['host:q', 'host:p'];
					return (index % 2 === 0 ? first : second).claimShares(keys.map((key) => ({key, wanted: limit, limit})), owner, now, now + 100);
				}),
			);
			for (const key of ['host:p', 'host:q']) {
				const total = grants.flat().filter((grant) => grant.key === key).reduce((sum, grant) => sum + grant.granted, 0);
				assert.ok(total <= limit, `round ${round}, ${key}: granted ${total} of ${limit}`);
				// Each owner kept what it had, so the limit stays fully given out.
				assert.equal(total, round === 0 ? limit : total);
			}
			for (const grant of grants.flat()) assert.ok(grant.claimants <= owners.length && grant.claimants >= 1);
		}
	});

	test('two handles: one round of fair claims (limit ÷ claimants) after every claimant has seen the others gives each its part', async (t) => {
		const [first, second] = await pair(t);
		const limit = 7;
		const handleOf: Record<string, Store> = {old: first, 'new-1': second, 'new-2': first};
		const seen = new Map<string, ShareGrant>();
		let now = 1000;
		const claim = async (owner: string, wanted: number) => {
			const [grant] = await handleOf[owner]!.claimShares([{key: 'host:fair', wanted, limit}], owner, now++, now + 5000);
			seen.set(owner, grant!);
			return grant!;
		};
		/** Each owner claims, in order, the fair part of what it saw at its last claim. */
		const round = async (owners: readonly string[]) => {
			const grants: number[] = [];
			for (const owner of owners) {
				const last = seen.get(owner)!;
				grants.push((await claim(owner, fairShare(limit, last.claimants, last.rank))).granted);
			}
			return grants;
		};
		assert.equal((await claim('old', limit)).granted, limit);
		assert.deepEqual([(await claim('new-1', limit)).granted, (await claim('new-2', limit)).granted], [0, 0]);
		// The holder learns of the newcomers at its next claim: it still holds all of it then.
		assert.deepEqual(await round(['old', 'new-1', 'new-2']), [7, 0, 0]);
		assert.deepEqual([...seen.values()].map((grant) => grant.claimants), [3, 3, 3]);
		// One round later every worker holds its fair part, and the parts use the whole limit.
		assert.deepEqual(await round(['old', 'new-1', 'new-2']), [2, 3, 2]);
		assert.deepEqual(await round(['new-2', 'old', 'new-1']), [2, 2, 3], 'stable in any order');
	});

	test('two handles: a share expired on one handle is free on the other', async (t) => {
		const [first, second] = await pair(t);
		await first.claimShares([{key: 'h', wanted: 2, limit: 2}], 'dead', 1000, 3000);
		assert.deepEqual(granted(await second.claimShares([{key: 'h', wanted: 2, limit: 2}], 'live', 2999, 8000)), [0]);
		assert.deepEqual(await second.claimShares([{key: 'h', wanted: 2, limit: 2}], 'live', 3000, 8000), [{key: 'h', granted: 2, claimants: 1, rank: 0}]);
		assert.deepEqual(granted(await first.claimShares([{key: 'h', wanted: 2, limit: 2}], 'dead', 3001, 8000)), [0]);
	});
}
