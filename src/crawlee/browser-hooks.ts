// Navigation hooks for Crawlee's PlaywrightCrawler. Before Crawlee navigates: lease a crawljar
// session (per-session caps), log it in when due, take a slot of the host (per-host caps, and a
// cooling host waits), and put the session's cookies into the page's own browser context. After
// it navigated: bring the browser's cookies back into the jar and let judge() decide on what the
// browser got; a logout re-logs-in the session (single-flight) and the page is loaded again, a
// 429 cools the host for every worker and the page is loaded again after the wait — inside the
// same Crawlee attempt, so no Crawlee retry is spent. The lease and the slot are given back when
// the hook is done or, whatever happens, when the page closes.
import {setTimeout as delay} from 'node:timers/promises';
import {CrawljarError, redactUrl} from '../errors.js';
import type {FetchResult} from '../http/fetch.js';
import {acquireHostSlot} from '../policy/host-slot.js';
import {judge, type Verdict} from '../policy/judge.js';
import {markSessionValid, wasSessionValid} from '../policy/session-validity.js';
import {responseOutcome, WaitTooLongError} from '../runtime/send-with-session.js';
import type {SessionRuntime} from '../runtime/session-runtime.js';
import type {Session} from '../sessions/session.js';
import {releaseResultOf} from '../sessions/session-logins.js';
import {isSamePage} from '../util/same-page.js';
import {browserToJar, jarToBrowser, type BrowserCookie} from './browser-cookies.js';
import type {CrawleeClientSettings} from './crawlee-http-client.js';

/** The few members of Playwright's Page, Response and Route these hooks use. */
interface PageLike {
	url(): string;
	content(): Promise<string>;
	goto(url: string, options?: unknown): Promise<ResponseLike | null>;
	once(event: 'close', listener: () => void): unknown;
	route(matcher: (url: URL) => boolean, handler: (route: RouteLike) => unknown): Promise<void>;
	context(): {addCookies(cookies: BrowserCookie[]): Promise<void>; cookies(urls?: string | string[]): Promise<BrowserCookie[]>};
}
interface ResponseLike {
	status(): number;
	headers(): Record<string, string>;
	url(): string;
	request(): {redirectedFrom(): {url(): string; redirectedFrom(): unknown} | null; url(): string};
}
interface RouteLike {
	request(): {url(): string; headers(): Record<string, string>};
	continue(options?: {headers?: Record<string, string>}): Promise<void>;
	fulfill(options: {status: number; contentType?: string; body: string}): Promise<void>;
}
interface BrowserContextLike {
	readonly page: PageLike;
	readonly request: {readonly url: string; readonly label?: string | undefined};
	response?: ResponseLike | null | undefined;
}

export type BrowserHook = (context: object, gotoOptions?: unknown) => Promise<void>;
/** Crawlee's `launchContext` (launcher, launchOptions…), passed through. */
export type LaunchContextLike = Readonly<Record<string, unknown>>;

interface PageLease {
	session: Session;
	generation: number;
	sent: BrowserCookie[];
	host: string;
	holdsSlot: boolean;
	holdsSession: boolean;
}

export function browserHooks(runtime: SessionRuntime, settings: CrawleeClientSettings): {preNavigationHooks: BrowserHook[]; postNavigationHooks: BrowserHook[]} {
	const leases = new WeakMap<PageLike, PageLease>();
	const {pool, throttle} = runtime;

	const giveBack = (lease: PageLease, verdict: Verdict | undefined) => {
		if (lease.holdsSlot) throttle.release(lease.host, verdict ? releaseResultOf(verdict) : 'error');
		if (lease.holdsSession) pool.release(lease.session);
		lease.holdsSlot = false;
		lease.holdsSession = false;
	};

	/** Session ready, host slot held, cookies in the page: ready to navigate. */
	const ready = async (page: PageLike, url: string, lease: PageLease | undefined): Promise<PageLease> => {
		const host = new URL(url).host;
		let session = lease?.session;
		if (!lease?.holdsSession) {
			session = await leaseBrowserSession(runtime);
		}
		const current: PageLease = lease ?? {session: session!, generation: 0, sent: [], host, holdsSlot: false, holdsSession: true};
		current.session = session!;
		current.holdsSession = true;
		try {
			if (pool.needsPreparation(current.session)) await pool.prepare(current.session);
			const slot = await acquireHostSlot(throttle, host, settings.maxWaitMs);
			if (!slot.ok) throw new WaitTooLongError(`${host} is cooling down for ${Math.ceil(slot.retryInMs / 1000)} s: ${redactUrl(url)}`, Date.now() + slot.retryInMs);
		} catch (error) {
			// A login that failed or a host cooling down too long: the session goes back at once.
			giveBack(current, undefined);
			throw error;
		}
		current.holdsSlot = true;
		const parts = pool.requestParts(current.session);
		current.generation = parts.generation;
		current.sent = jarToBrowser(parts.jar, url);
		if (current.sent.length) await page.context().addCookies(current.sent);
		return current;
	};

	const preNavigation: BrowserHook = async (raw) => {
		const {page, request} = raw as unknown as BrowserContextLike;
		const lease = await ready(page, request.url, undefined);
		leases.set(page, lease);
		page.once('close', () => giveBack(lease, undefined));
		// A redirect to the login page is a logout: answered in the page with an empty stub, so the
		// site never renders its form (and a new CSRF token) under a session that is logging in.
		const {loginUrl, credentialOrigins} = runtime;
		await page.route(
			(target) => (loginUrl !== undefined && isSamePage(target.href, loginUrl)) || credentialOrigins.has(target.origin),
			async (route) => {
				const target = route.request().url();
				if (loginUrl !== undefined && isSamePage(target, loginUrl)) return route.fulfill({status: 200, contentType: 'text/html', body: '<!doctype html><title>login</title>'});
				const credentials = pool.requestParts(lease.session).credentialHeaders;
				return Object.keys(credentials).length ? route.continue({headers: {...route.request().headers(), ...credentials}}) : route.continue();
			},
		);
	};

	const postNavigation: BrowserHook = async (raw, gotoOptions) => {
		const context = raw as unknown as BrowserContextLike;
		const {page, request} = context;
		const lease = leases.get(page);
		if (!lease) return;
		const counters = {retryCount: 0, reloginCount: 0, rateLimitCount: 0};
		let verdict: Verdict | undefined;
		try {
			for (;;) {
				verdict = await judgeNavigation(runtime, page, context.response ?? undefined, request, lease, counters, settings);
				if (verdict.kind === 'relogin') {
					giveBack(lease, verdict);
					const started = (await pool.relogin(lease.session, lease.generation, verdict.reason)) === 'started';
					runtime.stats.relogin(lease.host, verdict.cause, started);
					if (started) counters.reloginCount++;
				} else if (verdict.kind === 'wait' && verdict.counter === 'rateLimitCount') {
					giveBack(lease, verdict);
					runtime.stats.wait(lease.host, verdict.cause, verdict.counter);
					if (verdict.hostCooldownMs > 0) runtime.onHostCooldown(lease.host, Date.now() + verdict.hostCooldownMs);
					if (verdict.deferred || verdict.delayMs > settings.maxWaitMs) throw new WaitTooLongError(`${redactUrl(request.url)}: ${verdict.reason}`, Date.now() + verdict.delayMs);
					counters.rateLimitCount++;
					if (verdict.hostCooldownMs === 0) await delay(verdict.delayMs);
				} else {
					if (verdict.kind === 'fail' && (verdict.code === 'ERR_LOGGED_OUT' || verdict.code === 'ERR_RATE_LIMITED')) {
						throw new CrawljarError(verdict.code, `${redactUrl(request.url)}: ${verdict.reason}`);
					}
					// Done, or a 5xx / a 4xx: what Crawlee does with those is Crawlee's business.
					return;
				}
				await ready(page, request.url, lease);
				context.response = await page.goto(request.url, gotoOptions);
			}
		} finally {
			giveBack(lease, verdict);
		}
	};

	return {preNavigationHooks: [preNavigation], postNavigationHooks: [postNavigation]};
}

async function leaseBrowserSession(runtime: SessionRuntime): Promise<Session> {
	for (;;) {
		if (runtime.pool.isExhausted) throw new CrawljarError('NO_USABLE_SESSION', 'no usable session: every session is disabled');
		const session = runtime.pool.lease();
		if (session) return session;
		await runtime.pool.whenCapacity();
	}
}

/** What the browser got, as the facts judge() reads; the browser's cookies go into the jar on the way. */
async function judgeNavigation(
	runtime: SessionRuntime,
	page: PageLike,
	response: ResponseLike | undefined,
	request: BrowserContextLike['request'],
	lease: PageLease,
	counters: {retryCount: number; reloginCount: number; rateLimitCount: number},
	settings: CrawleeClientSettings,
): Promise<Verdict> {
	const {pool, definition} = runtime;
	const hasLogin = Boolean(runtime.login);
	const finalUrl = response?.url() ?? page.url();
	const sync = browserToJar(lease.session.jar, finalUrl, await page.context().cookies(finalUrl), lease.sent);
	const status = response?.status() ?? 0;
	runtime.stats.response(lease.host, status, 0);
	await pool.afterResponse(lease.session, {setCookie: sync.changed, status});
	const needsBody = Boolean(definition.loggedOut || definition.rateLimited);
	const result: FetchResult = {
		url: finalUrl,
		status,
		headers: response?.headers() ?? {},
		body: Buffer.from(needsBody ? await page.content() : ''),
		redirects: response ? redirectChain(response) : [],
		deletedCookies: sync.deleted,
		rejectedCookies: 0,
	};
	const outcome = await responseOutcome(runtime, {
		result,
		request,
		session: lease.session,
		sessionWasValid: hasLogin && wasSessionValid(lease.session, lease.generation),
	});
	const verdict = judge(outcome, counters, settings.retry);
	if (verdict.kind === 'done') markSessionValid(lease.session, lease.generation);
	return verdict;
}

/** The URLs redirected to, in order, the final one last (as fetchPage lists them). */
function redirectChain(response: ResponseLike): string[] {
	const chain: string[] = [];
	let current = response.request();
	chain.unshift(current.url());
	for (let previous = current.redirectedFrom(); previous; previous = current.redirectedFrom()) {
		current = previous as typeof current;
		chain.unshift(current.url());
	}
	// The first URL is the request's own; the rest are hops.
	return chain.slice(1);
}
