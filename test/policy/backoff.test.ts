import assert from 'node:assert/strict';
import {test} from 'node:test';
import {backoffDelay} from '../../src/policy/backoff.js';

const backoff = {baseMs: 500, factor: 2, capMs: 60_000};

test('backoffDelay() stays within [0, min(cap, base * factor ** attempt))', () => {
	for (let attempt = 0; attempt < 40; attempt++) {
		const ceiling = Math.min(60_000, 500 * 2 ** attempt);
		assert.equal(backoffDelay(attempt, backoff, () => 0), 0);
		const top = backoffDelay(attempt, backoff, () => 0.999_999);
		assert.ok(top < ceiling && top >= Math.floor(ceiling * 0.999), `attempt ${attempt}: ${top} vs ${ceiling}`);
		assert.equal(backoffDelay(attempt, backoff, () => 0.5), Math.floor(ceiling / 2));
	}
});

test('backoffDelay() never exceeds the cap, even when the exponent overflows', () => {
	assert.equal(backoffDelay(5_000, backoff, () => 0.5), 30_000);
	assert.equal(backoffDelay(5_000, {baseMs: 1, factor: 10, capMs: 1_000}, () => 0.999_999), 999);
});

test('backoffDelay() spreads delays over the whole window (full jitter)', () => {
	let seed = 7;
	const random = (): number => {
		seed = (seed * 16_807) % 2_147_483_647;
		return (seed - 1) / 2_147_483_646;
	};
	const delays = Array.from({length: 2_000}, () => backoffDelay(3, backoff, random));
	const mean = delays.reduce((sum, delay) => sum + delay, 0) / delays.length;
	assert.ok(mean > 1_800 && mean < 2_200, `mean ${mean} near 4000 / 2`);
	assert.ok(Math.min(...delays) < 200 && Math.max(...delays) > 3_800);
	assert.ok(new Set(delays).size > 1_000, 'not clustered');
});

test('backoffDelay() uses Math.random by default', () => {
	const delay = backoffDelay(0, backoff);
	assert.ok(delay >= 0 && delay < 500);
});
