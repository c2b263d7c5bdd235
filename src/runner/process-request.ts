// One request, start to finish: session ready → fetch → judge → handler → completion.
// Every path ends in exactly one completion (or none, if the stop grace period ran out).
import {describeError, isCrawljarError, redactUrl} from '../errors.js';
import {fetchPage, networkCodeOf, type FetchOptions, type FetchResult} from '../http/fetch.js';
import type {CrawlerDefinition, Logger, RequestInfo, RouteHandler} from '../job/types.js';
import type {HostThrottle} from '../policy/host-throttle.js';
import {judge, type Verdict} from '../policy/judge.js';
import type {Outcome} from '../policy/outcome.js';
import type {ResolvedRetryOptions} from '../policy/retry-options.js';
import type {Session} from '../sessions/session.js';
import type {SessionPool} from '../sessions/session-pool.js';
import type {Completion, Store, StoredRequest} from '../store/store.js';
import {createHandlerContext, ParsedBody} from './context.js';
import {DEFAULT_HANDLER_MS, withTimeLimit} from './time-limit.js';
import type {RunStats} from './run-stats.js';
import type {SeenKeys} from './seen-keys.js';

export interface ProcessDeps {
	readonly definition: CrawlerDefinition;
	readonly store: Store;
	readonly pool: SessionPool;
	readonly throttle: HostThrottle;
	readonly routes: ReadonlyMap<string, {handler: RouteHandler; retry: ResolvedRetryOptions}>;
	readonly loginUrl: string | undefined;
	/** Origins that may receive a session's credential headers (Authorization, login-set headers). */
	readonly credentialOrigins: ReadonlySet<string>;
	readonly hasLogin: boolean;
	/** What every request of the run shares (stopRedirectAt: the login URL, if any). */
	readonly fetchOptions: FetchOptions;
	readonly log: Logger;
	readonly stats: RunStats;
	readonly now: () => number;
	readonly defaultRetry: ResolvedRetryOptions;
	/** A host asked to be left alone: persist the throttle state. */
	readonly onHostCooldown: (host: string, untilMs: number) => void;
	readonly onFailed: (code: string, url: string) => void;
	/** Keys the store already holds: their links are not sent to it again. */
	readonly seenKeys: SeenKeys;
}

/** The session generation (login) that some response has already accepted. */
const validatedGeneration = new WeakMap<Session, number>();

type Mutable<T> = {-readonly [K in keyof T]: T[K]};

/** Errors a retry cannot fix. */
const PERMANENT_HANDLER_CODES = new Set(['ERR_NOT_HTML', 'ERR_NOT_JSON']);

export async function processRequest(
	deps: ProcessDeps,
	request: StoredRequest,
	session: Session,
	complete: (completion: Completion) => void,
): Promise<void> {
	let throttleResult: 'ok' | 'rate-limited' | 'error' | 'cancelled' = 'ok';
	try {
		try {
			await deps.pool.prepare(session);
		} catch (error) {
			// The pool disabled or is re-trying the session; the request waits for another one.
			deps.log.warn(describeError(error).message);
			throttleResult = 'cancelled';
			complete({kind: 'release', requestId: request.id, retryAt: 0});
			return;
		}
		throttleResult = await fetchAndHandle(deps, request, session, complete);
	} finally {
		deps.pool.release(session);
		deps.throttle.release(request.host, throttleResult);
	}
}

async function fetchAndHandle(
	deps: ProcessDeps,
	request: StoredRequest,
	session: Session,
	complete: (completion: Completion) => void,
): Promise<'ok' | 'rate-limited' | 'error'> {
	const route = deps.routes.get(request.label ?? 'default');
	const retry = route?.retry ?? deps.defaultRetry;
	const parts = deps.pool.requestParts(session);
	const info: RequestInfo = {
		id: request.id,
		url: request.url,
		uniqueKey: request.uniqueKey,
		label: request.label,
		userData: request.userData,
		depth: request.depth,
		retryCount: request.retryCount,
	};

	let result: FetchResult | undefined;
	let fetchError: unknown;
	try {
		// One spread, first: spreads after other properties are a slow path for V8 (bench/ profile).
		result = await fetchPage(request.url, {
			...deps.fetchOptions,
			method: request.method,
			headers: request.headers ? {...parts.headers, ...request.headers} : parts.headers,
			// Tokens go only to the origins the crawler logs in to (start URLs, login URL).
			credentialHeaders: deps.credentialOrigins.has(originOf(request.url)) ? parts.credentialHeaders : {},
			jar: parts.jar,
			sessionToken: parts.sessionToken,
		});
	} catch (error) {
		fetchError = error;
	}

	const outcome: Mutable<Outcome> = {
		url: request.url,
		redirects: [],
		hasSession: deps.hasLogin,
		// A 403 means "logged out" only on a session that has already been let in since its login.
		sessionWasValid: deps.hasLogin && validatedGeneration.get(session) === parts.generation,
	};
	let parsed: ParsedBody | undefined;
	if (result) {
		deps.stats.response(request.host, result.status, result.body.length);
		await deps.pool.afterResponse(session, {setCookie: result.headers['set-cookie'] !== undefined, status: result.status});
		parsed = new ParsedBody(result, request.url);
		Object.assign(outcome, {
			status: result.status,
			headers: result.headers,
			url: result.url,
			redirects: result.redirects,
			loginUrl: deps.loginUrl,
			deletedAuthCookie: deps.hasLogin && session.lostAuthCookie(result.deletedCookies, deps.definition.sessions?.authCookies),
			// Only awaited when the definition has the predicate: each await is a turn of the microtask queue.
			isLoggedOutPage: deps.definition.loggedOut ? await checkPage(deps, 'loggedOut', info, parsed) : false,
			isRateLimitedPage: deps.definition.rateLimited ? await checkPage(deps, 'rateLimited', info, parsed) : false,
		});
	} else {
		deps.stats.networkError(request.host);
		const {code} = describeError(fetchError);
		const networkCode = networkCodeOf(fetchError);
		outcome.error = {code, ...(networkCode ? {networkCode} : {})};
	}

	let verdict = judge(outcome, counters(request), retry);
	if (verdict.kind === 'done') validatedGeneration.set(session, parts.generation);
	if (verdict.kind === 'done' && parsed) {
		if (!route) {
			verdict = {kind: 'fail', code: 'ERR_HANDLER', reason: `no route for label '${request.label}'`, retryable: false};
		} else {
			const {context, buffers} = createHandlerContext(info, parsed, deps.hasLogin ? session : undefined, deps.log, {
				maxDepth: deps.definition.maxDepth,
				crawlerName: deps.definition.name,
				routes: deps.routes,
			});
			try {
				// Past the limit the handler is abandoned: what it pushes later stays in `buffers`, unread.
				await withTimeLimit(() => route.handler(context), handlerMs(deps), `the '${request.label ?? 'default'}' handler`);
				const enqueued = buffers.enqueued.filter((link) => !deps.seenKeys.has(link.uniqueKey));
				complete({kind: 'done', requestId: request.id, items: buffers.items, itemsJson: buffers.itemsJson, enqueued, status: result?.status});
				return 'ok';
			} catch (error) {
				const {code, message} = describeError(error);
				const isRetryable = (error as {retryable?: unknown}).retryable !== false && !PERMANENT_HANDLER_CODES.has(code);
				outcome.error = {code: isCrawljarError(error) ? code : 'ERR_HANDLER', retryable: isRetryable};
				verdict = judge(outcome, counters(request), retry);
				// The handler's own message is what a user needs in `crawljar failed`; it is their text.
				if (verdict.kind !== 'done') verdict = {...verdict, reason: `${verdict.reason}; handler error: ${message.slice(0, 300)}`} as Verdict;
			}
		}
	}
	return applyVerdict(deps, request, session, parts.generation, verdict, result?.status, complete);
}

async function applyVerdict(
	deps: ProcessDeps,
	request: StoredRequest,
	session: Session,
	generation: number,
	verdict: Verdict,
	status: number | undefined,
	complete: (completion: Completion) => void,
): Promise<'ok' | 'rate-limited' | 'error'> {
	const now = deps.now();
	switch (verdict.kind) {
		case 'done':
			// A 'done' verdict without a body cannot happen (a network error is never done).
			complete({kind: 'release', requestId: request.id, retryAt: now});
			return 'ok';
		case 'relogin': {
			deps.stats.retry(request.host, 'relogin');
			try {
				await deps.pool.relogin(session, generation, verdict.reason);
			} catch (error) {
				deps.log.warn(describeError(error).message);
			}
			complete({...retryFields(request), retryAt: deps.now(), reloginCount: request.reloginCount + 1, error: verdict.reason});
			// Neutral for the host's adaptive rate: a logout says nothing about load.
			return 'error';
		}
		case 'rate-limited': {
			deps.stats.retry(request.host, 'rate-limited');
			if (verdict.hostCooldownMs > 0) deps.onHostCooldown(request.host, now + verdict.hostCooldownMs);
			if (verdict.deferred) {
				deps.log.warn(
					`${request.host} asked to wait ${Math.round(verdict.delayMs / 1000)}s (over maxRetryAfter): ${redactUrl(request.url)} is deferred; the run goes on with other hosts`,
				);
			}
			complete({...retryFields(request), retryAt: now + verdict.delayMs, rateLimitCount: request.rateLimitCount + 1, error: verdict.reason});
			return 'rate-limited';
		}
		case 'retry':
			deps.stats.retry(request.host, verdict.reason.split(/[;:]/)[0] ?? 'retry');
			if (verdict.hostCooldownMs > 0) deps.onHostCooldown(request.host, now + verdict.hostCooldownMs);
			complete({...retryFields(request), retryAt: now + verdict.delayMs, retryCount: request.retryCount + 1, error: verdict.reason});
			return 'error';
		case 'fail':
			deps.onFailed(verdict.code, request.url);
			deps.log.warn(`failed ${redactUrl(request.url)}: ${verdict.code}: ${verdict.reason}`);
			complete({
				kind: 'failed',
				requestId: request.id,
				retryCount: request.retryCount,
				status,
				errorCode: verdict.code,
				error: verdict.reason,
			});
			return verdict.code === 'ERR_RATE_LIMITED' ? 'rate-limited' : 'error';
	}
}

function counters(request: StoredRequest): {retryCount: number; reloginCount: number; rateLimitCount: number} {
	return {retryCount: request.retryCount, reloginCount: request.reloginCount, rateLimitCount: request.rateLimitCount};
}

function retryFields(request: StoredRequest) {
	return {
		kind: 'retry' as const,
		requestId: request.id,
		retryCount: request.retryCount,
		reloginCount: request.reloginCount,
		rateLimitCount: request.rateLimitCount,
	};
}

function handlerMs(deps: ProcessDeps): number {
	return deps.definition.timeouts?.handlerMs ?? DEFAULT_HANDLER_MS;
}

/** Runs a page predicate of the definition (loggedOut, rateLimited) on a 2xx page; a throw counts as false. */
async function checkPage(
	deps: ProcessDeps,
	name: 'loggedOut' | 'rateLimited',
	request: RequestInfo,
	parsed: ParsedBody,
): Promise<boolean> {
	const predicate = deps.definition[name];
	if (!predicate || parsed.result.status >= 300 || (name === 'loggedOut' && !deps.hasLogin)) return false;
	try {
		const context = {
			request,
			response: {status: parsed.result.status, headers: parsed.result.headers, url: parsed.result.url},
			get body() {
				return parsed.text;
			},
			get $() {
				return parsed.$;
			},
		};
		// A predicate past timeouts.handlerMs counts as false, like one that throws.
		return Boolean(await withTimeLimit(() => predicate(context), handlerMs(deps), `the ${name} check`));
	} catch (error) {
		deps.log.warn(`${name} check threw on ${redactUrl(request.url)} (treated as false): ${describeError(error).message}`);
		return false;
	}
}

/**
 * `http(s)://host[:port]/` at the start of a URL, with nothing in the authority (userinfo, a
 * backslash, whitespace) that the URL parser would read differently from the prefix alone.
 */
const SITE_PREFIX = /^https?:\/\/[^/?#\\@\s]*\//;
/** Origins by SITE_PREFIX: every page of a site has the same one, so it is parsed once. */
const originsByPrefix = new Map<string, string>();

function originOf(url: string): string {
	const prefix = SITE_PREFIX.exec(url)?.[0];
	if (prefix === undefined) return new URL(url).origin;
	let origin = originsByPrefix.get(prefix);
	if (origin === undefined) {
		origin = new URL(prefix).origin;
		if (originsByPrefix.size >= 1_000) originsByPrefix.clear();
		originsByPrefix.set(prefix, origin);
	}
	return origin;
}
