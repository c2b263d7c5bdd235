import assert from 'node:assert/strict';
import {test} from 'node:test';
import {z} from 'zod';
import {normalizeSchedule, scheduleSchema} from '../../src/scheduler/schedule-options.js';

// The definition loader embeds the schema under `schedule` and prints `path: message` per issue.
const definition = z.object({schedule: scheduleSchema.optional()});

function problems(schedule: unknown): string[] {
	const parsed = definition.safeParse({schedule});
	if (parsed.success) return [];
	return parsed.error.issues.map((issue) => `${issue.path.map(String).join('.')}: ${issue.message}`);
}

test('scheduleSchema accepts 5- and 6-field crons, nicknames and the object form', () => {
	for (const schedule of [
		'0 */6 * * *',
		'*/10 * * * * *',
		'@daily',
		{cron: '0 9 * * 1-5', timezone: 'Europe/Paris'},
		{cron: '30 0 * * *', timezone: 'UTC', overlap: 'queue', catchUp: 'once'},
		undefined,
	]) {
		assert.deepEqual(problems(schedule), [], JSON.stringify(schedule));
	}
});

test('scheduleSchema names schedule.cron for an invalid cron, in both forms', () => {
	assert.deepEqual(problems('61 * * * *'), [
		"schedule.cron: invalid cron expression '61 * * * *': CronPattern: Invalid value for minute: 61",
	]);
	assert.deepEqual(problems({cron: '61 * * * *'}), [
		"schedule.cron: invalid cron expression '61 * * * *': CronPattern: Invalid value for minute: 61",
	]);
	const sevenFields = problems('* * * * * * *');
	assert.equal(sevenFields.length, 1);
	assert.match(sevenFields[0]!, /^schedule\.cron: invalid cron expression '\* \* \* \* \* \* \*': .*five or six/);
	// croner would read this as a one-shot date; a schedule must be a cron.
	assert.match(problems('2026-01-01T00:00:00')[0]!, /^schedule\.cron: invalid cron expression/);
	assert.match(problems('')[0]!, /^schedule\.cron: invalid cron expression '':/);
});

test('scheduleSchema names schedule.timezone for an unknown zone', () => {
	const found = problems({cron: '0 9 * * *', timezone: 'Mars/Olympus_Mons'});
	assert.equal(found.length, 1);
	assert.match(found[0]!, /^schedule\.timezone: invalid timezone 'Mars\/Olympus_Mons': /);
	// Both fields wrong: both are reported.
	const both = problems({cron: 'nope', timezone: 'Nowhere/Land'});
	assert.deepEqual(
		both.map((line) => line.split(':')[0]),
		['schedule.timezone', 'schedule.cron'],
	);
});

test('scheduleSchema rejects unknown keys and bad policies', () => {
	assert.match(problems({cron: '* * * * *', timeZone: 'UTC'}).join('\n'), /timeZone/);
	assert.match(problems({cron: '* * * * *', overlap: 'parallel'})[0]!, /^schedule\.overlap: /);
	assert.match(problems({cron: '* * * * *', catchUp: 'all'})[0]!, /^schedule\.catchUp: /);
	assert.deepEqual(problems(42), ['schedule: expected a cron string or { cron, timezone?, overlap?, catchUp? }']);
	assert.deepEqual(problems({timezone: 'UTC'}), ['schedule.cron: Invalid input: expected string, received undefined']);
});

test('normalizeSchedule fills the defaults', () => {
	assert.deepEqual(normalizeSchedule('0 */6 * * *'), {cron: '0 */6 * * *', overlap: 'skip', catchUp: 'none'});
	assert.deepEqual(normalizeSchedule({cron: '* * * * * *', timezone: 'UTC', overlap: 'queue'}), {
		cron: '* * * * * *',
		timezone: 'UTC',
		overlap: 'queue',
		catchUp: 'none',
	});
	assert.equal('timezone' in normalizeSchedule({cron: '* * * * *', catchUp: 'once'}), false);
});
