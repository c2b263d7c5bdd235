import assert from 'node:assert/strict';
import {test} from 'node:test';
import {DEFAULT_RETRY_OPTIONS, mergeRetryOptions, resolveRetryOptions, type RetryOptions} from '../../src/policy/retry-options.js';

test('resolveRetryOptions() with nothing gives the documented defaults', () => {
	const resolved = resolveRetryOptions();
	assert.deepEqual(resolved, DEFAULT_RETRY_OPTIONS);
	assert.equal(resolved.maxRetries, 5);
	assert.deepEqual(resolved.backoff, {baseMs: 500, factor: 2, capMs: 60_000});
	assert.equal(resolved.maxReloginsPerRequest, 3);
	assert.equal(resolved.maxRateLimitWaits, 20);
	assert.equal(resolved.maxRetryAfterMs, 600_000);
	assert.deepEqual(resolved.statuses, {
		loggedOut: [401],
		forbiddenAfterValid: true,
		rateLimited: [429],
		transient: [408, 500, 502, 503, 504, 522, 524],
	});
	assert.ok(resolved.networkCodes.transient.includes('EAI_AGAIN'));
	assert.ok(resolved.networkCodes.transient.includes('ERR_TIMEOUT'));
	assert.ok(!resolved.networkCodes.transient.includes('ENOTFOUND'));
});

test('resolveRetryOptions() merges nested objects field by field', () => {
	const resolved = resolveRetryOptions({backoff: {baseMs: 100}, statuses: {transient: [503]}});
	assert.deepEqual(resolved.backoff, {baseMs: 100, factor: 2, capMs: 60_000});
	assert.deepEqual(resolved.statuses.transient, [503]); // replaced, not concatenated
	assert.deepEqual(resolved.statuses.loggedOut, [401]);
	assert.equal(resolved.maxRetries, 5);
});

test('resolveRetryOptions() ignores an explicit undefined instead of erasing the default', () => {
	const partial = {maxRetries: undefined, backoff: {capMs: undefined}} as unknown as RetryOptions;
	const resolved = resolveRetryOptions(partial);
	assert.equal(resolved.maxRetries, 5);
	assert.equal(resolved.backoff.capMs, 60_000);
});

test('resolveRetryOptions() throws a TypeError naming the option by its path', () => {
	assert.throws(() => resolveRetryOptions({maxRetries: -1}), {name: 'TypeError', message: 'Invalid retry options: retry.maxRetries: expected an integer >= 0'});
	assert.throws(() => resolveRetryOptions({maxRetries: 1.5}), /retry\.maxRetries: expected an integer >= 0/);
	assert.throws(() => resolveRetryOptions({backoff: {factor: 0.5}}), /retry\.backoff\.factor: expected a finite number >= 1/);
	assert.throws(() => resolveRetryOptions({maxRetryAfterMs: Number.NaN}), /retry\.maxRetryAfterMs: expected a finite number >= 0/);
	assert.throws(() => resolveRetryOptions({statuses: {transient: 503}} as never), /retry\.statuses\.transient: expected an array of status codes/);
});

test('DEFAULT_RETRY_OPTIONS is frozen, arrays included', () => {
	assert.ok(Object.isFrozen(DEFAULT_RETRY_OPTIONS));
	assert.ok(Object.isFrozen(DEFAULT_RETRY_OPTIONS.statuses.transient));
	assert.throws(() => (DEFAULT_RETRY_OPTIONS.statuses.transient as number[]).push(404));
});

test('mergeRetryOptions() applies a route override on top of resolved options', () => {
	const isTransient = (): boolean => true;
	const base = resolveRetryOptions({maxRetries: 2});
	const merged = mergeRetryOptions(base, {maxRetries: 7, statuses: {rateLimited: [429, 420]}, isTransient});
	assert.equal(merged.maxRetries, 7);
	assert.deepEqual(merged.statuses.rateLimited, [429, 420]);
	assert.deepEqual(merged.statuses.transient, base.statuses.transient);
	assert.equal(merged.isTransient, isTransient);
	assert.equal(base.maxRetries, 2, 'the base is not modified');
	assert.deepEqual(mergeRetryOptions(base), base, 'no override: same values');
});

test('mergeRetryOptions() of two partials stays partial and skips undefined', () => {
	const merged = mergeRetryOptions({backoff: {baseMs: 10}}, {backoff: {capMs: 20}});
	assert.deepEqual(merged, {backoff: {baseMs: 10, capMs: 20}});
});
