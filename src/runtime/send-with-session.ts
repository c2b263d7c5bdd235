// One request sent through a crawler's sessions outside the crawl loop (openClient, the Crawlee
// adapter): lease a session (per-session caps), log it in if needed, take a host slot (per-host
// caps, cooldowns), fetch, let judge() decide, and act on the verdict in place — re-log-in
// (single-flight) and send again, wait out a 429 (the host cools down for every caller) and send
// again, back off on 5xx/network errors — until the request is done or has failed.
// A crawl does the same but puts a waiting request back in the frontier instead of sleeping.
import {setTimeout as delay} from 'node:timers/promises';
import {CrawljarError, describeError, redactUrl} from '../errors.js';
import {fetchPage, type FetchResult} from '../http/fetch.js';
import {acquireHostSlot} from '../policy/host-slot.js';
import type {ReleaseResult} from '../policy/host-throttle.js';
import {judge, type Verdict} from '../policy/judge.js';
import {outcomeErrorOf, type Outcome} from '../policy/outcome.js';
import type {ResolvedRetryOptions} from '../policy/retry-options.js';
import {markSessionValid, wasSessionValid} from '../policy/session-validity.js';
import {ParsedBody} from '../runner/context.js';
import type {Session} from '../sessions/session.js';
import type {SessionPool} from '../sessions/session-pool.js';
import {releaseResultOf} from '../sessions/session-logins.js';
import {adHocRequestInfo, checkPagePredicate} from './page-checks.js';
import type {SessionRuntime} from './session-runtime.js';

export interface SessionRequest {
	/** Absolute http(s) URL. */
	readonly url: string;
	readonly method: string;
	readonly headers?: Readonly<Record<string, string>>;
	readonly body?: string | Buffer;
	/** The route label the predicates see. */
	readonly label?: string;
}

export interface SendOptions {
	readonly retry: ResolvedRetryOptions;
	/**
	 * 'retry': back off and send again on 5xx and network errors (openClient). 'return': give
	 * them back at once (Crawlee retries them with its own count).
	 */
	readonly transient: 'retry' | 'return';
	/** Longest single wait (a cooldown, a Retry-After, a backoff); a longer one fails ERR_RATE_LIMITED. @default retry.maxRetryAfterMs */
	readonly maxWaitMs?: number;
}

export interface SessionResponse {
	readonly result: FetchResult;
	/** 'done', or why it is given back: a 'fail' (a 404, retries used up) or, with transient 'return', a 'wait'. */
	readonly verdict: Verdict;
	readonly sessionId: string;
}

/** A wait too long to sit through here: the caller should come back at `retryAt`. */
export class WaitTooLongError extends CrawljarError {
	override name = 'WaitTooLongError';
	constructor(
		message: string,
		readonly retryAt: number,
	) {
		super('ERR_RATE_LIMITED', message);
	}
}

export async function sendWithSession(runtime: SessionRuntime, request: SessionRequest, options: SendOptions): Promise<SessionResponse> {
	const {pool, throttle, stats} = runtime;
	const host = new URL(request.url).host;
	const maxWaitMs = options.maxWaitMs ?? options.retry.maxRetryAfterMs;
	const counters = {retryCount: 0, reloginCount: 0, rateLimitCount: 0};
	for (;;) {
		const session = await leaseSession(pool);
		let step: Step;
		try {
			if (!(await prepared(pool, session))) continue;
			const slot = await acquireHostSlot(throttle, host, maxWaitMs);
			if (!slot.ok) throw new WaitTooLongError(`${host} is cooling down for ${Math.ceil(slot.retryInMs / 1000)} s (over ${maxWaitMs} ms): ${request.method} ${redactUrl(request.url)}`, Date.now() + slot.retryInMs);
			let release: ReleaseResult = 'error';
			try {
				step = await attempt(runtime, request, session, counters, options.retry);
				release = releaseResultOf(step.verdict);
			} finally {
				throttle.release(host, release);
			}
		} finally {
			pool.release(session);
		}
		const {verdict, result} = step;
		switch (verdict.kind) {
			case 'done':
			case 'fail':
				if (result) return {result, verdict, sessionId: session.id};
				throw step.error;
			case 'relogin': {
				let started = false;
				try {
					started = (await pool.relogin(session, step.generation, verdict.reason)) === 'started';
				} catch (error) {
					runtime.log.warn(describeError(error).message);
				}
				stats.relogin(host, verdict.cause, started);
				// Charged only when this request's logout started the re-login, as in a crawl.
				if (started) counters.reloginCount++;
				continue;
			}
			case 'wait': {
				stats.wait(host, verdict.cause, verdict.counter);
				if (verdict.hostCooldownMs > 0) runtime.onHostCooldown(host, Date.now() + verdict.hostCooldownMs);
				if (verdict.counter === 'retryCount' && options.transient === 'return') {
					if (result) return {result, verdict, sessionId: session.id};
					throw step.error;
				}
				if (verdict.deferred || verdict.delayMs > maxWaitMs) {
					throw new WaitTooLongError(`${request.method} ${redactUrl(request.url)}: ${verdict.reason} (over ${maxWaitMs} ms)`, Date.now() + verdict.delayMs);
				}
				counters[verdict.counter]++;
				// A cooldown is waited out at the host gate (with every other caller); a backoff here.
				if (verdict.hostCooldownMs === 0) await delay(verdict.delayMs);
				continue;
			}
		}
	}
}

interface Step {
	readonly verdict: Verdict;
	readonly result: FetchResult | undefined;
	readonly error: unknown;
	readonly generation: number;
}

async function attempt(
	runtime: SessionRuntime,
	request: SessionRequest,
	session: Session,
	counters: {retryCount: number; reloginCount: number; rateLimitCount: number},
	retry: ResolvedRetryOptions,
): Promise<Step> {
	const {pool, stats} = runtime;
	const hasLogin = Boolean(runtime.login);
	const parts = pool.requestParts(session);
	const host = new URL(request.url).host;
	let result: FetchResult | undefined;
	let error: unknown;
	try {
		result = await fetchPage(request.url, {
			...runtime.fetchOptions,
			method: request.method,
			headers: request.headers ? {...parts.headers, ...request.headers} : parts.headers,
			// Tokens go only to the origins the crawler logs in to (start URLs, login URL).
			credentialHeaders: runtime.credentialOrigins.has(new URL(request.url).origin) ? parts.credentialHeaders : {},
			...(request.body === undefined ? {} : {body: request.body}),
			jar: parts.jar,
			sessionToken: parts.sessionToken,
		});
	} catch (fetchError) {
		error = fetchError;
	}
	const sessionWasValid = hasLogin && wasSessionValid(session, parts.generation);
	let outcome: Outcome;
	if (result) {
		stats.response(host, result.status, result.body.length);
		await pool.afterResponse(session, {setCookie: result.headers['set-cookie'] !== undefined, status: result.status});
		outcome = await responseOutcome(runtime, {result, request, session, sessionWasValid});
	} else {
		stats.networkError(host);
		outcome = {url: request.url, redirects: [], hasSession: hasLogin, sessionWasValid, error: outcomeErrorOf(error)};
	}
	const verdict = judge(outcome, counters, retry);
	if (verdict.kind === 'done') markSessionValid(session, parts.generation);
	return {verdict, result, error, generation: parts.generation};
}

/**
 * The policy's view of a response to a request sent outside the crawl loop (openClient, the
 * Crawlee adapters): the same facts the runner gives judge(), page predicates included.
 */
export async function responseOutcome(
	runtime: SessionRuntime,
	sent: {readonly result: FetchResult; readonly request: {readonly url: string; readonly label?: string | undefined}; readonly session: Session; readonly sessionWasValid: boolean},
): Promise<Outcome> {
	const {definition} = runtime;
	const {result, request, session} = sent;
	const hasLogin = Boolean(runtime.login);
	const parsed = new ParsedBody(result, request.url);
	const info = adHocRequestInfo(request.url, request.label);
	return {
		url: result.url,
		status: result.status,
		headers: result.headers,
		redirects: result.redirects,
		...(runtime.loginUrl === undefined ? {} : {loginUrl: runtime.loginUrl}),
		hasSession: hasLogin,
		sessionWasValid: sent.sessionWasValid,
		deletedAuthCookie: hasLogin && session.lostAuthCookie(result.deletedCookies, definition.sessions?.authCookies),
		isLoggedOutPage: definition.loggedOut ? await checkPagePredicate(definition, 'loggedOut', info, parsed, runtime.log) : false,
		isRateLimitedPage: definition.rateLimited ? await checkPagePredicate(definition, 'rateLimited', info, parsed, runtime.log) : false,
	};
}

/** A usable session with spare capacity, waiting for one; NO_USABLE_SESSION when every one is disabled. */
async function leaseSession(pool: SessionPool): Promise<Session> {
	for (;;) {
		if (pool.isExhausted) {
			const reasons = [...new Set(pool.sessions.map((session) => session.disabledReason).filter(Boolean))];
			throw new CrawljarError('NO_USABLE_SESSION', `no usable session: every session is disabled${reasons.length ? ` (${reasons.slice(0, 3).join('; ')})` : ''}`);
		}
		const session = pool.lease();
		if (session) return session;
		await pool.whenCapacity();
	}
}

/**
 * Logs the session in (or renews its token) when due. False when the session was disabled on
 * the way (a rejected login): the caller leases another one, or fails once none is left.
 */
async function prepared(pool: SessionPool, session: Session): Promise<boolean> {
	if (!pool.needsPreparation(session)) return true;
	try {
		await pool.prepare(session);
		return true;
	} catch (error) {
		const retryAt = (error as {retryAt?: unknown}).retryAt;
		if (typeof retryAt === 'number') throw new WaitTooLongError(describeError(error).message, retryAt);
		if (session.state === 'disabled' && !pool.isExhausted) return false;
		throw error;
	}
}
