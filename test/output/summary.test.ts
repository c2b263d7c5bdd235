import assert from 'node:assert/strict';
import {test} from 'node:test';
import {redactUrl} from '../../src/errors.js';
import {formatBytes} from '../../src/output/format.js';
import {formatDuration, formatSummary, formatTable, type RunSummary} from '../../src/output/summary.js';
import {ErrorTally} from '../../src/output/top-errors.js';

test('formatDuration picks ms, tenths of seconds, then minutes and hours', () => {
	assert.equal(formatDuration(0), '0ms');
	assert.equal(formatDuration(350.4), '350ms');
	assert.equal(formatDuration(4200), '4.2s');
	assert.equal(formatDuration(59_940), '59.9s');
	assert.equal(formatDuration(59_960), '1m 00s');
	assert.equal(formatDuration(123_000), '2m 03s');
	assert.equal(formatDuration(3_723_000), '1h 02m 03s');
	assert.equal(formatDuration(26 * 3_600_000), '26h 00m 00s');
	assert.equal(formatDuration(-5), '0ms');
	assert.equal(formatDuration(Number.NaN), '0ms');
});

test('formatBytes uses binary units', () => {
	assert.equal(formatBytes(0), '0 B');
	assert.equal(formatBytes(1023), '1023 B');
	assert.equal(formatBytes(1536), '1.5 KiB');
	assert.equal(formatBytes(10.2 * 1024 * 1024), '10.2 MiB');
});

test('formatTable aligns columns, right-aligns numbers and leaves no trailing spaces', () => {
	const table = formatTable([
		{id: 'alice-1', state: 'ready', requests: 1204, lastError: null},
		{id: 'bob', state: 'disabled', requests: 7, lastError: 'LOGIN_FAILED'},
	]);
	assert.equal(
		table,
		[
			'id       state     requests  lastError',
			'alice-1  ready         1204',
			'bob      disabled         7  LOGIN_FAILED',
		].join('\n'),
	);
});

test('formatTable honours column order, headers, alignment, formatters and maxWidth', () => {
	const rows = [
		{url: 'https://example.com/a/very/long/path?q=…', status: 503, when: new Date('2026-08-01T10:00:00Z'), extra: {a: 1}},
		{url: 'https://example.com/b', status: undefined, when: new Date('2026-08-01T11:00:00Z'), extra: [1, 2]},
	];
	const table = formatTable(rows, [
		{key: 'status', header: 'STATUS', align: 'left'},
		{key: 'url', header: 'URL', maxWidth: 24},
		'when',
		{key: 'extra', header: 'EXTRA', format: (value) => (Array.isArray(value) ? `${value.length} values` : JSON.stringify(value))},
	]);
	assert.equal(
		table,
		[
			'STATUS  URL                       when                      EXTRA',
			'503     https://example.com/a/v…  2026-08-01T10:00:00.000Z  {"a":1}',
			'        https://example.com/b     2026-08-01T11:00:00.000Z  2 values',
		].join('\n'),
	);
});

test('formatTable escapes control characters from scraped text', () => {
	const table = formatTable([{error: 'bad\nline\x1b[31mred\ttab'}]);
	assert.equal(table, 'error\nbad\\nline\\x1b[31mred tab');
});

test('formatTable of no rows', () => {
	assert.equal(formatTable([]), '');
	assert.equal(formatTable([], ['id', {key: 'state', header: 'STATE'}]), 'id  STATE');
});

test('ErrorTally counts per code, keeps the first example redacted, sorts by count', () => {
	const tally = new ErrorTally();
	tally.add('ERR_TIMEOUT', 'https://user:secret@example.com/slow?token=abc');
	tally.add('ERR_HTTP_STATUS', 'https://example.com/missing');
	tally.add('ERR_HTTP_STATUS', 'https://example.com/other');
	tally.add('ERR_NETWORK', 'https://down.example/');
	tally.add('ERR_TIMEOUT', 'https://example.com/second');
	tally.add('ERR_TIMEOUT', 'not a url');
	assert.equal(tally.size, 3);
	assert.deepEqual(tally.top(2), [
		{code: 'ERR_TIMEOUT', count: 3, example: redactUrl('https://user:secret@example.com/slow?token=abc')},
		{code: 'ERR_HTTP_STATUS', count: 2, example: 'https://example.com/missing'},
	]);
	assert.equal(tally.top().length, 3);
	assert.deepEqual(tally.top(0), []);
	const late = new ErrorTally();
	late.add('B', 'https://b.example/');
	late.add('A', 'https://a.example/');
	assert.deepEqual(late.top().map((error) => error.code), ['B', 'A'], 'ties keep first-seen order');
	const examples = JSON.stringify(tally.top());
	assert.ok(!examples.includes('secret') && !examples.includes('abc') && !examples.includes('user'), examples);
});

const fullSummary: RunSummary = {
	runId: 3,
	crawler: 'wiki',
	state: 'finished',
	startedAt: Date.parse('2026-08-01T10:00:00.000Z'),
	finishedAt: Date.parse('2026-08-01T11:02:03.000Z'),
	durationMs: 3_723_000,
	requests: {done: 12_040, failed: 14, retried: 231},
	items: 3120,
	pagesPerSecond: 3.234,
	topErrors: [
		{code: 'ERR_TIMEOUT', count: 12, example: 'https://wiki.example.com/slow?id=…'},
		{code: 'ERR_HTTP_STATUS', count: 2, example: 'https://wiki.example.com/gone'},
	],
	hosts: {
		'wiki.example.com': {
			requests: 12_000,
			bytes: 125_829_120,
			retries: {429: 200, ERR_TIMEOUT: 12},
			status401: 3,
			status429: 200,
			cooldownMs: 95_000,
			rate: 5,
		},
		'cdn.example.com': {requests: 54, bytes: 2048, retries: {}, status401: 0, status429: 0, cooldownMs: 0},
	},
	sessions: {
		'alice#1': {requests: 6020, logins: 1, relogins: 2, status401: 2},
		'bob#1': {requests: 6020, logins: 1, relogins: 1, status401: 1},
	},
};

test('formatSummary renders key/values, top errors, hosts and sessions', () => {
	assert.equal(
		formatSummary(fullSummary),
		`Run 3 of wiki finished
  started   2026-08-01T10:00:00.000Z
  finished  2026-08-01T11:02:03.000Z
  duration  1h 02m 03s
  requests  12,040 done, 14 failed, 231 retried
  items     3,120
  rate      3.2 pages/s

Top errors
  CODE             COUNT  EXAMPLE
  ERR_TIMEOUT         12  https://wiki.example.com/slow?id=…
  ERR_HTTP_STATUS      2  https://wiki.example.com/gone

Hosts
  HOST              REQUESTS      BYTES  RETRIES                       401  429  COOLDOWN   RATE
  wiki.example.com    12,000  120.0 MiB  212 (429:200 ERR_TIMEOUT:12)    3  200    1m 35s  5.0/s
  cdn.example.com         54    2.0 KiB  0                               0    0       0ms      -

Sessions
  SESSION  REQUESTS  LOGINS  RELOGINS  401
  alice#1     6,020       1         2    2
  bob#1       6,020       1         1    1`,
	);
});

test('formatSummary of a stopped run without errors, hosts or sessions', () => {
	const summary: RunSummary = {
		runId: 4,
		crawler: 'shop',
		state: 'stopped',
		startedAt: Date.parse('2026-08-02T00:00:00.000Z'),
		finishedAt: Date.parse('2026-08-02T00:00:04.200Z'),
		durationMs: 4200,
		requests: {done: 0, failed: 0, retried: 0},
		items: 0,
		pagesPerSecond: 0,
		topErrors: [],
		hosts: {},
		stoppedReason: 'SIGINT\x1b[2J',
	};
	assert.equal(
		formatSummary(summary),
		`Run 4 of shop stopped
  started   2026-08-02T00:00:00.000Z
  finished  2026-08-02T00:00:04.200Z
  duration  4.2s
  requests  0 done, 0 failed, 0 retried
  items     0
  rate      0.0 pages/s
  reason    SIGINT\\x1b[2J`,
	);
});

test('formatSummary shows login requests per host and refreshes per session only when there are some', () => {
	const text = formatSummary({
		...fullSummary,
		hosts: {'api.example.com': {requests: 30, loginRequests: 4, bytes: 1024, retries: {}, status401: 1, status429: 1, cooldownMs: 2_000}},
		sessions: {'ada#1': {requests: 26, logins: 1, relogins: 0, refreshes: 2, refreshesAfterLogout: 1, status401: 1}},
	});
	assert.match(text, /HOST\s+REQUESTS\s+LOGIN REQUESTS\s+BYTES/);
	assert.match(text, /api\.example\.com\s+30\s+4\s/);
	assert.match(text, /SESSION\s+REQUESTS\s+LOGINS\s+RELOGINS\s+REFRESHES\s+REFRESHES AFTER 401\s+401/);
	assert.match(text, /ada#1\s+26\s+1\s+0\s+2\s+1\s+1$/m);
	assert.doesNotMatch(formatSummary(fullSummary), /LOGIN REQUESTS|REFRESHES/);
});
