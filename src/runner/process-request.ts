// One request, start to finish: session ready → fetch → judge → handler → completion.
// Every path ends in exactly one completion (or none, if the stop grace period ran out).
import {checkPagePredicate, type PagePredicateName} from '../runtime/page-checks.js';
import {describeError, redactUrl} from '../errors.js';
import {fetchPage, type FetchOptions, type FetchResult} from '../http/fetch.js';
import type {CrawlerDefinition, Logger, RequestInfo, RouteHandler} from '../job/types.js';
import type {HostThrottle, ReleaseResult} from '../policy/host-throttle.js';
import {acquireHostSlot} from '../policy/host-slot.js';
import {judge, type Verdict} from '../policy/judge.js';
import {outcomeErrorOf, type Outcome} from '../policy/outcome.js';
import {markSessionValid, wasSessionValid} from '../policy/session-validity.js';
import type {ResolvedRetryOptions} from '../policy/retry-options.js';
import type {Session} from '../sessions/session.js';
import type {SessionPool} from '../sessions/session-pool.js';
import type {Completion, Store, StoredRequest} from '../store/store.js';
import {ParsedBody} from './context.js';
import {handlePage} from './page-work.js';
import type {HandlerThreads} from './threads/handler-threads.js';
import type {BrowserFetch, BrowserPages, BrowserRoute} from '../browser/browser-pages.js';
import type {RunStats} from './run-stats.js';
import type {SeenKeys} from './seen-keys.js';

export interface ProcessDeps {
	readonly definition: CrawlerDefinition;
	readonly store: Store;
	readonly pool: SessionPool;
	readonly throttle: HostThrottle;
	readonly routes: ReadonlyMap<string, {handler: RouteHandler; retry: ResolvedRetryOptions; browser?: BrowserRoute}>;
	/** Pages for routes with `browser: true` (absent when the crawler has none). */
	readonly browserPages?: BrowserPages;
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
	/** Route handlers in worker threads (the `threads` option); absent: on this thread. */
	readonly handlerThreads?: HandlerThreads;
}

/** Longest wait for the host slot a request gave back while its session logged in; past it, the request goes back to the frontier. */
const SLOT_WAIT_MS = 500;

/** This request's host slot: released once, by whichever comes first (a re-login, or the end). */
interface HostSlot {
	release(result: ReleaseResult): void;
}

export async function processRequest(
	deps: ProcessDeps,
	request: StoredRequest,
	session: Session,
	complete: (completion: Completion) => void,
): Promise<void> {
	// The engine acquired this request's host slot before the call; it is released here, once.
	let holdsSlot = true;
	const slot: HostSlot = {
		release(result) {
			if (!holdsSlot) return;
			holdsSlot = false;
			deps.throttle.release(request.host, result);
		},
	};
	let slotResult: ReleaseResult = 'cancelled';
	// A browser route's page, open from its load until its handler has run.
	const opened: {browser?: BrowserFetch} = {};
	try {
		if (deps.pool.needsPreparation(session)) {
			// The login's own requests go through the host throttle too: holding this slot while
			// they wait for one could leave the host with every slot held by requests waiting on it.
			slot.release('cancelled');
			try {
				await deps.pool.prepare(session);
			} catch (error) {
				// The pool disabled the session, or its login was deferred: the request waits for another turn.
				deps.log.warn(describeError(error).message);
				complete({kind: 'release', requestId: request.id, retryAt: retryAtOf(error)});
				return;
			}
			const again = await acquireHostSlot(deps.throttle, request.host, SLOT_WAIT_MS);
			if (!again.ok) {
				complete({kind: 'release', requestId: request.id, retryAt: deps.now() + again.retryInMs});
				return;
			}
			holdsSlot = true;
		}
		slotResult = await fetchAndHandle(deps, request, session, slot, complete, opened);
	} finally {
		await opened.browser?.close();
		deps.pool.release(session);
		slot.release(slotResult);
	}
}

async function fetchAndHandle(
	deps: ProcessDeps,
	request: StoredRequest,
	session: Session,
	slot: HostSlot,
	complete: (completion: Completion) => void,
	opened: {browser?: BrowserFetch},
): Promise<ReleaseResult> {
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
		if (route?.browser && deps.browserPages) opened.browser = await deps.browserPages.open(request.url, session, route.browser);
		// One spread, first: spreads after other properties are a slow path for V8 (bench/ profile).
		result = opened.browser?.result ?? await fetchPage(request.url, {
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

	// A 403 means "logged out" only on a session that has already been let in since its login.
	const sessionWasValid = deps.hasLogin && wasSessionValid(session, parts.generation);
	let parsed: ParsedBody | undefined;
	if (result) {
		deps.stats.response(request.host, result.status, result.body.length);
		await deps.pool.afterResponse(session, {setCookie: result.headers['set-cookie'] !== undefined, status: result.status});
		parsed = new ParsedBody(result, request.url);
	} else {
		deps.stats.networkError(request.host);
	}
	// The raw facts, gathered once; judge() alone turns them into a decision.
	let outcome: Outcome =
		result && parsed
			? {
					url: result.url,
					status: result.status,
					headers: result.headers,
					redirects: result.redirects,
					...(deps.loginUrl === undefined ? {} : {loginUrl: deps.loginUrl}),
					hasSession: deps.hasLogin,
					sessionWasValid,
					deletedAuthCookie: deps.hasLogin && session.lostAuthCookie(result.deletedCookies, deps.definition.sessions?.authCookies),
					isLoggedOutPage: false,
					isRateLimitedPage: false,
				}
			: {url: request.url, redirects: [], hasSession: deps.hasLogin, sessionWasValid, error: outcomeErrorOf(fetchError)};

	let verdict = judge(outcome, counters(request), retry);
	if (result && parsed && verdict.kind === 'done' && route) {
		// A page the policy accepts unless a predicate says otherwise: predicates and handler in
		// one go, in a handler thread when there are some (never for a browser route: it has `page`).
		const handlerSession = deps.hasLogin ? session : undefined;
		const page =
			(deps.handlerThreads && !opened.browser ? await deps.handlerThreads.handle(info, result, handlerSession) : undefined) ??
			(await handlePage(deps, info, parsed, handlerSession, opened.browser ? {page: opened.browser.page} : undefined));
		if (page.loggedOut || page.rateLimited) {
			outcome = {...outcome, isLoggedOutPage: page.loggedOut, isRateLimitedPage: page.rateLimited};
			verdict = judge(outcome, counters(request), retry);
		} else {
			markSessionValid(session, parts.generation);
			if (page.handled) {
				const {items, itemsJson} = page.handled;
				const enqueued = page.handled.enqueued.filter((link) => !deps.seenKeys.has(link.uniqueKey));
				complete({kind: 'done', requestId: request.id, items, itemsJson, enqueued, status: result.status});
				return 'ok';
			}
			const failure = page.failure ?? {code: 'ERR_HANDLER', retryable: true, message: 'no outcome'};
			const handled: Outcome = {...outcome, error: {code: failure.code, retryable: failure.retryable}};
			verdict = withDetail(judge(handled, counters(request), retry), `handler error: ${failure.message}`);
		}
	} else if (result && parsed) {
		// A page the policy already turned down (or has no route for): the predicates still count.
		if (deps.definition.loggedOut || deps.definition.rateLimited) {
			outcome = {
				...outcome,
				isLoggedOutPage: deps.definition.loggedOut ? await checkPage(deps, 'loggedOut', info, parsed) : false,
				isRateLimitedPage: deps.definition.rateLimited ? await checkPage(deps, 'rateLimited', info, parsed) : false,
			};
			verdict = judge(outcome, counters(request), retry);
		}
		if (verdict.kind === 'done') {
			markSessionValid(session, parts.generation);
			const noRoute: Outcome = {...outcome, error: {code: 'ERR_NO_ROUTE', retryable: false}};
			verdict = withDetail(judge(noRoute, counters(request), retry), `no route for label '${request.label}'`);
		}
	}
	return applyVerdict(deps, request, session, slot, parts.generation, verdict, result?.status, complete);
}

function withDetail(verdict: Verdict, detail: string): Verdict {
	return verdict.kind === 'done' ? verdict : {...verdict, reason: `${verdict.reason}; ${detail}`};
}

function retryAtOf(error: unknown): number {
	const retryAt = (error as {retryAt?: unknown} | undefined)?.retryAt;
	return typeof retryAt === 'number' && Number.isFinite(retryAt) ? retryAt : 0;
}

async function applyVerdict(
	deps: ProcessDeps,
	request: StoredRequest,
	session: Session,
	slot: HostSlot,
	generation: number,
	verdict: Verdict,
	status: number | undefined,
	complete: (completion: Completion) => void,
): Promise<ReleaseResult> {
	const now = deps.now();
	switch (verdict.kind) {
		case 'done':
			// A 'done' verdict without a body cannot happen (a network error is never done).
			complete({kind: 'release', requestId: request.id, retryAt: now});
			return 'ok';
		case 'relogin': {
			// Neutral for the host's adaptive rate: a logout says nothing about load. Released before
			// the re-login, whose own requests need a slot of the host.
			slot.release('error');
			let started = false;
			try {
				started = (await deps.pool.relogin(session, generation, verdict.reason)) === 'started';
			} catch (error) {
				deps.log.warn(describeError(error).message);
			}
			// Charged only when this request's logout started the re-login: one that another
			// request had already handled (or was handling) costs this request nothing.
			deps.stats.relogin(request.host, verdict.cause, started);
			complete({...retryFields(request), retryAt: deps.now(), reloginCount: request.reloginCount + (started ? 1 : 0), error: verdict.reason});
			return 'error';
		}
		case 'wait': {
			deps.stats.wait(request.host, verdict.cause, verdict.counter);
			if (verdict.hostCooldownMs > 0) deps.onHostCooldown(request.host, now + verdict.hostCooldownMs);
			if (verdict.deferred) {
				deps.log.warn(
					`${request.host} asked to wait ${Math.round(verdict.delayMs / 1000)}s (over maxRetryAfter): ${redactUrl(request.url)} is deferred; the run goes on with other hosts`,
				);
			}
			complete({...retryFields(request), retryAt: now + verdict.delayMs, [verdict.counter]: request[verdict.counter] + 1, error: verdict.reason});
			return verdict.counter === 'rateLimitCount' ? 'rate-limited' : 'error';
		}
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
			return verdict.exhausted === 'rateLimitCount' ? 'rate-limited' : 'error';
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

/** Runs a page predicate of the definition (loggedOut, rateLimited) on a 2xx page; a throw counts as false. */
function checkPage(deps: ProcessDeps, name: PagePredicateName, request: RequestInfo, parsed: ParsedBody): Promise<boolean> {
	// Without a login too: a logged-out page is then a failure (ERR_LOGGED_OUT), never a result.
	return checkPagePredicate(deps.definition, name, request, parsed, deps.log);
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
