import assert from 'node:assert/strict';
import {test} from 'node:test';
import {parseRateLimitReset, parseRetryAfter} from '../../src/policy/retry-after.js';

const NOW = Date.UTC(2026, 7, 1, 12, 0, 0); // Sat, 01 Aug 2026 12:00:00 GMT

test('parseRetryAfter() reads delta-seconds', () => {
	assert.equal(parseRetryAfter('120', NOW), 120_000);
	assert.equal(parseRetryAfter(' 5 ', NOW), 5_000);
	assert.equal(parseRetryAfter('0', NOW), 0);
	assert.equal(parseRetryAfter('1.5', NOW), 1_500);
});

test('parseRetryAfter() turns negative seconds into 0', () => {
	assert.equal(parseRetryAfter('-3', NOW), 0);
});

test('parseRetryAfter() reads an IMF-fixdate', () => {
	assert.equal(parseRetryAfter('Sat, 01 Aug 2026 12:00:30 GMT', NOW), 30_000);
	assert.equal(parseRetryAfter('sat, 01 aug 2026 13:00:00 gmt', NOW), 3_600_000);
});

test('parseRetryAfter() reads the obsolete RFC 850 and asctime forms as GMT', () => {
	assert.equal(parseRetryAfter('Saturday, 01-Aug-26 12:01:00 GMT', NOW), 60_000);
	assert.equal(parseRetryAfter('Sat Aug  1 12:00:10 2026', NOW), 10_000);
	// A two-digit year more than 50 years ahead belongs to the previous century: in the past.
	assert.equal(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', NOW), 0);
});

test('parseRetryAfter() gives 0 for a date in the past', () => {
	assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', NOW), 0);
});

test('parseRetryAfter() gives undefined for a missing or unreadable value', () => {
	assert.equal(parseRetryAfter(undefined, NOW), undefined);
	for (const garbage of ['', 'soon', 'hello 1', '1e3', '5s', 'Sat, 01 Foo 2026 12:00:30 GMT', 'Sat, 41 Aug 2026 12:00:30 GMT', 'Sat, 01 Aug 2026 25:00:30 GMT', 'Sat, 01 Aug 2026 12:00:30 CEST']) {
		assert.equal(parseRetryAfter(garbage, NOW), undefined, garbage);
	}
	assert.equal(parseRetryAfter('9'.repeat(400), NOW), undefined, 'an overflowing number');
});

test('parseRateLimitReset() reads RateLimit t=, RateLimit-Reset and X-RateLimit-Reset (delta or epoch)', () => {
	const headers = (values: Record<string, string>) => (name: string) => values[name];
	assert.equal(parseRateLimitReset(headers({ratelimit: '"default";r=0;t=30'}), NOW), 30_000);
	assert.equal(parseRateLimitReset(headers({'ratelimit-reset': '12'}), NOW), 12_000);
	assert.equal(parseRateLimitReset(headers({'x-ratelimit-reset': '7'}), NOW), 7_000);
	assert.equal(parseRateLimitReset(headers({'x-ratelimit-reset': String(NOW / 1000 + 45)}), NOW), 45_000, 'an epoch in seconds');
	assert.equal(parseRateLimitReset(headers({'x-ratelimit-reset': String(NOW / 1000 - 5)}), NOW), 0, 'an epoch in the past');
	assert.equal(parseRateLimitReset(headers({'x-ratelimit-reset': 'soon'}), NOW), undefined);
	assert.equal(parseRateLimitReset(headers({}), NOW), undefined);
});
