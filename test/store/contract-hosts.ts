// The Store contract for host state shared by the crawl (Store.updateHosts, Store.hosts) and the
// lease skipping hosts that cool down. Run by storeContract.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import type {TestContext} from 'node:test';
import type {Store} from '../../src/store/store.js';
import {done, keys, request} from './contract-helpers.js';

/** A request for `host` (the frontier stores each request's host, from its URL). */
function at(host: string, key: string) {
	return request(key, {url: `https://${host}/${key}`});
}

export function hostContract(open: () => Promise<Store>, openPair: (() => Promise<readonly [Store, Store]>) | undefined): void {
	async function fresh(t: TestContext): Promise<Store> {
		const store = await open();
		t.after(() => store.close());
		return store;
	}

	test('updateHosts: a cooldown only extends, a rate replaces only one set earlier, a batch merges per host', async (t) => {
		const store = await fresh(t);
		assert.deepEqual(await store.hosts(), []);
		await store.updateHosts([
			{host: 'b.test', cooldownUntil: 5000},
			{host: 'a.test', rate: {rate: 2, ceiling: 4, setAt: 100}},
			{host: 'b.test', cooldownUntil: 3000, rate: {rate: 1, ceiling: 2, setAt: 50}},
		]);
		assert.deepEqual(await store.hosts(), [
			{host: 'a.test', cooldownUntil: 0, rate: 2, ceiling: 4, rateSetAt: 100},
			{host: 'b.test', cooldownUntil: 5000, rate: 1, ceiling: 2, rateSetAt: 50},
		]);
		await store.updateHosts([
			{host: 'b.test', cooldownUntil: 4000},
			{host: 'a.test', cooldownUntil: 7000, rate: {rate: 9, ceiling: 9, setAt: 99}},
		]);
		await store.updateHosts([{host: 'b.test', rate: {rate: undefined, ceiling: undefined, setAt: 60}}]);
		assert.deepEqual(await store.hosts(), [
			{host: 'a.test', cooldownUntil: 7000, rate: 2, ceiling: 4, rateSetAt: 100},
			{host: 'b.test', cooldownUntil: 5000, rate: undefined, ceiling: undefined, rateSetAt: 60},
		]);
		await store.updateHosts([]);
	});

	test('lease and leaseAs pass over the ordinary requests of skipHosts, never a suspect', async (t) => {
		const store = await fresh(t);
		const run = await store.createRun(1000);
		await store.addRequests(run.id, [at('busy.test', 'b1'), at('busy.test', 'b2'), at('free.test', 'f1'), at('busy.test:81', 'port'), at('free.test', 'f2')]);
		assert.deepEqual(keys(await store.lease(run.id, 2, 1000, ['busy.test'])), ['f1', 'port'], 'another port is another host');
		assert.deepEqual(keys(await store.leaseAs(run.id, 10, 1000, {owner: 'w', expiresAt: 9000}, ['busy.test', 'free.test'])), []);
		assert.deepEqual(keys(await store.leaseAs(run.id, 10, 1000, {owner: 'w', expiresAt: 9000}, [])), ['b1', 'b2', 'f2']);
		// A suspect (found in flight by a resume) is leased first and alone, whatever the caller skips.
		assert.equal((await store.releaseInflight(run.id)).released, 5);
		assert.deepEqual(keys(await store.lease(run.id, 10, 1000, ['busy.test'])), ['b1']);
	});

	test('lease and leaseAs skip requests whose host cools down at their `now`, and nextDueAt(now) waits for the cooldown', async (t) => {
		const store = await fresh(t);
		const run = await store.createRun(1000);
		await store.addRequests(run.id, [at('slow.test', 's1'), at('fast.test', 'f1'), at('slow.test:8080', 'other-port'), at('slow.test', 's2')]);
		await store.updateHosts([{host: 'slow.test', cooldownUntil: 5000}]);
		assert.deepEqual(keys(await store.lease(run.id, 1, 1000)), ['f1']);
		assert.deepEqual(keys(await store.leaseAs(run.id, 10, 4999, {owner: 'w', expiresAt: 9000})), ['other-port']);
		assert.deepEqual(await store.lease(run.id, 10, 4999), []);
		assert.equal(await store.nextDueAt(run.id), 0, 'without now: the plain earliest retryAt');
		assert.equal(await store.nextDueAt(run.id, 4999), 5000, 'every pending request is cooling: due at the cooldown end');
		// At the end of the cooldown the host is leased again, oldest first.
		assert.deepEqual(keys(await store.lease(run.id, 10, 5000)), ['s1', 's2']);
		assert.equal(await store.nextDueAt(run.id, 5000), undefined, 'nothing pending: undefined, whatever cools down');
		await store.updateHosts([{host: 'fast.test', cooldownUntil: 99_000}]);
		assert.equal(await store.nextDueAt(run.id, 6000), undefined);
	});

	test('nextDueAt(now): the earlier of a request of a host not cooling and a cooldown end', async (t) => {
		const store = await fresh(t);
		const run = await store.createRun(1000);
		await store.addRequests(run.id, [at('a.test', 'a'), at('b.test', 'b')]);
		const [a, b] = await store.lease(run.id, 2, 0);
		await store.commit(run.id, [
			{kind: 'release', requestId: a!.id, retryAt: 8000},
			{kind: 'release', requestId: b!.id, retryAt: 3000},
		]);
		assert.equal(await store.nextDueAt(run.id, 1000), 3000);
		await store.updateHosts([{host: 'b.test', cooldownUntil: 6000}]);
		assert.equal(await store.nextDueAt(run.id, 1000), 6000);
		await store.updateHosts([{host: 'a.test', cooldownUntil: 9000}]);
		assert.equal(await store.nextDueAt(run.id, 1000), 6000);
		assert.deepEqual(await store.lease(run.id, 10, 5999), []);
		assert.deepEqual(keys(await store.lease(run.id, 10, 6000)), ['b']);
		await store.commit(run.id, [done(b!.id)]);
	});

	if (!openPair) return;

	test('two handles: a cooldown one handle writes keeps the other handle\'s leases off the host at once', async (t) => {
		const [first, second] = await openPair();
		t.after(async () => {
			await first.close();
			await second.close();
		});
		const run = await first.createRun(1000);
		await first.addRequests(run.id, Array.from({length: 20}, (_, index) => at(index % 2 === 0 ? 'limited.test' : 'open.test', `r${index}`)));
		await first.updateHosts([{host: 'limited.test', cooldownUntil: 10_000}]);
		const leased = await second.leaseAs(run.id, 20, 2000, {owner: 'w2', expiresAt: 20_000});
		assert.equal(leased.length, 10);
		assert.ok(leased.every((stored) => stored.host === 'open.test'));
		assert.deepEqual(await second.hosts(), await first.hosts());
		assert.equal((await second.leaseAs(run.id, 20, 10_000, {owner: 'w2', expiresAt: 20_000})).length, 10);
	});
}
