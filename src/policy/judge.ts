// The retry policy: one request outcome in, one decision out. Pure (no I/O, no clock or random
// of its own), so every row of the classification is a unit test. It decides for page requests
// and for login requests alike (session-logins.ts judges every login, refresh and custom-login
// request here); the callers act on the verdict: re-log-in, cool the host down and wait, or fail.
//
// Checks run in this order; the first that matches decides:
//   1. logged out   — a `statuses.loggedOut` status, a 403 on a session that was valid, a
//                     redirect hop to the login page, the loggedOut page predicate, the auth
//                     cookie deleted. Only with a session: without a login these fall through
//                     (a 401 is then a permanent ERR_HTTP_STATUS) — except the loggedOut page
//                     predicate, which fails ERR_LOGGED_OUT ("no login configured").
//                     A logout can make a page look rate-limited or broken, hence first.
//   2. rate limited — a `statuses.rateLimited` status, the rate-limited page predicate,
//                     `isRateLimited`. Before transient, so a 429 never uses up `maxRetries`.
//   3. a non-retryable error (`error.retryable === false`) — permanent: the handler said so.
//   4. transient    — a `statuses.transient` status, `isTransient`, `error.retryable === true`,
//                     a listed network code, any other handler error (handlers are retried by
//                     default, as in Crawlee).
//   5. permanent    — PERMANENT_CODES (too-large bodies, redirect loops, wrong content type, no
//                     route, …), an unlisted network code (ENOTFOUND, TLS), any other status >= 400.
//   6. done.
// Reasons name statuses and codes only: never a header value, a body or a URL. `cause` is the
// machine-readable part (a status such as '503', an error code, or a signal name): stats key on it.
import {CERTIFICATE_HINT, isCertificateCode} from '../http/certificate-codes.js';
import type {AttemptCounters, Outcome, OutcomeError} from './outcome.js';
import type {ResolvedRetryOptions} from './retry-options.js';
import {backoffDelay} from './backoff.js';
import {parseRateLimitReset, parseRetryAfter} from './retry-after.js';
import {isSamePage} from '../util/same-page.js';

/** The counter a wait is charged to: transient failures and rate limits are bounded apart. */
export type WaitCounter = 'retryCount' | 'rateLimitCount';

export type Verdict =
	| {readonly kind: 'done'}
	/** Re-log-in the session (single-flight) and run the request again; not counted as a retry. */
	| {readonly kind: 'relogin'; readonly cause: string; readonly reason: string}
	/**
	 * Wait `delayMs` and run the request again, charged to `counter`; pause the whole host for
	 * `hostCooldownMs` (every worker) when > 0 (a 429, or a Retry-After / reset header).
	 * `deferred`: the wait is beyond `maxRetryAfterMs`, so the run moves on and logs it.
	 */
	| {
			readonly kind: 'wait';
			readonly counter: WaitCounter;
			readonly delayMs: number;
			readonly hostCooldownMs: number;
			readonly deferred: boolean;
			readonly cause: string;
			readonly reason: string;
	  }
	/**
	 * `code`: the last error's code (ERR_HTTP_STATUS, ECONNREFUSED, ERR_LOGGED_OUT, …).
	 * `exhausted`: the counter whose bound made this a failure (the request itself was retryable).
	 */
	| {
			readonly kind: 'fail';
			readonly code: string;
			readonly cause: string;
			readonly reason: string;
			readonly retryable: false;
			readonly exhausted?: WaitCounter | 'reloginCount';
	  };

export {backoffDelay} from './backoff.js';
export {parseRetryAfter} from './retry-after.js';

/** Keeps a deferred retry-at a real date even if a server sends an absurd Retry-After. */
const MAX_DEFER_MS = 7 * 24 * 3_600_000;

/**
 * Fetch, login and handler codes that will fail the same way on every attempt: the one list of
 * them (the runner, the login loop and the handler path all ask `isPermanentCode`).
 */
const PERMANENT_CODES: ReadonlySet<string> = new Set([
	'ERR_BODY_TOO_LARGE',
	'ERR_TOO_MANY_REDIRECTS',
	'ERR_REDIRECT_LOOP',
	'ERR_NOT_HTML',
	'ERR_NOT_JSON',
	'ERR_INSECURE_CREDENTIALS',
	'ERR_NO_ROUTE',
	'ERR_THREAD_SESSION',
]);
/** Codes fetch uses for socket-level failures: unlisted network codes under them are permanent. */
const NETWORK_CODES: ReadonlySet<string> = new Set(['ERR_NETWORK', 'ERR_TIMEOUT']);

export function isPermanentCode(code: string): boolean {
	return PERMANENT_CODES.has(code);
}

export function judge(
	outcome: Outcome,
	counters: AttemptCounters,
	options: ResolvedRetryOptions,
	random: () => number = Math.random,
	now: number = Date.now(),
): Verdict {
	const loggedOut = outcome.hasSession ? loggedOutSignal(outcome, options) : undefined;
	if (loggedOut !== undefined) {
		if (counters.reloginCount >= options.maxReloginsPerRequest) {
			return fail('ERR_LOGGED_OUT', loggedOut.cause, `${loggedOut.reason}; still logged out after ${counters.reloginCount} re-login(s)`, 'reloginCount');
		}
		return {kind: 'relogin', cause: loggedOut.cause, reason: loggedOut.reason};
	}
	if (!outcome.hasSession && outcome.isLoggedOutPage === true) {
		return fail('ERR_LOGGED_OUT', 'loggedOut-page', 'logged-out page and no login configured');
	}

	const rateLimited = rateLimitedSignal(outcome, options);
	if (rateLimited !== undefined) {
		if (counters.rateLimitCount >= options.maxRateLimitWaits) {
			return fail(
				'ERR_RATE_LIMITED',
				rateLimited.cause,
				`${rateLimited.reason}; still rate-limited after ${counters.rateLimitCount} wait(s)`,
				'rateLimitCount',
			);
		}
		const retryAfterMs = parseRetryAfter(headerOf(outcome, 'retry-after'), now);
		const resetMs = retryAfterMs === undefined ? parseRateLimitReset((name) => headerOf(outcome, name), now) : undefined;
		const delayMs = retryAfterMs ?? resetMs ?? backoffDelay(counters.rateLimitCount, options.backoff, random);
		const deferred = delayMs > options.maxRetryAfterMs;
		const waitMs = Math.min(delayMs, MAX_DEFER_MS);
		const source = retryAfterMs !== undefined ? 'Retry-After' : resetMs !== undefined ? 'rate-limit reset header' : 'backoff';
		return {
			kind: 'wait',
			counter: 'rateLimitCount',
			delayMs: waitMs,
			hostCooldownMs: waitMs,
			deferred,
			cause: rateLimited.cause,
			reason: `${rateLimited.reason}; waiting ${waitMs} ms (${source})${deferred ? ', deferred' : ''}`,
		};
	}

	const error = outcome.error;
	const cause = causeOf(outcome);
	if (error?.retryable === false) {
		return fail(failureCode(outcome), cause, `${describe(outcome)} (not retryable)`);
	}

	if (isTransient(outcome, options)) {
		const description = describe(outcome);
		if (counters.retryCount >= options.maxRetries) {
			return fail(failureCode(outcome), cause, `${description}; gave up after ${counters.retryCount} retries`, 'retryCount');
		}
		// A server that says when to come back (a 503 in maintenance, a reset header) is asked
		// again then, by every worker: the host cools down.
		const retryAfterMs = parseRetryAfter(headerOf(outcome, 'retry-after'), now);
		const resetMs = retryAfterMs === undefined ? parseRateLimitReset((name) => headerOf(outcome, name), now) : undefined;
		const announcedMs = retryAfterMs ?? resetMs;
		if (announcedMs !== undefined) {
			const deferred = announcedMs > options.maxRetryAfterMs;
			const waitMs = Math.min(announcedMs, MAX_DEFER_MS);
			const source = retryAfterMs !== undefined ? 'Retry-After' : 'rate-limit reset header';
			return {
				kind: 'wait',
				counter: 'retryCount',
				delayMs: waitMs,
				hostCooldownMs: waitMs,
				deferred,
				cause,
				reason: `${description}; retrying in ${waitMs} ms (${source})${deferred ? ', deferred' : ''}`,
			};
		}
		const delayMs = backoffDelay(counters.retryCount, options.backoff, random);
		return {
			kind: 'wait',
			counter: 'retryCount',
			delayMs,
			hostCooldownMs: 0,
			deferred: false,
			cause,
			reason: `${description}; retry ${counters.retryCount + 1} of ${options.maxRetries} in ${delayMs} ms`,
		};
	}

	if (error !== undefined || (outcome.status !== undefined && outcome.status >= 400)) {
		return fail(failureCode(outcome), cause, describe(outcome));
	}
	return {kind: 'done'};
}

interface Signal {
	readonly cause: string;
	readonly reason: string;
}

function loggedOutSignal(outcome: Outcome, options: ResolvedRetryOptions): Signal | undefined {
	const {status} = outcome;
	if (status !== undefined && options.statuses.loggedOut.includes(status)) return {cause: String(status), reason: `HTTP ${status} (logged out)`};
	if (status === 403 && options.statuses.forbiddenAfterValid && outcome.sessionWasValid === true) {
		return {cause: '403', reason: 'HTTP 403 on a session that was valid'};
	}
	if (outcome.loginUrl !== undefined && outcome.redirects.some((hop) => isSamePage(hop, outcome.loginUrl!))) {
		return {cause: 'login-redirect', reason: 'redirected to the login page'};
	}
	if (outcome.isLoggedOutPage === true) return {cause: 'loggedOut-page', reason: 'logged-out page'};
	if (outcome.deletedAuthCookie === true) return {cause: 'auth-cookie-deleted', reason: 'the auth cookie was deleted'};
	return undefined;
}

function rateLimitedSignal(outcome: Outcome, options: ResolvedRetryOptions): Signal | undefined {
	const {status} = outcome;
	if (status !== undefined && options.statuses.rateLimited.includes(status)) return {cause: String(status), reason: `HTTP ${status} (rate limited)`};
	if (outcome.isRateLimitedPage === true) return {cause: 'rateLimited-page', reason: 'rate-limited page'};
	if (options.isRateLimited?.(outcome) === true) return {cause: 'isRateLimited', reason: 'rate limited (isRateLimited)'};
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

/** What stats count a retry or failure under: the error code (the socket code under ERR_NETWORK), else the status. */
function causeOf(outcome: Outcome): string {
	if (outcome.error) return failureCode(outcome);
	if (outcome.status !== undefined) return String(outcome.status);
	return 'isTransient';
}

function describe(outcome: Outcome): string {
	const {error, status} = outcome;
	if (error) return describeError(error);
	return status === undefined ? 'judged transient (isTransient)' : `HTTP ${status}`;
}

function describeError(error: OutcomeError): string {
	if (isCertificateCode(error.networkCode)) return `${error.code} (${error.networkCode}): ${CERTIFICATE_HINT}`;
	return error.networkCode && error.networkCode !== error.code ? `${error.code} (${error.networkCode})` : error.code;
}

function fail(code: string, cause: string, reason: string, exhausted?: WaitCounter | 'reloginCount'): Verdict {
	return {kind: 'fail', code, cause, reason, retryable: false, ...(exhausted ? {exhausted} : {})};
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
