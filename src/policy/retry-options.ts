// The retry policy's options: their type (checked against the schema in retry-schema.ts), the
// one defaults object, and their resolution, once per crawl (and once per route that overrides
// them). Past resolution the values are trusted; judge() re-checks nothing.
import type {Outcome} from './outcome.js';
import {formatIssues} from '../util/option-schemas.js';
import {retryOptionsSchema} from './retry-schema.js';

export interface BackoffOptions {
	/** Ceiling of the first delay. @default 500 */
	readonly baseMs?: number;
	/** The ceiling is multiplied by this on each further attempt. @default 2 */
	readonly factor?: number;
	/** No ceiling grows past this. @default 60_000 */
	readonly capMs?: number;
}

export interface RetryStatusOptions {
	/** Statuses that mean the session is logged out (re-login, then retry). @default [401] */
	readonly loggedOut?: readonly number[];
	/** A 403 on a session that was valid means logged out; without this a 403 is permanent. @default true */
	readonly forbiddenAfterValid?: boolean;
	/** @default [429] */
	readonly rateLimited?: readonly number[];
	/** Retried with backoff; a Retry-After on them is honoured. @default [408, 500, 502, 503, 504, 522, 524] */
	readonly transient?: readonly number[];
}

export interface RetryNetworkCodeOptions {
	/**
	 * Error codes retried with backoff. Matched against the socket code fetch keeps
	 * (`networkCode`) and the error's own code (so `ERR_TIMEOUT` covers every timeout).
	 * `EAI_AGAIN` (resolver hiccup) is transient; `ENOTFOUND` (no such host) is not: retrying a
	 * typo'd or dead domain only delays the failure. "socket hang up" arrives as `ECONNRESET`.
	 * An `ERR_NETWORK` whose code is not listed (TLS errors, HPE_* parser errors, ENOTFOUND)
	 * fails at once with that code.
	 * @default ['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ERR_TIMEOUT']
	 */
	readonly transient?: readonly string[];
}

export interface RetryOptions {
	/** Retries of transient failures (5xx, network errors) before the request fails. @default 5 */
	readonly maxRetries?: number;
	/** Full-jitter exponential backoff: `random() * min(capMs, baseMs * factor ** attempt)`. */
	readonly backoff?: BackoffOptions;
	/** Re-logins one request may cause before it fails with ERR_LOGGED_OUT. @default 3 */
	readonly maxReloginsPerRequest?: number;
	/**
	 * Rate-limit waits one request may take before it fails with ERR_RATE_LIMITED. Counted apart
	 * from `maxRetries`: being told to slow down is not a failure of the request.
	 * @default 20
	 */
	readonly maxRateLimitWaits?: number;
	/**
	 * Longest Retry-After honoured in the run. Beyond it the request is deferred: its retry-at
	 * is set to the Retry-After time (at most 7 days ahead), the host cools down until then, the
	 * run moves on to other work and the runner logs the deferral; a later run picks it up.
	 * @default 600_000 (10 minutes)
	 */
	readonly maxRetryAfterMs?: number;
	readonly statuses?: RetryStatusOptions;
	readonly networkCodes?: RetryNetworkCodeOptions;
	/** Extra rate-limit test (after `statuses.rateLimited` and the page predicate). */
	readonly isRateLimited?: (ctx: Outcome) => boolean;
	/** Extra transient test, for failures the defaults would call permanent. */
	readonly isTransient?: (ctx: Outcome) => boolean;
}

export interface ResolvedRetryOptions {
	readonly maxRetries: number;
	readonly backoff: Required<BackoffOptions>;
	readonly maxReloginsPerRequest: number;
	readonly maxRateLimitWaits: number;
	readonly maxRetryAfterMs: number;
	readonly statuses: Required<RetryStatusOptions>;
	readonly networkCodes: Required<RetryNetworkCodeOptions>;
	readonly isRateLimited?: (ctx: Outcome) => boolean;
	readonly isTransient?: (ctx: Outcome) => boolean;
}

export const DEFAULT_RETRY_OPTIONS: ResolvedRetryOptions = deepFreeze({
	maxRetries: 5,
	backoff: {baseMs: 500, factor: 2, capMs: 60_000},
	maxReloginsPerRequest: 3,
	maxRateLimitWaits: 20,
	maxRetryAfterMs: 10 * 60_000,
	statuses: {
		loggedOut: [401],
		forbiddenAfterValid: true,
		rateLimited: [429],
		transient: [408, 500, 502, 503, 504, 522, 524],
	},
	networkCodes: {
		transient: [
			'ECONNRESET',
			'ECONNREFUSED',
			'ECONNABORTED',
			'ETIMEDOUT',
			'ESOCKETTIMEDOUT',
			'EPIPE',
			'EAI_AGAIN',
			'ENETUNREACH',
			'EHOSTUNREACH',
			'ERR_TIMEOUT',
		],
	},
});

/**
 * Fills every missing field from DEFAULT_RETRY_OPTIONS. A definition's options were checked at
 * load; a caller from code that skipped that check gets a TypeError naming the field
 * (`retry.backoff.factor: expected a finite number >= 1`).
 */
export function resolveRetryOptions(partial: RetryOptions = {}): ResolvedRetryOptions {
	const checked = retryOptionsSchema.safeParse(partial);
	if (!checked.success) {
		throw new TypeError(`Invalid retry options: ${formatIssues(checked.error.issues, retryOptionsSchema, 'retry').join('; ')}`);
	}
	return mergeRetryOptions(DEFAULT_RETRY_OPTIONS, partial);
}

/**
 * A route's override on top of the crawler's options. Nested objects merge field by field;
 * arrays and predicates are replaced, not concatenated (`statuses: {transient: [503]}` means
 * only 503). An explicit `undefined` never erases a base value.
 */
export function mergeRetryOptions(base: ResolvedRetryOptions, override?: RetryOptions): ResolvedRetryOptions;
export function mergeRetryOptions(base: RetryOptions, override?: RetryOptions): RetryOptions;
export function mergeRetryOptions(base: RetryOptions, override: RetryOptions = {}): RetryOptions {
	const merged: Record<string, unknown> = {...base};
	for (const [key, value] of Object.entries(override)) {
		if (value === undefined) continue;
		const previous = merged[key];
		merged[key] = isPlainObject(value) && isPlainObject(previous) ? {...previous, ...definedFields(value)} : value;
	}
	return merged as RetryOptions;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function definedFields(value: Record<string, unknown>): Record<string, unknown> {
	return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined));
}

function deepFreeze<T>(value: T): T {
	if (typeof value === 'object' && value !== null) {
		for (const field of Object.values(value)) deepFreeze(field);
		Object.freeze(value);
	}
	return value;
}
