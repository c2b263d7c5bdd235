import assert from 'node:assert/strict';
import {test} from 'node:test';
import {judge, type Verdict} from '../../src/policy/judge.js';
import type {AttemptCounters, Outcome} from '../../src/policy/outcome.js';
import {DEFAULT_RETRY_OPTIONS, resolveRetryOptions} from '../../src/policy/retry-options.js';

const NOW = Date.UTC(2026, 7, 1, 12, 0, 0);
const LOGIN = 'https://shop.test/login';
const FRESH: AttemptCounters = {retryCount: 0, reloginCount: 0, rateLimitCount: 0};
const options = DEFAULT_RETRY_OPTIONS;
const half = (): number => 0.5;

/** A secret in the URL and in headers: no reason may ever carry them. */
function outcome(fields: Partial<Outcome> = {}): Outcome {
	return {
		url: 'https://shop.test/orders?token=SECRET-TOKEN',
		redirects: [],
		loginUrl: LOGIN,
		hasSession: true,
		headers: {'set-cookie': 'sid=SECRET-COOKIE', 'x-debug': 'SECRET-HEADER'},
		...fields,
	};
}

function run(fields: Partial<Outcome>, counters: Partial<AttemptCounters> = {}, retryOptions = options): Verdict {
	const verdict = judge(outcome(fields), {...FRESH, ...counters}, retryOptions, half, NOW);
	if ('reason' in verdict) {
		assert.doesNotMatch(verdict.reason, /SECRET|shop\.test|GMT|2026/, 'reasons carry no URL or header value');
	}
	return verdict;
}

function assertFail(verdict: Verdict, code: string): void {
	assert.equal(verdict.kind, 'fail', JSON.stringify(verdict));
	assert.ok(verdict.kind === 'fail');
	assert.equal(verdict.code, code);
	assert.equal(verdict.retryable, false);
}

test('judge(): a 200 is done', () => {
	assert.deepEqual(run({status: 200}), {kind: 'done'});
	assert.deepEqual(run({status: 304}), {kind: 'done'});
});

test('judge(): a 401 with a session re-logs-in', () => {
	assert.deepEqual(run({status: 401}), {kind: 'relogin', cause: '401', reason: 'HTTP 401 (logged out)'});
});

test('judge(): a 401 without a login is a permanent failure', () => {
	assertFail(run({status: 401, hasSession: false}), 'ERR_HTTP_STATUS');
});

test('judge(): a 403 re-logs-in only on a session that was valid', () => {
	assert.equal(run({status: 403, sessionWasValid: true}).kind, 'relogin');
	assertFail(run({status: 403, sessionWasValid: false}), 'ERR_HTTP_STATUS');
	assertFail(run({status: 403}), 'ERR_HTTP_STATUS');
	const strict = resolveRetryOptions({statuses: {forbiddenAfterValid: false}});
	assertFail(run({status: 403, sessionWasValid: true}, {}, strict), 'ERR_HTTP_STATUS');
	assertFail(run({status: 403, sessionWasValid: true, hasSession: false}), 'ERR_HTTP_STATUS');
});

test('judge(): a redirect to the login page re-logs-in, whatever its query', () => {
	const verdict = run({status: 200, url: `${LOGIN}?next=%2Forders`, redirects: [`${LOGIN}?next=%2Forders`]});
	assert.deepEqual(verdict, {kind: 'relogin', cause: 'login-redirect', reason: 'redirected to the login page'});
	// The hop counts even when the login page redirected on (to a landing page).
	assert.equal(run({status: 200, url: 'https://shop.test/', redirects: [`${LOGIN}/`, 'https://shop.test/']}).kind, 'relogin');
});

test('judge(): other redirects, and the login page requested directly, are not a logout', () => {
	assert.equal(run({status: 200, url: 'https://shop.test/orders/2', redirects: ['https://shop.test/orders/2']}).kind, 'done');
	assert.equal(run({status: 200, url: 'https://other.test/login', redirects: ['https://other.test/login']}).kind, 'done');
	assert.equal(run({status: 200, url: 'https://shop.test/login-help', redirects: ['https://shop.test/login-help']}).kind, 'done');
	assert.equal(run({status: 200, url: LOGIN, redirects: []}).kind, 'done');
});

test('judge(): the loggedOut page predicate re-logs-in; without a login it fails', () => {
	assert.deepEqual(run({status: 200, isLoggedOutPage: true}), {kind: 'relogin', cause: 'loggedOut-page', reason: 'logged-out page'});
	assertFail(run({status: 200, isLoggedOutPage: true, hasSession: false}), 'ERR_LOGGED_OUT');
});

test('judge(): a deleted auth cookie re-logs-in', () => {
	assert.deepEqual(run({status: 200, deletedAuthCookie: true}), {kind: 'relogin', cause: 'auth-cookie-deleted', reason: 'the auth cookie was deleted'});
});

test('judge(): re-logins are bounded by maxReloginsPerRequest', () => {
	assert.equal(run({status: 401}, {reloginCount: 2}).kind, 'relogin');
	assertFail(run({status: 401}, {reloginCount: 3}), 'ERR_LOGGED_OUT');
	assertFail(run({status: 401}, {reloginCount: 0}, resolveRetryOptions({maxReloginsPerRequest: 0})), 'ERR_LOGGED_OUT');
});

test('judge(): a 429 without Retry-After waits a full-jitter backoff on the rate-limit count', () => {
	assert.deepEqual(run({status: 429}), {
		kind: 'wait',
		counter: 'rateLimitCount',
		delayMs: 250,
		hostCooldownMs: 250,
		deferred: false,
		cause: '429',
		reason: 'HTTP 429 (rate limited); waiting 250 ms (backoff)',
	});
	const third = run({status: 429}, {rateLimitCount: 3, retryCount: 4});
	assert.ok(third.kind === 'wait' && third.counter === 'rateLimitCount');
	assert.equal(third.delayMs, 2_000); // 0.5 * 500 * 2 ** 3: the rate-limit count, not the retry count
});

test('judge(): a 429 without Retry-After but with a rate-limit reset header waits for the reset', () => {
	const verdict = run({status: 429, headers: {'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '20'}});
	assert.ok(verdict.kind === 'wait' && verdict.counter === 'rateLimitCount');
	assert.equal(verdict.delayMs, 20_000);
	assert.equal(verdict.hostCooldownMs, 20_000);
	assert.match(verdict.reason, /rate-limit reset header/);
	const both = run({status: 429, headers: {'retry-after': '3', 'ratelimit-reset': '20'}});
	assert.ok(both.kind === 'wait' && both.counter === 'rateLimitCount');
	assert.equal(both.delayMs, 3_000, 'Retry-After wins');
});

test('judge(): a 429 with Retry-After in seconds or as an HTTP-date honours it', () => {
	const seconds = run({status: 429, headers: {'retry-after': '30'}});
	assert.ok(seconds.kind === 'wait' && seconds.counter === 'rateLimitCount');
	assert.equal(seconds.delayMs, 30_000);
	assert.equal(seconds.hostCooldownMs, 30_000);
	assert.equal(seconds.deferred, false);
	assert.match(seconds.reason, /Retry-After/);

	const date = run({status: 429, headers: {'Retry-After': 'Sat, 01 Aug 2026 12:02:00 GMT'}});
	assert.ok(date.kind === 'wait' && date.counter === 'rateLimitCount');
	assert.equal(date.delayMs, 120_000);

	const garbage = run({status: 429, headers: {'retry-after': 'later'}});
	assert.ok(garbage.kind === 'wait' && garbage.counter === 'rateLimitCount');
	assert.equal(garbage.delayMs, 250, 'unreadable Retry-After: backoff');
});

test('judge(): a Retry-After beyond maxRetryAfterMs defers the request to that time', () => {
	const verdict = run({status: 429, headers: {'retry-after': '3600'}});
	assert.ok(verdict.kind === 'wait' && verdict.counter === 'rateLimitCount');
	assert.equal(verdict.deferred, true);
	assert.equal(verdict.delayMs, 3_600_000);
	assert.equal(verdict.hostCooldownMs, 3_600_000, 'the host is left alone until then');
	assert.match(verdict.reason, /deferred/);

	const absurd = run({status: 429, headers: {'retry-after': String(10 ** 12)}});
	assert.ok(absurd.kind === 'wait' && absurd.counter === 'rateLimitCount');
	assert.equal(absurd.delayMs, 7 * 24 * 3_600_000, 'capped at 7 days');
	assert.equal(absurd.deferred, true);

	const atLimit = run({status: 429, headers: {'retry-after': '600'}});
	assert.ok(atLimit.kind === 'wait' && atLimit.counter === 'rateLimitCount' && !atLimit.deferred);
});

test('judge(): rate-limit waits are bounded by maxRateLimitWaits, apart from maxRetries', () => {
	assert.equal(run({status: 429}, {rateLimitCount: 19, retryCount: 5}).kind, 'wait');
	assertFail(run({status: 429}, {rateLimitCount: 20}), 'ERR_RATE_LIMITED');
});

test('judge(): the rate-limited page predicate and isRateLimited() mark a 200 rate-limited', () => {
	assert.equal(run({status: 200, isRateLimitedPage: true}).kind, 'wait');
	const custom = resolveRetryOptions({isRateLimited: (ctx) => ctx.status === 420});
	assert.equal(run({status: 420}, {}, custom).kind, 'wait');
	assertFail(run({status: 420}), 'ERR_HTTP_STATUS');
});

test('judge(): a 503 with Retry-After honours it and cools the host down', () => {
	const verdict = run({status: 503, headers: {'retry-after': '12'}}, {retryCount: 2});
	assert.deepEqual(verdict, {
		kind: 'wait',
		counter: 'retryCount',
		delayMs: 12_000,
		hostCooldownMs: 12_000,
		deferred: false,
		cause: '503',
		reason: 'HTTP 503; retrying in 12000 ms (Retry-After)',
	});
	const long = run({status: 503, headers: {'retry-after': '7200'}});
	assert.ok(long.kind === 'wait' && long.counter === 'retryCount' && long.deferred && long.delayMs === 7_200_000);
});

test('judge(): transient statuses retry with full-jitter backoff on the retry count', () => {
	for (const status of [408, 500, 502, 503, 504, 522, 524]) {
		assert.deepEqual(run({status}), {
			kind: 'wait',
			counter: 'retryCount',
			delayMs: 250,
			hostCooldownMs: 0,
			deferred: false,
			cause: String(status),
			reason: `HTTP ${status}; retry 1 of 5 in 250 ms`,
		});
	}
	const later = run({status: 500}, {retryCount: 4});
	assert.ok(later.kind === 'wait' && later.counter === 'retryCount');
	assert.equal(later.delayMs, 4_000); // 0.5 * 500 * 2 ** 4
	const capped = run({status: 500}, {retryCount: 4}, resolveRetryOptions({maxRetries: 50, backoff: {capMs: 1_000}}));
	assert.ok(capped.kind === 'wait' && capped.counter === 'retryCount' && capped.delayMs === 500);
});

test('judge(): transient network codes retry', () => {
	const cases = [
		{code: 'ERR_NETWORK', networkCode: 'ECONNRESET'}, // "socket hang up" too
		{code: 'ERR_NETWORK', networkCode: 'ECONNREFUSED'},
		{code: 'ERR_NETWORK', networkCode: 'EPIPE'},
		{code: 'ERR_NETWORK', networkCode: 'EAI_AGAIN'},
		{code: 'ERR_TIMEOUT', networkCode: 'ETIMEDOUT'},
		{code: 'ERR_TIMEOUT'},
	];
	for (const error of cases) {
		const verdict = run({error});
		assert.equal(verdict.kind, 'wait', JSON.stringify(error));
	}
	const verdict = run({error: {code: 'ERR_NETWORK', networkCode: 'ECONNRESET'}});
	assert.ok(verdict.kind === 'wait' && verdict.counter === 'retryCount');
	assert.equal(verdict.reason, 'ERR_NETWORK (ECONNRESET); retry 1 of 5 in 250 ms');
});

test('judge(): ENOTFOUND and other unlisted network codes fail at once with that code', () => {
	assertFail(run({error: {code: 'ERR_NETWORK', networkCode: 'ENOTFOUND'}}), 'ENOTFOUND');
	assertFail(run({error: {code: 'ERR_NETWORK', networkCode: 'CERT_HAS_EXPIRED'}}), 'CERT_HAS_EXPIRED');
	assertFail(run({error: {code: 'ERR_NETWORK'}}), 'ERR_NETWORK');
	const lenient = resolveRetryOptions({networkCodes: {transient: ['ENOTFOUND']}});
	assert.equal(run({error: {code: 'ERR_NETWORK', networkCode: 'ENOTFOUND'}}, {}, lenient).kind, 'wait');
	assertFail(run({error: {code: 'ERR_NETWORK', networkCode: 'ECONNRESET'}}, {}, lenient), 'ECONNRESET');
});

test('judge(): a 404 and other 4xx fail without a retry', () => {
	for (const status of [400, 404, 405, 410, 451]) assertFail(run({status}), 'ERR_HTTP_STATUS');
	const verdict = run({status: 404});
	assert.ok(verdict.kind === 'fail');
	assert.equal(verdict.reason, 'HTTP 404');
});

test('judge(): handler errors retry unless marked non-retryable', () => {
	assertFail(run({status: 200, error: {code: 'ERR_HANDLER', retryable: false}}), 'ERR_HANDLER');
	assertFail(run({status: 200, error: {code: 'ERR_MISSING_PRICE', retryable: false}}), 'ERR_MISSING_PRICE');
	assertFail(run({status: 503, error: {code: 'ERR_HANDLER', retryable: false}}), 'ERR_HANDLER');
	assert.equal(run({status: 200, error: {code: 'ERR_HANDLER'}}).kind, 'wait');
	assert.equal(run({status: 200, error: {code: 'ERR_HANDLER', retryable: true}}).kind, 'wait');
	assert.equal(run({error: {code: 'ERR_NETWORK', networkCode: 'ENOTFOUND', retryable: true}}).kind, 'wait');
});

test('judge(): too-large bodies, redirect loops and wrong content types are permanent', () => {
	for (const code of ['ERR_BODY_TOO_LARGE', 'ERR_REDIRECT_LOOP', 'ERR_TOO_MANY_REDIRECTS', 'ERR_NOT_HTML', 'ERR_NOT_JSON']) {
		assertFail(run({error: {code}}), code);
	}
});

test('judge(): exhausted retries fail with the last error code', () => {
	assertFail(run({error: {code: 'ERR_NETWORK', networkCode: 'ECONNREFUSED'}}, {retryCount: 5}), 'ECONNREFUSED');
	assertFail(run({error: {code: 'ERR_TIMEOUT', networkCode: 'ETIMEDOUT'}}, {retryCount: 5}), 'ERR_TIMEOUT');
	assertFail(run({status: 503}, {retryCount: 5}), 'ERR_HTTP_STATUS');
	assertFail(run({status: 200, error: {code: 'ERR_HANDLER'}}, {retryCount: 5}), 'ERR_HANDLER');
	assertFail(run({status: 502}, {retryCount: 1}, resolveRetryOptions({maxRetries: 1})), 'ERR_HTTP_STATUS');
	const verdict = run({error: {code: 'ERR_NETWORK', networkCode: 'ECONNREFUSED'}}, {retryCount: 5});
	assert.ok(verdict.kind === 'fail');
	assert.equal(verdict.reason, 'ERR_NETWORK (ECONNREFUSED); gave up after 5 retries');
	assert.equal(run({status: 503}, {retryCount: 4}).kind, 'wait');
});

test('judge(): isTransient() retries what the defaults call permanent', () => {
	const custom = resolveRetryOptions({isTransient: (ctx) => ctx.status === 404 || ctx.isRateLimitedPage === false});
	assert.equal(run({status: 404}, {}, custom).kind, 'wait');
	assert.equal(run({status: 200, isRateLimitedPage: false}, {}, custom).kind, 'wait');
	assertFail(run({status: 404}, {retryCount: 5}, custom), 'ERR_HTTP_STATUS');
});

test('judge(): logged out is checked before rate limited, rate limited before transient', () => {
	assert.equal(run({status: 429, isLoggedOutPage: true}).kind, 'relogin');
	assert.equal(run({status: 401, isRateLimitedPage: true}).kind, 'relogin');
	assert.equal(run({status: 503, isRateLimitedPage: true}).kind, 'wait');
	assert.equal(run({status: 429, hasSession: false}).kind, 'wait');
	const everything = resolveRetryOptions({isTransient: () => true});
	assert.equal(run({status: 429}, {}, everything).kind, 'wait');
	assert.equal(run({status: 200, error: {code: 'ERR_HANDLER', retryable: false}, isLoggedOutPage: true}).kind, 'relogin');
});

test('judge() uses the given random and clock, and defaults to real ones', () => {
	const low = judge(outcome({status: 500}), FRESH, options, () => 0, NOW);
	assert.ok(low.kind === 'wait' && low.counter === 'retryCount' && low.delayMs === 0);
	const real = judge(outcome({status: 500}), FRESH, options);
	assert.ok(real.kind === 'wait' && real.counter === 'retryCount' && real.delayMs >= 0 && real.delayMs < 500);
	const dated = judge(outcome({status: 429, headers: {'retry-after': new Date(Date.now() + 60_000).toUTCString()}}), FRESH, options);
	assert.ok(dated.kind === 'wait' && dated.counter === 'rateLimitCount' && dated.delayMs > 55_000 && dated.delayMs <= 60_000);
});

test('judge(): every verdict but done carries a machine-readable cause that stats key on', () => {
	const cause = (fields: Partial<Outcome>, counters: Partial<AttemptCounters> = {}) => {
		const verdict = run(fields, counters);
		assert.ok(verdict.kind !== 'done');
		return verdict.cause;
	};
	assert.equal(cause({status: 502}), '502');
	assert.equal(cause({error: {code: 'ERR_NETWORK', networkCode: 'ECONNRESET'}}), 'ECONNRESET');
	assert.equal(cause({error: {code: 'ERR_TIMEOUT', networkCode: 'ETIMEDOUT'}}), 'ERR_TIMEOUT');
	assert.equal(cause({status: 200, error: {code: 'ERR_HANDLER'}}), 'ERR_HANDLER');
	assert.equal(cause({status: 429}), '429');
	assert.equal(cause({status: 200, isRateLimitedPage: true}), 'rateLimited-page');
	assert.equal(cause({status: 401}), '401');
	assert.equal(cause({status: 200, deletedAuthCookie: true}), 'auth-cookie-deleted');
	assert.equal(cause({status: 404}), '404');
	assert.equal(cause({status: 200, isLoggedOutPage: true, hasSession: false}), 'loggedOut-page');
});

test('judge(): a failure says which bound it exhausted, and none when the request itself is permanent', () => {
	const exhausted = (fields: Partial<Outcome>, counters: Partial<AttemptCounters>) => {
		const verdict = run(fields, counters);
		assert.ok(verdict.kind === 'fail');
		return verdict.exhausted;
	};
	assert.equal(exhausted({status: 503}, {retryCount: 5}), 'retryCount');
	assert.equal(exhausted({status: 429}, {rateLimitCount: 20}), 'rateLimitCount');
	assert.equal(exhausted({status: 401}, {reloginCount: 3}), 'reloginCount');
	assert.equal(exhausted({status: 404}, {}), undefined);
	assert.equal(exhausted({error: {code: 'ERR_NO_ROUTE', retryable: false}}, {}), undefined);
});

test('judge(): a 503 with a rate-limit reset header cools the host until the reset', () => {
	const verdict = run({status: 503, headers: {'ratelimit-reset': '7'}});
	assert.ok(verdict.kind === 'wait' && verdict.counter === 'retryCount');
	assert.equal(verdict.delayMs, 7_000);
	assert.equal(verdict.hostCooldownMs, 7_000);
	assert.match(verdict.reason, /rate-limit reset header/);
});

test('judge(): a route that does not exist is permanent (one list of permanent codes)', () => {
	assertFail(run({status: 200, error: {code: 'ERR_NO_ROUTE'}}), 'ERR_NO_ROUTE');
});

test('judge(): login requests (no session to re-log-in): a 429 waits, a 5xx backs off, a 401/403 is a definite answer', () => {
	const login = {hasSession: false} as const;
	const limited = run({...login, status: 429, headers: {'retry-after': '2'}});
	assert.ok(limited.kind === 'wait' && limited.counter === 'rateLimitCount' && limited.hostCooldownMs === 2_000);
	const broken = run({...login, status: 502});
	assert.ok(broken.kind === 'wait' && broken.counter === 'retryCount' && broken.hostCooldownMs === 0);
	assert.ok(run({...login, error: {code: 'ERR_NETWORK', networkCode: 'ECONNRESET'}}).kind === 'wait');
	for (const status of [400, 401, 403]) assertFail(run({...login, status}), 'ERR_HTTP_STATUS');
	assert.equal(run({...login, status: 200}).kind, 'done');
});
