// The Store contract for sessions shared by several workers: compare-and-set on the version,
// the change cursor, and the single-flight login lock (exclusive, renewable, taken over once
// expired). The two-handle cases run when the engine gives `openPair`.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import type {TestContext} from 'node:test';
import type {Store, StoredSession} from '../../src/store/store.js';

function session(id: string, secret: string, updatedAt = 1): StoredSession {
	return {id, account: id.split('#')[0]!, state: 'ready', meta: {cookies: []}, secret, updatedAt};
}

export function sessionContract(open: () => Promise<Store>, openPair?: () => Promise<readonly [Store, Store]>): void {
	async function pair(t: TestContext): Promise<readonly [Store, Store]> {
		if (openPair) {
			const handles = await openPair();
			t.after(async () => {
				await handles[0].close();
				await handles[1].close();
			});
			return handles;
		}
		// One handle used as both: the single-handle cases still hold.
		const store = await open();
		t.after(() => store.close());
		return [store, store];
	}

	const handles = openPair ? 'two handles' : 'one handle';

	test(`sessions (${handles}): saveSessionIf writes only over the expected version`, async (t) => {
		const [first, second] = await pair(t);
		assert.equal(await first.saveSessionIf(session('a#1', 'v1'), 0), 1, 'created at version 1');
		assert.equal(await second.saveSessionIf(session('a#1', 'other'), 0), undefined, 'the row exists: not created twice');
		assert.equal(await second.saveSessionIf(session('a#1', 'v2'), 1), 2);
		assert.equal(await first.saveSessionIf(session('a#1', 'stale'), 1), undefined, 'version 1 is gone');
		const [loaded] = await first.loadSessions();
		assert.deepEqual([loaded?.secret, loaded?.version], ['v2', 2]);
		// The unconditional save bumps the version too, so a compare-and-set over the old one fails.
		await first.saveSession(session('a#1', 'v3'));
		assert.equal(await second.saveSessionIf(session('a#1', 'stale'), 2), undefined);
		assert.equal((await second.loadSessions())[0]?.version, 3);
	});

	test(`sessions (${handles}): two writers over one version at once, exactly one wins`, async (t) => {
		const [first, second] = await pair(t);
		await first.saveSessionIf(session('a#1', 'v1'), 0);
		for (let round = 1; round <= 10; round++) {
			const results = await Promise.all([
				first.saveSessionIf(session('a#1', `first-${round}`), round),
				second.saveSessionIf(session('a#1', `second-${round}`), round),
			]);
			assert.deepEqual(results.filter((version) => version !== undefined), [round + 1], `round ${round}: ${JSON.stringify(results)}`);
			const winner = results[0] === undefined ? 'second' : 'first';
			assert.equal((await first.loadSessions())[0]?.secret, `${winner}-${round}`);
		}
		// Two creations of a new row at once: one row, one winner.
		const created = await Promise.all([first.saveSessionIf(session('b#1', 'x'), 0), second.saveSessionIf(session('b#1', 'y'), 0)]);
		assert.deepEqual(created.filter((version) => version !== undefined), [1]);
	});

	test(`sessions (${handles}): sessionChanges returns the rows written after a cursor, in write order`, async (t) => {
		const [first, second] = await pair(t);
		const empty = await second.sessionChanges(0);
		assert.deepEqual(empty.sessions, []);
		await first.saveSession(session('a#1', 'a1'));
		await first.saveSession(session('b#1', 'b1'));
		const all = await second.sessionChanges(empty.cursor);
		assert.deepEqual(
			all.sessions.map((row) => [row.id, row.secret, row.version]),
			[
				['a#1', 'a1', 1],
				['b#1', 'b1', 1],
			],
		);
		assert.deepEqual((await second.sessionChanges(all.cursor)).sessions, [], 'nothing new since');
		await first.saveSessionIf(session('b#1', 'b2'), 1);
		await second.saveSessionIf(session('a#1', 'a2'), 1);
		const next = await first.sessionChanges(all.cursor);
		assert.deepEqual(
			next.sessions.map((row) => [row.id, row.secret, row.version]),
			[
				['b#1', 'b2', 2],
				['a#1', 'a2', 2],
			],
		);
		assert.ok(next.cursor > all.cursor);
		// A refused compare-and-set writes nothing, so it is no change.
		await first.saveSessionIf(session('a#1', 'refused'), 1);
		assert.deepEqual((await second.sessionChanges(next.cursor)).sessions, []);
	});

	test(`sessions (${handles}): a cursor poller misses no write made while writers race`, async (t) => {
		const [first, second] = await pair(t);
		const ids = Array.from({length: 8}, (_, index) => `u${index}#1`);
		let cursor = 0;
		const seen = new Map<string, number>();
		let writing = true;
		const poller = (async () => {
			while (writing) {
				const changes = await second.sessionChanges(cursor);
				for (const row of changes.sessions) seen.set(row.id, Math.max(seen.get(row.id) ?? 0, row.version ?? 0));
				cursor = changes.cursor;
			}
		})();
		// Each id written 5 times, by both handles in turn, many at once.
		await Promise.all(
			ids.map(async (id, index) => {
				for (let n = 1; n <= 5; n++) await (n % 2 === index % 2 ? first : second).saveSession(session(id, `${id}-${n}`));
			}),
		);
		writing = false;
		await poller;
		const last = await second.sessionChanges(cursor);
		for (const row of last.sessions) seen.set(row.id, Math.max(seen.get(row.id) ?? 0, row.version ?? 0));
		assert.deepEqual(
			ids.map((id) => seen.get(id)),
			ids.map(() => 5),
		);
	});

	test(`sessions (${handles}): lockSession is exclusive, renewable by its owner, taken over only once expired`, async (t) => {
		const [first, second] = await pair(t);
		assert.equal(await first.lockSession('a#1', {owner: 'w1', expiresAt: 10_000}, 1_000), true);
		assert.equal(await second.lockSession('a#1', {owner: 'w2', expiresAt: 20_000}, 5_000), false, 'held by w1');
		assert.equal(await second.lockSession('b#1', {owner: 'w2', expiresAt: 20_000}, 5_000), true, 'another key is another lock');
		assert.equal(await first.lockSession('a#1', {owner: 'w1', expiresAt: 30_000}, 9_000), true, 'renewed by its owner');
		assert.equal(await second.lockSession('a#1', {owner: 'w2', expiresAt: 40_000}, 29_999), false, 'renewed: not expired yet');
		// w1 stalls past its expiry: w2 takes it over, and w1's unlock does not free w2's lock.
		assert.equal(await second.lockSession('a#1', {owner: 'w2', expiresAt: 60_000}, 30_000), true, 'expired: taken over');
		await first.unlockSession('a#1', 'w1');
		assert.equal(await first.lockSession('a#1', {owner: 'w1', expiresAt: 70_000}, 31_000), false, 'still w2\'s');
		await second.unlockSession('a#1', 'w2');
		assert.equal(await first.lockSession('a#1', {owner: 'w1', expiresAt: 70_000}, 31_000), true, 'free again');
	});

	test(`sessions (${handles}): many lockers at once, one holder`, async (t) => {
		const [first, second] = await pair(t);
		const owners = Array.from({length: 10}, (_, index) => `w${index}`);
		const results = await Promise.all(owners.map((owner, index) => (index % 2 ? first : second).lockSession('a#1', {owner, expiresAt: 10_000}, 0)));
		assert.equal(results.filter(Boolean).length, 1, JSON.stringify(results));
		// Expired for everyone at once: again one taker.
		const takeover = await Promise.all(owners.map((owner, index) => (index % 2 ? second : first).lockSession('a#1', {owner, expiresAt: 30_000}, 20_000)));
		assert.equal(takeover.filter(Boolean).length, 1, JSON.stringify(takeover));
	});
}
