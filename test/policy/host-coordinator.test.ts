// HostCoordinator with several store handles on one SQLite file (workers of one crawl) and a
// fake clock: shares of a host's limits, cooldowns and the adaptive rate shared through the store.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, test} from 'node:test';
import type {TestContext} from 'node:test';
import {HostCoordinator} from '../../src/policy/host-coordinator.js';
import {HostThrottle} from '../../src/policy/host-throttle.js';
import {SqliteStore} from '../../src/store/sqlite/sqlite-store.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crawljar-coordinator-'));
after(() => fs.rmSync(tmp, {recursive: true, force: true}));
let files = 0;

interface Worker {
	readonly throttle: HostThrottle;
	readonly coordinator: HostCoordinator;
	readonly store: SqliteStore;
}

/** `count` workers on one store file, sharing one fake clock. */
async function workers(t: TestContext, count: number, limits: {maxConcurrency?: number; maxRequestsPerSecond?: number} = {}) {
	const file = path.join(tmp, `store-${++files}.sqlite`);
	let time = 1_000_000;
	const clock = {now: () => time, advance: (ms: number) => void (time += ms)};
	const list: Worker[] = [];
	for (let index = 0; index < count; index++) list.push(await startWorker(t, file, clock.now, limits, `w${index}`));
	return {list, clock, add: (owner: string) => startWorker(t, file, clock.now, limits, owner)};
}

async function startWorker(t: TestContext, file: string, now: () => number, limits: object, owner: string): Promise<Worker> {
	const store = SqliteStore.open(file);
	const throttle = new HostThrottle({defaults: {maxConcurrency: 4, ...limits}, now});
	// A long interval: the test runs the rounds itself (tick), in the order it wants.
	const coordinator = new HostCoordinator({store, throttle, owner, now, intervalMs: 60_000, shareTtlMs: 120_000});
	await coordinator.start();
	t.after(async () => {
		await coordinator.stop();
		await store.close();
	});
	return {throttle, coordinator, store};
}

/** Acquires as many slots of `host` as the throttle gives (and keeps them). */
function takeAll(throttle: HostThrottle, host: string): number {
	let taken = 0;
	while (throttle.tryAcquire(host).ok) taken++;
	return taken;
}

test('a lone worker gets the whole limit of a host at its first claim', async (t) => {
	const {list} = await workers(t, 1);
	const [{throttle, coordinator}] = list as [Worker];
	assert.deepEqual(throttle.tryAcquire('a.test'), {ok: false, retryInMs: 20, reason: 'share'}, 'no share before the first claim');
	await coordinator.tick();
	assert.equal(takeAll(throttle, 'a.test'), 4);
	assert.deepEqual(throttle.tryAcquire('a.test'), {ok: false, retryInMs: 0, reason: 'concurrency'});
});

test('workers share a host\'s maxConcurrency: never more than the limit in flight, fair parts after the holders drain', async (t) => {
	const {list} = await workers(t, 3);
	const host = 'shared.test';
	const inFlight = [0, 0, 0];
	const round = async () => {
		for (const [index, worker] of list.entries()) {
			// Asking is demand, even when refused; what is granted is kept.
			if (worker.throttle.tryAcquire(host).ok) inFlight[index]!++;
			await worker.coordinator.tick();
			inFlight[index]! += takeAll(worker.throttle, host);
			assert.ok(inFlight.reduce((sum, n) => sum + n, 0) <= 4, `in flight ${inFlight.join('+')} > 4`);
		}
	};
	await round();
	assert.deepEqual(inFlight, [4, 0, 0], 'the first claimant holds it all');
	// The holder finishes its requests one by one; the others take what it gives back.
	for (let step = 0; step < 4; step++) {
		list[0]!.throttle.release(host, 'ok');
		inFlight[0]!--;
		await round();
	}
	assert.deepEqual([...inFlight].sort(), [1, 1, 2], `fair parts of 4 among 3: ${inFlight.join(', ')}`);
});

test('a cooldown seen by one worker reaches the others at their next round, and their leases skip the host at once', async (t) => {
	const {list, clock} = await workers(t, 2);
	const [a, b] = list as [Worker, Worker];
	for (const worker of list) {
		worker.throttle.tryAcquire('hot.test');
		await worker.coordinator.tick();
	}
	const run = await a.store.createRun(clock.now());
	await a.store.addRequests(run.id, [{url: 'https://hot.test/1', uniqueKey: '1', depth: 0}]);
	a.throttle.cooldown('hot.test', clock.now() + 5_000);
	await a.coordinator.tick(); // the write is queued at once; a round waits for nothing but gives it time
	assert.deepEqual(await b.store.lease(run.id, 10, clock.now()), [], 'the other handle leases nothing for the host');
	assert.equal(b.throttle.isCoolingDown('hot.test'), false, 'not yet polled');
	await b.coordinator.tick();
	assert.equal(b.throttle.cooldownUntil('hot.test'), clock.now() + 5_000);
	clock.advance(5_000);
	assert.equal(b.throttle.isCoolingDown('hot.test'), false);
	assert.equal((await b.store.lease(run.id, 10, clock.now())).length, 1);
});

test('the adaptive rate is one per host: a 429 at one worker cuts it for all', async (t) => {
	const {list, clock, add} = await workers(t, 2, {maxConcurrency: 8});
	const [a, b] = list as [Worker, Worker];
	const host = 'api.test';
	for (const worker of list) {
		worker.throttle.tryAcquire(host);
		await worker.coordinator.tick();
	}
	for (const worker of list) await worker.coordinator.tick();
	for (const worker of list) while (worker.throttle.stats(host).inFlight > 0) worker.throttle.release(host, 'ok');
	assert.equal(a.throttle.stats(host).rateLimit, undefined);
	// Worker a sends 20 requests in a second, the last one refused.
	for (let index = 0; index < 20; index++) {
		clock.advance(50);
		assert.equal(a.throttle.tryAcquire(host).ok, true);
		a.throttle.release(host, index === 19 ? 'rate-limited' : 'ok');
	}
	const cut = a.throttle.stats(host).rateLimit;
	assert.ok(cut !== undefined && cut > 0, 'a learned a rate');
	await a.coordinator.tick();
	await b.coordinator.tick();
	assert.equal(b.throttle.stats(host).rateLimit, cut, 'b adopted the same rate');
	assert.equal((await b.store.hosts()).find((entry) => entry.host === host)?.rate, cut, 'stored once, for the crawl');
	// A worker joining later starts from it too.
	const late = await add('late');
	assert.equal(late.throttle.stats(host).rateLimit, cut);
});

test('stop() gives the shares back: the remaining worker gets the whole limit at its next claims', async (t) => {
	const {list} = await workers(t, 2);
	const [a, b] = list as [Worker, Worker];
	for (const worker of [a, b, a, b]) {
		worker.throttle.tryAcquire('h.test');
		await worker.coordinator.tick();
	}
	const held = takeAll(b.throttle, 'h.test');
	assert.ok(held < 4, `b holds part of the limit (${held})`);
	await a.coordinator.stop();
	await b.coordinator.tick();
	await b.coordinator.tick();
	assert.equal(held + takeAll(b.throttle, 'h.test'), 4);
});
