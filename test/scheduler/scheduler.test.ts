import assert from 'node:assert/strict';
import {test} from 'node:test';
import {normalizeSchedule, type ScheduleOption} from '../../src/scheduler/schedule-options.js';
import {Scheduler, type SchedulerEvent, type SchedulerOptions} from '../../src/scheduler/scheduler.js';
import {maxTimerDelayMs} from '../../src/scheduler/timer-at.js';
import {FakeClock, fakeDeps, settle} from './fake-clock.js';

const everyMinute = {cron: '* * * * *', timezone: 'UTC'} as const;
const ms = (iso: string): number => Date.parse(iso);
const t = (time: string): number => ms(`2026-01-15T${time}.000Z`);

function setup(
	crawlers: Record<string, ScheduleOption>,
	run: (name: string, clock: FakeClock) => Promise<unknown> = async () => ({}),
	options: SchedulerOptions & {start?: string; lastFires?: Map<string, number>} = {},
) {
	const clock = new FakeClock(options.start ?? '2026-01-15T10:00:30.000Z');
	const deps = fakeDeps(clock, async (name) => run(name, clock), options.lastFires);
	const events: SchedulerEvent[] = [];
	const scheduler = new Scheduler(
		Object.entries(crawlers).map(([name, schedule]) => ({name, schedule: normalizeSchedule(schedule)})),
		deps,
		{...options, onEvent: (event) => events.push(event)},
	);
	const types = (name?: string) => events.filter((event) => !name || event.name === name).map((event) => event.type);
	/** stop(), with fake time moving so that the running runs can finish. */
	const stop = async () => {
		const stopping = scheduler.stop();
		await clock.advance(3_600_000);
		await stopping;
	};
	return {clock, deps, scheduler, events, types, stop};
}

test('fires on each scheduled time, logs fire and finish, re-arms from the clock', async () => {
	const {clock, deps, scheduler, stop, events} = setup({a: everyMinute}, async () => ({
		durationMs: 1234,
		requests: {done: 10, failed: 2},
		items: 7,
	}));
	await scheduler.start();
	await clock.advanceTo('2026-01-15T10:03:10.000Z');
	assert.deepEqual(
		deps.runs.map((run) => run.atMs),
		[t('10:01:00'), t('10:02:00'), t('10:03:00')],
	);
	assert.deepEqual(deps.lines.slice(0, 2), [
		'fire a (scheduled 2026-01-15T10:01:00.000Z)',
		'finish a in 1.2s: 10 requests done, 2 failed, 7 items',
	]);
	assert.equal(deps.lines.length, 6);
	assert.deepEqual(
		events.filter((event) => event.type === 'finish').map((event) => [event.at, event.summary]),
		[t('10:01:00'), t('10:02:00'), t('10:03:00')].map((at) => [at, {durationMs: 1234, requests: {done: 10, failed: 2}, items: 7}]),
	);
	await stop();
	assert.equal(clock.pendingTimers, 0);
});

test("overlap 'skip': a slow run spanning 3 fires gives 1 run and 2 skips", async () => {
	const {clock, deps, scheduler, stop, types} = setup({a: everyMinute}, async (_, clock) => clock.slowRun(150_000, {items: 1})());
	await scheduler.start();
	await clock.advanceTo('2026-01-15T10:03:45.000Z'); // fires 10:01 (runs until 10:03:30), 10:02, 10:03
	assert.deepEqual(deps.runs.map((run) => run.atMs), [t('10:01:00')]);
	assert.deepEqual(types(), ['fire', 'skip', 'skip', 'finish']);
	assert.equal(deps.lines.filter((line) => line === 'skipped a: previous run still going').length, 2);
	await clock.advanceTo('2026-01-15T10:04:01.000Z');
	assert.deepEqual(deps.runs.map((run) => run.atMs), [t('10:01:00'), t('10:04:00')]);
	// Every fire, skipped or not, is the last fire.
	assert.deepEqual(deps.sets.map((set) => set.at), [t('10:01:00'), t('10:02:00'), t('10:03:00'), t('10:04:00')]);
	await stop();
});

test("overlap 'queue': fires during a run queue exactly one run, started right after", async () => {
	const {clock, deps, scheduler, stop, types, events} = setup(
		{a: {...everyMinute, overlap: 'queue'}},
		async (_, clock) => clock.slowRun(150_000)(),
	);
	await scheduler.start();
	await clock.advanceTo('2026-01-15T10:03:45.000Z');
	// 10:01 runs until 10:03:30; 10:02 is queued; 10:03 is skipped (one is already waiting).
	assert.deepEqual(deps.runs.map((run) => run.atMs), [t('10:01:00'), t('10:03:30')]);
	assert.deepEqual(types(), ['fire', 'queued', 'skip', 'finish', 'fire']);
	assert.equal(events[4]!.at, t('10:02:00'), 'the queued run belongs to the 10:02 fire');
	assert.ok(deps.lines.includes('queued a (scheduled 2026-01-15T10:02:00.000Z): previous run still going'));
	assert.ok(deps.lines.includes('start a (queued fire of 2026-01-15T10:02:00.000Z)'));
	await stop();
});

test('maxParallel caps runs across crawlers; waiting fires start first-in first-out', async () => {
	let going = 0;
	let maxGoing = 0;
	const durations: Record<string, number> = {a: 20_000, b: 40_000, c: 30_000, d: 10_000};
	const {clock, deps, scheduler, stop} = setup(
		{a: everyMinute, b: everyMinute, c: everyMinute, d: everyMinute},
		async (name, clock) => {
			going++;
			maxGoing = Math.max(maxGoing, going);
			await clock.slowRun(durations[name]!)();
			going--;
			return {};
		},
		{maxParallel: 2},
	);
	await scheduler.start();
	await clock.advanceTo('2026-01-15T10:01:45.000Z');
	assert.deepEqual(
		deps.runs.map((run) => [run.name, run.atMs]),
		[
			['a', t('10:01:00')],
			['b', t('10:01:00')],
			['c', t('10:01:20')], // a's slot
			['d', t('10:01:40')], // b's slot
		],
	);
	assert.equal(maxGoing, 2);
	assert.ok(deps.lines.includes('queued c (scheduled 2026-01-15T10:01:00.000Z): 2 runs going (max-parallel 2)'));
	assert.deepEqual(scheduler.state('c'), {isRunning: true, isWaiting: false});
	assert.deepEqual(scheduler.state('d'), {isRunning: true, isWaiting: false});
	assert.deepEqual(scheduler.state('a'), {isRunning: false, isWaiting: false});
	await stop();
	assert.equal(going, 0, 'stop() waited for the running runs');
});

test('maxParallel: a crawler waiting for a slot counts as its queued run (skip policy)', async () => {
	const {clock, deps, scheduler, stop, types} = setup(
		{a: everyMinute, b: everyMinute},
		async (_, clock) => clock.slowRun(150_000)(),
		{maxParallel: 1},
	);
	await scheduler.start();
	await clock.advanceTo('2026-01-15T10:02:30.000Z');
	// 10:01: a runs, b waits for the slot; 10:02: a is still going (skip), b is already waiting (skip).
	assert.deepEqual(types('a'), ['fire', 'skip']);
	assert.deepEqual(types('b'), ['queued', 'skip']);
	assert.ok(deps.lines.includes('skipped b: a fire is already waiting to start'));
	await clock.advanceTo('2026-01-15T10:03:31.000Z');
	assert.deepEqual(deps.runs.map((run) => [run.name, run.atMs]), [['a', t('10:01:00')], ['b', t('10:03:30')]]);
	await stop();
});

const hourly = {cron: '0 * * * *', timezone: 'UTC'} as const;

test("catchUp 'once': missed fires since the persisted last fire give exactly one immediate run", async () => {
	const lastFires = new Map([['a', t('09:00:00')]]);
	const {clock, deps, scheduler, stop} = setup({a: {...hourly, catchUp: 'once'}}, undefined, {start: '2026-01-15T12:30:00.000Z', lastFires});
	await scheduler.start();
	await settle();
	assert.deepEqual(deps.runs.map((run) => run.atMs), [t('12:30:00')]);
	assert.equal(lastFires.get('a'), t('12:30:00'));
	assert.deepEqual(deps.lines[0], 'fire a (catch-up: missed 2026-01-15T10:00:00.000Z)');
	await clock.advanceTo('2026-01-15T12:59:59.000Z');
	assert.equal(deps.runs.length, 1);
	await clock.advanceTo('2026-01-15T13:00:00.000Z');
	assert.deepEqual(deps.runs.map((run) => run.atMs), [t('12:30:00'), t('13:00:00')]);
	await stop();
});

test("catchUp 'none': missed fires are logged, not run", async () => {
	const lastFires = new Map([['a', t('09:00:00')]]);
	const {clock, deps, scheduler, stop} = setup({a: hourly}, undefined, {start: '2026-01-15T12:30:00.000Z', lastFires});
	await scheduler.start();
	await clock.advance(1000);
	assert.equal(deps.runs.length, 0);
	assert.deepEqual(deps.lines, ['catch-up a: missed the fire of 2026-01-15T10:00:00.000Z, not run (catchUp: none)']);
	await clock.advanceTo('2026-01-15T13:00:00.000Z');
	assert.deepEqual(deps.runs.map((run) => run.atMs), [t('13:00:00')]);
	await stop();
});

test("catchUp 'once' with no missed fire, or no last fire, runs nothing at start", async () => {
	const lastFires = new Map([['a', t('12:00:00')]]);
	const {clock, deps, scheduler, stop} = setup(
		{a: {...hourly, catchUp: 'once'}, never: {...hourly, catchUp: 'once'}},
		undefined,
		{start: '2026-01-15T12:30:00.000Z', lastFires},
	);
	await scheduler.start();
	await clock.advance(60_000);
	assert.deepEqual(deps.runs, []);
	assert.deepEqual(deps.lines, []);
	await stop();
});

test('catch-up of several crawlers respects maxParallel', async () => {
	const lastFires = new Map(['a', 'b', 'c'].map((name) => [name, t('09:00:00')] as const));
	const once = {...hourly, catchUp: 'once'} as const;
	const {clock, deps, scheduler, stop, types} = setup({a: once, b: once, c: once}, async (_, clock) => clock.slowRun(5000)(), {
		start: '2026-01-15T12:30:00.000Z',
		lastFires,
		maxParallel: 2,
	});
	await scheduler.start();
	await clock.advance(11_000);
	assert.deepEqual(deps.runs.map((run) => [run.name, run.atMs]), [['a', t('12:30:00')], ['b', t('12:30:00')], ['c', t('12:30:05')]]);
	assert.deepEqual(types('c'), ['queued', 'fire', 'finish']);
	await stop();
});

test('the last fire time is persisted before the run starts', async () => {
	const order: string[] = [];
	const clock = new FakeClock('2026-01-15T10:00:30.000Z');
	const deps = fakeDeps(clock, async () => {
		order.push(`run (lastFire=${deps.lastFires.get('a')})`);
		return {};
	});
	const set = deps.lastFire.set;
	deps.lastFire.set = async (name, at) => {
		order.push('set begins');
		await settle(); // a slow store write
		await set(name, at);
		order.push('set done');
	};
	const scheduler = new Scheduler([{name: 'a', schedule: normalizeSchedule(everyMinute)}], deps);
	await scheduler.start();
	await clock.advanceTo('2026-01-15T10:01:00.000Z');
	await settle();
	assert.deepEqual(order, ['set begins', 'set done', `run (lastFire=${t('10:01:00')})`]);
	await scheduler.stop();
});

test('a rejecting run is logged as an error and the schedule keeps going', async () => {
	let calls = 0;
	const {clock, deps, scheduler, stop, types, events} = setup({a: everyMinute}, async () => {
		calls++;
		if (calls === 1) throw new Error('boom');
		return {requests: {done: 3, failed: 0}};
	});
	await scheduler.start();
	await clock.advanceTo('2026-01-15T10:02:01.000Z');
	assert.equal(calls, 2);
	assert.deepEqual(types(), ['fire', 'error', 'fire', 'finish']);
	assert.equal((events[1]!.error as Error).message, 'boom');
	assert.ok(deps.lines.includes('error a after 0ms: Error: boom'), deps.lines.join('\n'));
	assert.ok(deps.lines.includes('finish a in 0ms: 3 requests done, 0 failed'));
	await stop();
});

test('stop() stops firing, drops waiting fires and resolves when the running run finishes', async () => {
	const {clock, deps, scheduler, stop} = setup(
		{a: everyMinute, b: everyMinute},
		async (_, clock) => clock.slowRun(60_000)(),
		{maxParallel: 1},
	);
	await scheduler.start();
	await clock.advanceTo('2026-01-15T10:01:10.000Z'); // a runs until 10:02:00, b waits
	let isStopped = false;
	const stopping = scheduler.stop().then(() => {
		isStopped = true;
	});
	await clock.advanceTo('2026-01-15T10:01:50.000Z');
	assert.equal(isStopped, false, 'a is still running');
	assert.ok(deps.lines.includes('dropped b: queued fire not run, scheduler stopping'));
	await clock.advanceTo('2026-01-15T10:05:00.000Z');
	await stopping;
	assert.equal(isStopped, true);
	assert.deepEqual(deps.runs.map((run) => run.name), ['a'], 'nothing fired after stop(), b never ran');
	assert.equal(clock.pendingTimers, 0);
	await assert.rejects(scheduler.start(), /already stopped/);
});

test('a far fire (yearly cron) is reached with timer delays under 2^31-1 ms', async () => {
	const {clock, deps, scheduler, stop} = setup({y: {cron: '0 0 1 1 *', timezone: 'UTC'}}, undefined, {
		start: '2026-01-15T10:00:00.000Z',
	});
	await scheduler.start();
	await clock.advanceTo('2026-12-31T23:59:59.000Z');
	assert.equal(deps.runs.length, 0);
	await clock.advanceTo('2027-01-01T00:00:00.500Z');
	assert.deepEqual(deps.runs.map((run) => run.atMs), [ms('2027-01-01T00:00:00.000Z')]);
	assert.ok(clock.delays.length > 2, 'the ~351-day wait was chunked');
	assert.ok(clock.delays.every((delay) => delay <= maxTimerDelayMs));
	await stop();
});

test('a timer that fires early is re-armed, not fired before its time', async () => {
	const {clock, deps, scheduler, stop} = setup({a: everyMinute});
	const setTimer = clock.setTimer;
	let isFirst = true;
	clock.setTimer = (fn, delay) => {
		const early = isFirst ? Math.max(0, delay - 5) : delay; // first timer wakes 5 ms early
		isFirst = false;
		return setTimer(fn, early);
	};
	Object.assign(deps, {setTimer: clock.setTimer});
	await scheduler.start();
	await clock.advanceTo('2026-01-15T10:01:00.100Z');
	assert.deepEqual(deps.runs.map((run) => run.atMs), [t('10:01:00')]);
	await stop();
});

test('constructor checks its options and crawler names', () => {
	const deps = fakeDeps(new FakeClock(0));
	const a = {name: 'a', schedule: normalizeSchedule(everyMinute)};
	assert.throws(() => new Scheduler([a], deps, {maxParallel: 0}), /`maxParallel`.*got `0`/);
	assert.throws(() => new Scheduler([a, a], deps), /two scheduled crawlers are named 'a'/);
	assert.throws(() => new Scheduler([{name: 'b', schedule: normalizeSchedule('nope')}], deps), /b: schedule\.cron: invalid cron/);
});
