// The retry policy: one request outcome in, one decision out. Pure (no I/O, no clock or random
// of its own), so every row of the classification is a unit test. The runner acts on the
// verdict: it re-logs-in, cools the host down, sets retry-at or fails the request.
//
// Checks run in this order; the first that matches decides:
//   1. logged out   — a `statuses.loggedOut` status, a 403 on a session that was valid, a
//                     redirect hop to the login page, the loggedOut page predicate, the auth
//                     cookie deleted. Only with a session: without a login these fall through
//                     (a 401 is then a permanent ERR_HTTP_STATUS).
//                     A logout can make a page look rate-limited or broken, hence first.
//   2. rate limited — a `statuses.rateLimited` status, the rate-limited page predicate,
//                     `isRateLimited`. Before transient, so a 429 never uses up `maxRetries`.
//   3. a non-retryable error (`error.retryable === false`) — permanent: the handler said so.
//   4. transient    — a `statuses.transient` status, `isTransient`, `error.retryable === true`,
//                     a listed network code, any other handler error (handlers are retried by
//                     default, as in Crawlee).
//   5. permanent    — ERR_BODY_TOO_LARGE, redirect loops and limits, ERR_NOT_HTML/JSON, an
//                     unlisted network code (ENOTFOUND, TLS), any other status >= 400.
//   6. done.
// Reasons name statuses and codes only: never a header value, a body or a URL.
import type {AttemptCounters, Outcome, OutcomeError} from './outcome.js';
import type {ResolvedRetryOptions} from './retry-options.js';
import {backoffDelay} from './backoff.js';
import {parseRateLimitReset, parseRetryAfter} from './retry-after.js';
import {isSamePage} from '../util/same-page.js';

export type Verdict =
	| {readonly kind: 'done'}
	/** Re-log-in the session (single-flight) and run the request again; not counted as a retry. */
	| {readonly kind: 'relogin'; readonly reason: string}
	/**
	 * Wait `delayMs`, and pause the whole host for `hostCooldownMs` (every worker). `deferred`:
	 * the wait is beyond `maxRetryAfterMs`, so the run moves on and the runner logs it.
	 */
	| {
			readonly kind: 'rate-limited';
			readonly delayMs: number;
			readonly hostCooldownMs: number;
			readonly deferred: boolean;
			readonly reason: string;
	  }
	/** A transient failure: retry after `delayMs`. `hostCooldownMs` > 0 when a Retry-After came with it. */
	| {
			readonly kind: 'retry';
			readonly delayMs: number;
			readonly hostCooldownMs: number;
			readonly deferred: boolean;
			readonly reason: string;
	  }
	/** `code`: the last error's code (ERR_HTTP_STATUS, ECONNREFUSED, ERR_LOGGED_OUT, …). */
	| {readonly kind: 'fail'; readonly code: string; readonly reason: string; readonly retryable: false};

export {backoffDelay} from './backoff.js';
export {parseRetryAfter} from './retry-after.js';

/** Keeps a deferred retry-at a real date even if a server sends an absurd Retry-After. */
const MAX_DEFER_MS = 7 * 24 * 3_600_000;

/** Fetch and handler codes that will fail the same way on every attempt. */
const PERMANENT_CODES: ReadonlySet<string> = new Set([
	'ERR_BODY_TOO_LARGE',
	'ERR_TOO_MANY_REDIRECTS',
	'ERR_REDIRECT_LOOP',
	'ERR_NOT_HTML',
	'ERR_NOT_JSON',
	'ERR_INSECURE_CREDENTIALS',
]);
/** Codes fetch uses for socket-level failures: unlisted network codes under them are permanent. */
const NETWORK_CODES: ReadonlySet<string> = new Set(['ERR_NETWORK', 'ERR_TIMEOUT']);

export function judge(
	outcome: Outcome,
	counters: AttemptCounters,
	options: ResolvedRetryOptions,
	random: () => number = Math.random,
	now: number = Date.now(),
): Verdict {
	const loggedOut = outcome.hasSession ? loggedOutReason(outcome, options) : undefined;
	if (loggedOut !== undefined) {
		if (counters.reloginCount >= options.maxReloginsPerRequest) {
			return fail('ERR_LOGGED_OUT', `${loggedOut}; still logged out after ${counters.reloginCount} re-login(s)`);
		}
		return {kind: 'relogin', reason: loggedOut};
	}
	if (!outcome.hasSession && outcome.isLoggedOutPage === true) {
		return fail('ERR_LOGGED_OUT', 'logged-out page and no login configured');
	}

	const rateLimited = rateLimitedReason(outcome, options);
	if (rateLimited !== undefined) {
		if (counters.rateLimitCount >= options.maxRateLimitWaits) {
			return fail('ERR_RATE_LIMITED', `${rateLimited}; still rate-limited after ${counters.rateLimitCount} wait(s)`);
		}
		const retryAfterMs = parseRetryAfter(headerOf(outcome, 'retry-after'), now);
		const resetMs = retryAfterMs === undefined ? parseRateLimitReset((name) => headerOf(outcome, name), now) : undefined;
		const delayMs = retryAfterMs ?? resetMs ?? backoffDelay(counters.rateLimitCount, options.backoff, random);
		const deferred = delayMs > options.maxRetryAfterMs;
		const waitMs = Math.min(delayMs, MAX_DEFER_MS);
		const source = retryAfterMs !== undefined ? 'Retry-After' : resetMs !== undefined ? 'rate-limit reset header' : 'backoff';
		return {
			kind: 'rate-limited',
			delayMs: waitMs,
			hostCooldownMs: waitMs,
			deferred,
			reason: `${rateLimited}; waiting ${waitMs} ms (${source})${deferred ? ', deferred' : ''}`,
		};
	}

	const error = outcome.error;
	if (error?.retryable === false) {
		return fail(failureCode(outcome), `${describe(outcome)} (not retryable)`);
	}

	if (isTransient(outcome, options)) {
		const description = describe(outcome);
		if (counters.retryCount >= options.maxRetries) {
			return fail(failureCode(outcome), `${description}; gave up after ${counters.retryCount} retries`);
		}
		const retryAfterMs = parseRetryAfter(headerOf(outcome, 'retry-after'), now);
		if (retryAfterMs !== undefined) {
			const deferred = retryAfterMs > options.maxRetryAfterMs;
			const waitMs = Math.min(retryAfterMs, MAX_DEFER_MS);
			return {
				kind: 'retry',
				delayMs: waitMs,
				hostCooldownMs: waitMs,
				deferred,
				reason: `${description}; retrying in ${waitMs} ms (Retry-After)${deferred ? ', deferred' : ''}`,
			};
		}
		const delayMs = backoffDelay(counters.retryCount, options.backoff, random);
		return {
			kind: 'retry',
			delayMs,
			hostCooldownMs: 0,
			deferred: false,
			reason: `${description}; retry ${counters.retryCount + 1} of ${options.maxRetries} in ${delayMs} ms`,
		};
	}

	if (error !== undefined || (outcome.status !== undefined && outcome.status >= 400)) {
		return fail(failureCode(outcome), describe(outcome));
	}
	return {kind: 'done'};
}

function loggedOutReason(outcome: Outcome, options: ResolvedRetryOptions): string | undefined {
	const {status} = outcome;
	if (status !== undefined && options.statuses.loggedOut.includes(status)) return `HTTP ${status} (logged out)`;
	if (status === 403 && options.statuses.forbiddenAfterValid && outcome.sessionWasValid === true) {
		return 'HTTP 403 on a session that was valid';
	}
	if (outcome.loginUrl !== undefined && outcome.redirects.some((hop) => isSamePage(hop, outcome.loginUrl!))) {
		return 'redirected to the login page';
	}
	if (outcome.isLoggedOutPage === true) return 'logged-out page';
	if (outcome.deletedAuthCookie === true) return 'the auth cookie was deleted';
	return undefined;
}

function rateLimitedReason(outcome: Outcome, options: ResolvedRetryOptions): string | undefined {
	const {status} = outcome;
	if (status !== undefined && options.statuses.rateLimited.includes(status)) return `HTTP ${status} (rate limited)`;
	if (outcome.isRateLimitedPage === true) return 'rate-limited page';
	if (options.isRateLimited?.(outcome) === true) return 'rate limited (isRateLimited)';
	return undefined;
}

function isTransient(outcome: Outcome, options: ResolvedRetryOptions): boolean {
	const {status, error} = outcome;
	if (status !== undefined && options.statuses.transient.includes(status)) return true;
	if (options.isTransient?.(outcome) === true) return true;
	if (error === undefined) return false;
	if (error.retryable === true) return true;
	const transientCodes = options.networkCodes.transient;
	if (transientCodes.includes(error.code)) return true;
	if (error.networkCode !== undefined && transientCodes.includes(error.networkCode)) return true;
	// What is left: network errors with an unlisted code, known-permanent codes, handler errors.
	return !NETWORK_CODES.has(error.code) && !PERMANENT_CODES.has(error.code);
}

/** The code a failed request is stored with: the socket code for network errors (ECONNREFUSED). */
function failureCode(outcome: Outcome): string {
	const {error} = outcome;
	if (error) return error.code === 'ERR_NETWORK' && error.networkCode ? error.networkCode : error.code;
	return 'ERR_HTTP_STATUS';
}

function describe(outcome: Outcome): string {
	const {error, status} = outcome;
	if (error) return describeError(error);
	return status === undefined ? 'judged transient (isTransient)' : `HTTP ${status}`;
}

function describeError(error: OutcomeError): string {
	return error.networkCode && error.networkCode !== error.code ? `${error.code} (${error.networkCode})` : error.code;
}

function fail(code: string, reason: string): Verdict {
	return {kind: 'fail', code, reason, retryable: false};
}

function headerOf(outcome: Outcome, name: string): string | undefined {
	const headers = outcome.headers;
	if (!headers) return undefined;
	let value = headers[name];
	if (value === undefined) {
		const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
		value = key === undefined ? undefined : headers[key];
	}
	return Array.isArray(value) ? value[0] : value;
}
