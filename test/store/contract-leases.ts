// The Store contract for leases with an owner and an expiry (leaseAs, renewLeases, commitAs,
// reclaimExpired) on one handle. Run by storeContract on every engine.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import type {Setup} from './contract-crashes.js';
import {collect, done, keys, request, retry} from './contract-helpers.js';

export function leaseContract(setup: Setup): void {
	test('leaseAs: a fenced commit applies for the owner and is refused for anyone else, items and links included', async (t) => {
		const {store, runId} = await setup(t);
		await store.addRequests(runId, [request('a'), request('b'), request('c')]);
		const [a, b] = await store.leaseAs(runId, 2, 0, {owner: 'w1', expiresAt: 5000});
		assert.deepEqual([a!.uniqueKey, b!.uniqueKey], ['a', 'b']);
		const [c] = await store.lease(runId, 1, 0); // leased without an owner
		const refused = await store.commitAs(runId, 'w2', [done(a!.id, ['by w2'], [request('x')]), done(c!.id, ['unowned'])]);
		assert.deepEqual(refused, {applied: 0, refused: [a!.id, c!.id]});
		assert.equal(await store.itemCount(runId), 0);
		assert.equal(await store.addRequests(runId, [request('x')]), 1, 'the refused completion enqueued nothing');
		const applied = await store.commitAs(runId, 'w1', [done(a!.id, ['by w1'], [request('y')]), retry(b!.id, 0), done(a!.id, ['twice'])]);
		assert.deepEqual(applied, {applied: 2, refused: [a!.id]});
		assert.deepEqual(await collect(store.items(runId)), ['by w1']);
		assert.deepEqual(await store.commitAs(runId, 'w1', []), {applied: 0, refused: []});
		// The unfenced commit still completes what `lease` handed out.
		await store.commit(runId, [done(c!.id, ['plain'])]);
		assert.deepEqual(await collect(store.items(runId)), ['by w1', 'plain']);
		assert.deepEqual(await store.counts(runId), {pending: 3, inflight: 0, done: 2, failed: 0});
	});

	test('reclaimExpired takes back only expired leases; renewLeases moves an owner\'s expiry; the stale owner is fenced out', async (t) => {
		const {store, runId} = await setup(t);
		await store.addRequests(runId, [request('a'), request('b'), request('c'), request('d')]);
		const [a, b] = await store.leaseAs(runId, 2, 0, {owner: 'w1', expiresAt: 1000});
		const [c] = await store.leaseAs(runId, 1, 0, {owner: 'w2', expiresAt: 1000});
		await store.lease(runId, 1, 0); // d: no owner, never expires
		assert.equal(await store.reclaimExpired(runId, 999), 0);
		assert.equal(await store.renewLeases(runId, {owner: 'w2', expiresAt: 3000}), 1);
		assert.equal(await store.renewLeases(runId, {owner: 'nobody', expiresAt: 3000}), 0);
		assert.equal(await store.reclaimExpired(runId, 1000), 2, 'a and b: w1 did not renew');
		assert.deepEqual(await store.counts(runId), {pending: 2, inflight: 2, done: 0, failed: 0});
		assert.equal(await store.nextDueAt(runId), 0, 'reclaimed requests are due now');
		const again = await store.leaseAs(runId, 10, 1000, {owner: 'w3', expiresAt: 9000});
		assert.deepEqual(keys(again), ['a', 'b']);
		// w1 wakes up late: refused; w3's completion is the one written.
		assert.deepEqual(await store.commitAs(runId, 'w1', [done(a!.id, ['late']), done(b!.id, ['late'])]), {applied: 0, refused: [a!.id, b!.id]});
		assert.equal(await store.renewLeases(runId, {owner: 'w1', expiresAt: 99_000}), 0, 'w1 holds nothing any more');
		assert.deepEqual(await store.commitAs(runId, 'w3', [done(a!.id, ['a']), done(b!.id, ['b'])]), {applied: 2, refused: []});
		assert.deepEqual(await store.commitAs(runId, 'w2', [done(c!.id, ['c'])]), {applied: 1, refused: []});
		assert.deepEqual(await collect(store.items(runId)), ['a', 'b', 'c']);
		assert.equal(await store.reclaimExpired(runId, Number.MAX_SAFE_INTEGER), 0, 'an unowned lease never expires');
		// Resume after a crash releases owned leases too.
		await store.addRequests(runId, [request('e')]);
		await store.leaseAs(runId, 1, 0, {owner: 'w4', expiresAt: 1});
		assert.deepEqual(await store.releaseInflight(runId), {released: 2, crashed: 0});
	});

	test('leaseAs keeps the suspect rule across owners; reclaimExpired counts no crash', async (t) => {
		const {store, runId} = await setup(t);
		await store.addRequests(runId, [request('x'), request('y')]);
		await store.leaseAs(runId, 2, 0, {owner: 'w1', expiresAt: 1000});
		assert.deepEqual(await store.releaseInflight(runId), {released: 2, crashed: 0});
		await store.addRequests(runId, [request('z')]);
		const [x] = await store.leaseAs(runId, 10, 0, {owner: 'w2', expiresAt: 1000});
		assert.equal(x?.uniqueKey, 'x', 'a suspect goes first and alone');
		assert.deepEqual(await store.leaseAs(runId, 10, 0, {owner: 'w3', expiresAt: 1000}), [], 'nothing while a suspect is in flight, whoever holds it');
		assert.deepEqual(await store.lease(runId, 10, 0), []);
		assert.deepEqual(await store.commitAs(runId, 'w2', [done(x.id)]), {applied: 1, refused: []});
		const [y] = await store.leaseAs(runId, 10, 0, {owner: 'w3', expiresAt: 1000});
		assert.equal(y?.uniqueKey, 'y');
		await store.commitAs(runId, 'w3', [retry(y.id, 0)]);
		// y ran to its end: ordinary again, leased with z; an expired lease is not a crash.
		assert.deepEqual(keys(await store.leaseAs(runId, 10, 0, {owner: 'w4', expiresAt: 1000})), ['y', 'z']);
		assert.equal(await store.reclaimExpired(runId, 1000), 2);
		assert.deepEqual(keys(await store.leaseAs(runId, 10, 1000, {owner: 'w5', expiresAt: 5000})), ['y', 'z']);
		assert.deepEqual(await store.releaseInflight(runId), {released: 2, crashed: 0});
	});
}
