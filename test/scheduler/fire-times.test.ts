import assert from 'node:assert/strict';
import {test} from 'node:test';
import {isCrawljarError} from '../../src/errors.js';
import {FireTimes} from '../../src/scheduler/fire-times.js';
import {normalizeSchedule, type ScheduleOption} from '../../src/scheduler/schedule-options.js';
import {Scheduler} from '../../src/scheduler/scheduler.js';
import {FakeClock, fakeDeps} from './fake-clock.js';

function upcoming(schedule: ScheduleOption, fromIso: string, count: number): string[] {
	return new FireTimes('t', normalizeSchedule(schedule))
		.upcoming(Date.parse(fromIso), count)
		.map((date) => date.toISOString());
}

test('FireTimes.upcoming for a 5-field cron', () => {
	assert.deepEqual(upcoming({cron: '*/15 * * * *', timezone: 'UTC'}, '2026-01-15T10:07:30.000Z', 3), [
		'2026-01-15T10:15:00.000Z',
		'2026-01-15T10:30:00.000Z',
		'2026-01-15T10:45:00.000Z',
	]);
	assert.deepEqual(upcoming({cron: '0 */6 * * *', timezone: 'UTC'}, '2026-01-15T19:00:00.000Z', 2), [
		'2026-01-16T00:00:00.000Z',
		'2026-01-16T06:00:00.000Z',
	]);
});

test('FireTimes.upcoming for a 6-field cron with seconds', () => {
	assert.deepEqual(upcoming('*/10 * * * * *', '2026-01-15T10:00:03.250Z', 3), [
		'2026-01-15T10:00:10.000Z',
		'2026-01-15T10:00:20.000Z',
		'2026-01-15T10:00:30.000Z',
	]);
	assert.deepEqual(upcoming('30 0 12 * * *', '2026-01-15T00:00:00.000Z', 1).length, 1);
	assert.match(upcoming({cron: '30 0 12 * * *', timezone: 'UTC'}, '2026-01-15T00:00:00.000Z', 1)[0]!, /T12:00:30\.000Z$/);
});

test('FireTimes.next is strictly after the given time', () => {
	const times = new FireTimes('t', normalizeSchedule({cron: '0 * * * *', timezone: 'UTC'}));
	assert.equal(times.next(Date.parse('2026-01-15T10:00:00.000Z')), Date.parse('2026-01-15T11:00:00.000Z'));
	assert.equal(times.next(Date.parse('2026-01-15T09:59:59.999Z')), Date.parse('2026-01-15T10:00:00.000Z'));
});

test('FireTimes reads the cron in its timezone: Europe/Paris vs UTC, winter and summer', () => {
	const from = '2026-01-15T00:00:00.000Z';
	assert.deepEqual(upcoming({cron: '0 9 * * *', timezone: 'UTC'}, from, 1), ['2026-01-15T09:00:00.000Z']);
	assert.deepEqual(upcoming({cron: '0 9 * * *', timezone: 'Europe/Paris'}, from, 1), ['2026-01-15T08:00:00.000Z']);
	assert.deepEqual(upcoming({cron: '0 9 * * *', timezone: 'Europe/Paris'}, '2026-07-15T00:00:00.000Z', 1), [
		'2026-07-15T07:00:00.000Z',
	]);
	// Across the spring-forward night the UTC gap between two 09:00 Paris fires is 23 h.
	assert.deepEqual(upcoming({cron: '0 9 * * *', timezone: 'Europe/Paris'}, '2026-03-28T12:00:00.000Z', 2), [
		'2026-03-29T07:00:00.000Z',
		'2026-03-30T07:00:00.000Z',
	]);
	assert.deepEqual(upcoming({cron: '0 9 * * *', timezone: 'Europe/Paris'}, '2026-03-27T12:00:00.000Z', 2), [
		'2026-03-28T08:00:00.000Z',
		'2026-03-29T07:00:00.000Z',
	]);
});

test('FireTimes rejects a bad cron or zone given from code with ERR_SCHEDULE naming the crawler and field', () => {
	assert.throws(
		() => new FireTimes('wiki', normalizeSchedule('61 * * * *')),
		(error: unknown) => isCrawljarError(error) && error.code === 'ERR_SCHEDULE' && /^wiki: schedule\.cron: invalid cron expression '61 \* \* \* \*'/.test(error.message),
	);
	assert.throws(
		() => new FireTimes('wiki', normalizeSchedule({cron: '* * * * *', timezone: 'Nowhere/Land'})),
		(error: unknown) => isCrawljarError(error) && /^wiki: schedule\.timezone: invalid timezone 'Nowhere\/Land'/.test(error.message),
	);
});

test('Scheduler.nextFires counts from the injected clock', () => {
	const clock = new FakeClock('2026-01-15T10:07:30.000Z');
	const scheduler = new Scheduler(
		[
			{name: 'a', schedule: normalizeSchedule({cron: '*/15 * * * *', timezone: 'UTC'})},
			{name: 'b', schedule: normalizeSchedule({cron: '0 9 * * *', timezone: 'Europe/Paris'})},
		],
		fakeDeps(clock),
	);
	assert.deepEqual(
		scheduler.nextFires('a', 2).map((date) => date.toISOString()),
		['2026-01-15T10:15:00.000Z', '2026-01-15T10:30:00.000Z'],
	);
	assert.deepEqual(
		scheduler.nextFires('b', 2).map((date) => date.toISOString()),
		['2026-01-16T08:00:00.000Z', '2026-01-17T08:00:00.000Z'],
	);
	clock.nowMs = Date.parse('2026-01-15T10:30:00.000Z');
	assert.equal(scheduler.nextFires('a', 1)[0]!.toISOString(), '2026-01-15T10:45:00.000Z');
	assert.throws(() => scheduler.nextFires('nope', 1), /no scheduled crawler named 'nope'/);
});

test('FireTimes.latest is the last fire in (after, until], found without walking every fire', () => {
	const hourly = new FireTimes('h', normalizeSchedule({cron: '0 * * * *', timezone: 'UTC'}));
	const at = (iso: string) => Date.parse(iso);
	assert.equal(hourly.latest(at('2026-01-15T09:00:00Z'), at('2026-01-15T12:30:00Z')), at('2026-01-15T12:00:00Z'));
	assert.equal(hourly.latest(at('2026-01-15T09:00:00Z'), at('2026-01-15T12:00:00Z')), at('2026-01-15T12:00:00Z'), 'until is included');
	assert.equal(hourly.latest(at('2026-01-15T09:00:00Z'), at('2026-01-15T09:59:59Z')), undefined, 'none in between');
	assert.equal(hourly.latest(at('2026-01-15T09:00:00Z'), at('2026-01-15T10:00:00Z')), at('2026-01-15T10:00:00Z'), 'exactly one');
	const everySecond = new FireTimes('s', normalizeSchedule('* * * * * *'));
	const started = performance.now();
	assert.equal(everySecond.latest(at('2026-01-01T00:00:00Z'), at('2026-01-08T00:00:00.500Z')), at('2026-01-08T00:00:00Z'));
	assert.ok(performance.now() - started < 2000, 'a week of per-second fires is not walked one by one');
});
