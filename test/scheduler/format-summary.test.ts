import assert from 'node:assert/strict';
import {test} from 'node:test';
import {formatDuration, formatRunSummary} from '../../src/scheduler/format-summary.js';

test('formatRunSummary prints the fields present and nothing else', () => {
	assert.equal(
		formatRunSummary({durationMs: 83_400, requests: {done: 120, failed: 3, pending: 0}, items: 117}, 1),
		'in 1m23s: 120 requests done, 3 failed, 117 items',
	);
	assert.equal(formatRunSummary({requests: {done: 4}}, 250), 'in 250ms: 4 requests done');
	assert.equal(formatRunSummary(undefined, 2500), 'in 2.5s');
	assert.equal(formatRunSummary({items: 'many', requests: null}, 10), 'in 10ms');
});

test('formatDuration', () => {
	assert.equal(formatDuration(0), '0ms');
	assert.equal(formatDuration(999), '999ms');
	assert.equal(formatDuration(12_345), '12.3s');
	assert.equal(formatDuration(3_725_000), '1h2m');
});
