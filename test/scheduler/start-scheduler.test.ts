import assert from 'node:assert/strict';
import {test} from 'node:test';
import {isCrawljarError} from '../../src/errors.js';
import {memoryLastFire, startScheduler} from '../../src/scheduler/start-scheduler.js';

test('startScheduler fires an every-second schedule on real timers (≥ 2 runs within 3.5 s)', async () => {
	const runTimes: number[] = [];
	const lines: string[] = [];
	const lastFire = memoryLastFire();
	const startedMs = Date.now();
	let reachedTwo!: () => void;
	const twoRuns = new Promise<void>((resolve) => {
		reachedTwo = resolve;
	});
	const scheduler = await startScheduler(
		[{name: 'tick', schedule: '* * * * * *'}],
		{
			async run() {
				runTimes.push(Date.now());
				if (runTimes.length === 2) reachedTwo();
				return {durationMs: 1, requests: {done: 1, failed: 0}, items: 1};
			},
			lastFire,
			log: (line) => lines.push(line),
		},
	);
	const deadline = new Promise<void>((resolve) => setTimeout(resolve, 3500).unref());
	await Promise.race([twoRuns, deadline]);
	await scheduler.stop();
	assert.ok(runTimes.length >= 2, `${runTimes.length} runs in ${Date.now() - startedMs} ms`);
	// Each run fires on a whole second, a second apart.
	assert.ok(runTimes[1]! - runTimes[0]! >= 900, `runs ${runTimes[1]! - runTimes[0]!} ms apart`);
	const saved = await lastFire.get('tick');
	assert.ok(saved !== undefined && saved % 1000 === 0, 'the last fire is a whole-second cron time');
	assert.ok(lines.some((line) => /^fire tick \(scheduled .*\.000Z\)$/.test(line)), lines.join('\n'));
	assert.ok(lines.includes('finish tick in 1ms: 1 requests done, 0 failed, 1 items'), lines.join('\n'));
	const count = runTimes.length;
	await new Promise((resolve) => setTimeout(resolve, 1200));
	assert.equal(runTimes.length, count, 'nothing fires after stop()');
});

test('startScheduler checks schedules given from code, naming the crawler and field', async () => {
	await assert.rejects(
		startScheduler([{name: 'wiki', schedule: {cron: '61 * * * *'}}], {run: async () => ({})}),
		(error: unknown) =>
			isCrawljarError(error) &&
			error.code === 'ERR_SCHEDULE' &&
			error.message.startsWith("wiki: schedule.cron: invalid cron expression '61 * * * *'"),
	);
	await assert.rejects(
		startScheduler([{name: 'wiki', schedule: {cron: '* * * * *', timezone: 'Nowhere/Land'}}], {run: async () => ({})}),
		/^CrawljarError: wiki: schedule\.timezone: invalid timezone 'Nowhere\/Land'/,
	);
});

test('startScheduler catches up once from a persisted last fire', async () => {
	const lastFire = memoryLastFire();
	await lastFire.set('daily', Date.now() - 3 * 86_400_000);
	const runs: string[] = [];
	const scheduler = await startScheduler(
		[{name: 'daily', schedule: {cron: '0 3 * * *', timezone: 'UTC', catchUp: 'once'}}],
		{run: async (name) => runs.push(name), lastFire},
	);
	await scheduler.stop(); // waits for the catch-up run
	assert.deepEqual(runs, ['daily']);
	assert.ok(Date.now() - (await lastFire.get('daily'))! < 5000, 'the catch-up fire was persisted');
});
