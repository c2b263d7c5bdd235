// Several schedulers on one store (as on several machines), in one process: each with its own
// store handle, on SQLite (one storage folder) and on PostgreSQL (one schema). Each cron slot fires
// once, the overlap policy sees the other scheduler's run, and catch-up fires once.
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test, type TestContext} from 'node:test';
import {defineCrawler} from '../../src/define-crawler.js';
import {runCrawler} from '../../src/runner/run-crawler.js';
import {normalizeSchedule, type ScheduleOption} from '../../src/scheduler/schedule-options.js';
import {Scheduler, type SchedulerEvent} from '../../src/scheduler/scheduler.js';
import {LAST_FIRE_KEY, RUN_HOLD_KEY, StoreRunHolds, storeLastFire} from '../../src/scheduler/store-claims.js';
import {openStore, type StoreLocation} from '../../src/store/open-store.js';
import type {Store} from '../../src/store/store.js';
import {startServer} from '../sites/start-server.js';
import {dropSchemas, pgUrl, skipWithoutPostgres, uniqueName} from '../store/pg-helpers.js';
import {FakeClock} from './fake-clock.js';

const t0 = '2026-01-15T10:00:30.000Z';
const slot = (minute: number): number => Date.parse(`2026-01-15T10:${String(minute).padStart(2, '0')}:00.000Z`);
const everyMinute = {cron: '* * * * *', timezone: 'UTC'} as const;

interface Engine {
	readonly engine: 'sqlite' | 'postgres';
	/** A store location no other test uses, cleaned up after the test. */
	location(t: TestContext, name: string): StoreLocation;
}

const engines: Engine[] = [
	{
		engine: 'sqlite',
		location(t) {
			const dir = mkdtempSync(path.join(os.tmpdir(), 'crawljar-shared-schedule-'));
			t.after(() => rmSync(dir, {recursive: true, force: true}));
			return {kind: 'sqlite', dir};
		},
	},
	{
		engine: 'postgres',
		location(t, name) {
			t.after(() => dropSchemas([`crawljar_${name}`]));
			return {kind: 'postgres', url: pgUrl};
		},
	},
];

/** One scheduler with its own store handle, as one machine's `crawljar schedule` has. */
function scheduler(t: TestContext, options: {
	name: string;
	schedule: ScheduleOption;
	location: StoreLocation;
	clock: FakeClock;
	run: (name: string) => Promise<unknown>;
	label: string;
	/** Long by default: the tests move one scheduler's clock while the other's stands still. */
	holdMs?: number;
}) {
	const store: Store = openStore(options.location, options.name);
	const lines: string[] = [];
	const events: SchedulerEvent[] = [];
	const timers = {now: options.clock.now, setTimer: options.clock.setTimer, clearTimer: options.clock.clearTimer};
	const instance = new Scheduler(
		[{name: options.name, schedule: normalizeSchedule(options.schedule)}],
		{
			...timers,
			run: options.run,
			lastFire: storeLastFire(() => store),
			runHolds: new StoreRunHolds(() => store, timers, {holdMs: options.holdMs ?? 600_000, owner: options.label, log: (line) => lines.push(line)}),
			log: (line) => lines.push(line),
		},
		{onEvent: (event) => events.push(event), heldElsewherePollMs: 5000},
	);
	t.after(async () => {
		const stopping = instance.stop();
		await options.clock.advance(3_600_000);
		await stopping;
		await store.close();
	});
	const count = (type: SchedulerEvent['type']) => events.filter((event) => event.type === type).length;
	const claimedElsewhere = () => lines.filter((line) => line.includes('was claimed by another scheduler')).length;
	/** No scheduler holds the crawler (the last run's hold was released). */
	const isFree = async () => !(await store.getMeta(RUN_HOLD_KEY));
	return {instance, store, lines, events, count, claimedElsewhere, isFree};
}

/** Waits (real time) for a condition that store I/O makes true. */
async function eventually(condition: () => boolean | Promise<boolean>, what: string | (() => string), timeoutMs = 20_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await condition())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
		await new Promise((resolve) => setTimeout(resolve, 10));
	}
}

/** A run the test ends when it wants (a crawl still going on one machine). */
function heldRuns(t: TestContext) {
	const releases: (() => void)[] = [];
	let started = 0;
	// Registered before the schedulers' stop(): after hooks run in order, and stop() waits for runs.
	t.after(() => releases.splice(0).forEach((release) => release()));
	return {
		get started() {
			return started;
		},
		run: async () => {
			started++;
			await new Promise<void>((resolve) => releases.push(resolve));
			return {};
		},
		finishAll: () => releases.splice(0).forEach((release) => release()),
	};
}

for (const {engine, location: locationFor} of engines) {
	const skip = engine === 'postgres' ? skipWithoutPostgres : false;

	test(`${engine}: two schedulers on one store fire each of 4 slots exactly once (runs in the store, requests at the server)`, {skip}, async (t) => {
		let hits = 0;
		const site = await startServer(t, (_request, response) => {
			hits++;
			response.setHeader('content-type', 'text/html');
			response.end('<title>one page</title>');
		});
		const name = uniqueName('sched_once');
		const location = locationFor(t, name);
		const definition = defineCrawler({name, startUrls: [`${site.url}/`], routes: {default: async ({push}) => push({ok: true})}});
		const runCrawl = async () =>
			runCrawler(definition, {
				...(location.kind === 'postgres' ? {storeUrl: location.url} : {storageDir: location.dir}),
				log: {info: () => {}, warn: () => {}, error: () => {}},
			});
		const clock = new FakeClock(t0);
		const a = scheduler(t, {name, schedule: everyMinute, location, clock, run: runCrawl, label: 'a'});
		const b = scheduler(t, {name, schedule: everyMinute, location, clock, run: runCrawl, label: 'b'});
		await Promise.all([a.instance.start(), b.instance.start()]);
		for (let minute = 1; minute <= 4; minute++) {
			await clock.advanceTo(new Date(slot(minute) + 1000).toISOString());
			// …and its hold released, so the next slot does not find the crawler still held.
			await eventually(async () => a.count('finish') + b.count('finish') === minute && a.claimedElsewhere() + b.claimedElsewhere() === minute && (await a.isFree()), () => `slot ${minute} decided and run: ${[...a.lines, ...b.lines].join('; ')}`);
		}
		assert.equal(a.count('fire') + b.count('fire'), 4, [...a.lines, ...b.lines].join('\n'));
		assert.equal(a.count('error') + b.count('error'), 0, [...a.lines, ...b.lines].join('\n'));
		assert.deepEqual(
			[...a.events, ...b.events].filter((event) => event.type === 'fire').map((event) => event.at).sort(),
			[1, 2, 3, 4].map(slot),
		);
		assert.equal((await a.store.listRuns(100)).length, 4, 'one run in the store per slot');
		assert.equal(hits, 4, 'one request at the server per slot');
		assert.equal(await a.store.getMeta(LAST_FIRE_KEY), String(slot(4)));
	});

	test(`${engine}: overlap 'skip' sees the other scheduler's run; the slot after it fires once`, {skip}, async (t) => {
		const name = uniqueName('sched_skip');
		const location = locationFor(t, name);
		const runs = heldRuns(t);
		// Two clocks: each scheduler's slots are reached only when the test says so.
		const clockA = new FakeClock(t0);
		const clockB = new FakeClock(t0);
		const a = scheduler(t, {name, schedule: everyMinute, location, clock: clockA, run: runs.run, label: 'a'});
		const b = scheduler(t, {name, schedule: everyMinute, location, clock: clockB, run: runs.run, label: 'b'});
		await Promise.all([a.instance.start(), b.instance.start()]);

		await clockA.advanceTo('2026-01-15T10:01:01.000Z');
		await eventually(() => runs.started === 1, 'a runs slot 10:01');
		await clockB.advanceTo('2026-01-15T10:01:01.000Z');
		await eventually(() => b.claimedElsewhere() === 1, 'b finds 10:01 claimed');
		await clockB.advanceTo('2026-01-15T10:02:01.000Z'); // b claims 10:02; a's run still holds the crawler
		await eventually(() => b.count('skip') === 1, 'b skips 10:02');
		assert.ok(b.lines.includes('skipped ' + name + ': previous run still going on another scheduler'), b.lines.join('\n'));
		await clockA.advanceTo('2026-01-15T10:02:01.000Z');
		await eventually(() => a.claimedElsewhere() === 1, 'a finds 10:02 claimed');
		assert.equal(runs.started, 1);

		runs.finishAll();
		await eventually(async () => a.count('finish') === 1 && (await a.isFree()), 'a finishes and releases its hold');
		await Promise.all([clockA.advanceTo('2026-01-15T10:03:01.000Z'), clockB.advanceTo('2026-01-15T10:03:01.000Z')]);
		await eventually(() => runs.started === 2 && a.claimedElsewhere() + b.claimedElsewhere() === 3, 'slot 10:03 fires once');
		runs.finishAll();
		assert.equal(a.count('fire') + b.count('fire'), 2);
	});

	test(`${engine}: overlap 'queue' waits for the other scheduler's run, then runs once`, {skip}, async (t) => {
		const name = uniqueName('sched_queue');
		const location = locationFor(t, name);
		const runs = heldRuns(t);
		const schedule = {...everyMinute, overlap: 'queue'} as const;
		const clockA = new FakeClock(t0);
		const clockB = new FakeClock(t0);
		const a = scheduler(t, {name, schedule, location, clock: clockA, run: runs.run, label: 'a'});
		const b = scheduler(t, {name, schedule, location, clock: clockB, run: runs.run, label: 'b'});
		await Promise.all([a.instance.start(), b.instance.start()]);

		await clockA.advanceTo('2026-01-15T10:01:01.000Z');
		await eventually(() => runs.started === 1, 'a runs slot 10:01');
		await clockB.advanceTo('2026-01-15T10:02:01.000Z'); // 10:01 claimed by a; b claims 10:02 and queues it
		await eventually(() => b.count('queued') === 1, 'b queues 10:02');
		await clockB.advance(12_000); // two polls: a's run still holds the crawler
		await eventually(() => b.lines.filter((line) => line.includes('skipped')).length === 0 && runs.started === 1, 'b still waiting');
		assert.equal(b.count('fire'), 0);

		runs.finishAll();
		await eventually(async () => a.count('finish') === 1 && (await a.isFree()), 'a finishes and releases its hold');
		await clockB.advance(5000); // the next poll finds the crawler free
		await eventually(() => runs.started === 2 && b.count('fire') === 1, 'b runs its queued fire');
		assert.equal(b.events.find((event) => event.type === 'fire')!.at, slot(2), 'the queued run belongs to the 10:02 fire');
		assert.equal(b.count('queued'), 1, 'queued once, however many polls');
		runs.finishAll();
	});

	test(`${engine}: catchUp 'once' with two schedulers starting at once runs the missed slot once`, {skip}, async (t) => {
		const name = uniqueName('sched_catchup');
		const location = locationFor(t, name);
		const seed = openStore(location, name);
		await seed.setMeta(LAST_FIRE_KEY, String(Date.parse('2026-01-15T07:00:00.000Z')));
		await seed.close();
		let runs = 0;
		const run = async () => {
			runs++;
			return {};
		};
		const schedule = {cron: '0 * * * *', timezone: 'UTC', catchUp: 'once'} as const;
		const clock = new FakeClock('2026-01-15T10:30:00.000Z');
		const a = scheduler(t, {name, schedule, location, clock, run, label: 'a'});
		const b = scheduler(t, {name, schedule, location, clock, run, label: 'b'});
		await Promise.all([a.instance.start(), b.instance.start()]);
		// start() resolves once its catch-up is decided: the other one lost the claim, or found the slot taken.
		await eventually(() => a.count('finish') + b.count('finish') === 1, () => `one catch-up: ${[...a.lines, ...b.lines].join('; ')}`);
		assert.equal(a.count('fire') + b.count('fire'), 1);
		assert.equal(runs, 1, [...a.lines, ...b.lines].join('\n'));
		assert.equal(await a.store.getMeta(LAST_FIRE_KEY), String(Date.parse('2026-01-15T10:00:00.000Z')), 'claimed as the latest missed slot');

		// A third scheduler starting later finds nothing missed.
		const c = scheduler(t, {name, schedule, location, clock, run, label: 'c'});
		await c.instance.start();
		assert.equal(c.count('fire'), 0);
		await clock.advanceTo('2026-01-15T11:00:01.000Z');
		const lostEleven = () => [...a.lines, ...b.lines, ...c.lines].filter((line) => line.includes('fire of 2026-01-15T11:00:00.000Z was claimed')).length;
		await eventually(() => runs === 2 && lostEleven() === 2, 'the 11:00 slot once');
	});

	test(`${engine}: a hold its scheduler stopped renewing expires; the next slot runs elsewhere`, {skip}, async (t) => {
		const name = uniqueName('sched_expire');
		const location = locationFor(t, name);
		const runs = heldRuns(t);
		const clockA = new FakeClock(t0);
		const clockB = new FakeClock(t0);
		const holdMs = 90_000; // a's hold, taken at 10:01:00-10:01:01, lasts past b's 10:02 check and not to its 10:03 one
		const a = scheduler(t, {name, schedule: everyMinute, location, clock: clockA, run: runs.run, label: 'a', holdMs});
		const b = scheduler(t, {name, schedule: everyMinute, location, clock: clockB, run: runs.run, label: 'b', holdMs});
		await Promise.all([a.instance.start(), b.instance.start()]);
		await clockA.advanceTo('2026-01-15T10:01:01.000Z');
		await eventually(() => runs.started === 1, 'a runs slot 10:01');
		// a's clock stands still from here: it renews nothing, as a machine that died mid-run.
		await clockB.advanceTo('2026-01-15T10:02:00.500Z');
		await eventually(() => b.count('skip') === 1, 'b skips 10:02');
		await clockB.advanceTo('2026-01-15T10:03:01.000Z');
		await eventually(() => runs.started === 2 && b.count('fire') === 1, 'b runs 10:03: the hold expired');
		runs.finishAll();
		await eventually(() => a.count('finish') === 1 && b.count('finish') === 1, 'both runs end');
	});
}

test('a hold left by a process of this host that is gone (kill -9) is free at once, not after its expiry', async (t) => {
	const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']);
	assert.equal(dead.status, 0);
	const name = uniqueName('sched_dead');
	const location = engines[0]!.location(t, name);
	const seed = openStore(location, name);
	const clock = new FakeClock(t0);
	const farAhead = clock.now() + 3_600_000;
	await seed.setMeta(RUN_HOLD_KEY, JSON.stringify({owner: 'killed', expiresAt: farAhead, host: os.hostname(), pid: dead.pid}));
	await seed.close();
	let runs = 0;
	const a = scheduler(t, {name, schedule: everyMinute, location, clock, run: async () => ({runs: ++runs}), label: 'a'});
	await a.instance.start();
	await clock.advanceTo('2026-01-15T10:01:01.000Z');
	await eventually(() => a.count('finish') === 1, () => a.lines.join('; '));
	assert.equal(runs, 1);
	// A live holder of this host (this process, another scheduler) still blocks.
	const b = scheduler(t, {name, schedule: everyMinute, location, clock, run: async () => ({runs: ++runs}), label: 'b'});
	const blocked = openStore(location, name);
	t.after(() => blocked.close());
	await blocked.setMeta(RUN_HOLD_KEY, JSON.stringify({owner: 'other', expiresAt: farAhead, host: os.hostname(), pid: process.pid}));
	await b.instance.start();
	await clock.advanceTo('2026-01-15T10:02:01.000Z');
	await eventually(() => a.count('skip') + b.count('skip') === 1, () => [...a.lines, ...b.lines].join('; '));
	assert.equal(runs, 1, 'the live hold kept the 10:02 slot from running');
});
