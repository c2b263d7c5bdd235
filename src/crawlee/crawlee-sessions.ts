// crawleeSessions(definition): crawljar's sessions inside a Crawlee crawler. The definition
// declares accounts, login and loggedOut; Crawlee crawls (its request queue, pushData, its
// statistics). Spread `crawlerOptions` into a CheerioCrawler or HttpCrawler, or
// `browserCrawlerOptions()` into a PlaywrightCrawler; `close()` saves the sessions (encrypted)
// in the crawler's store, so the next run does not log in again.
import type {BaseHttpClient} from 'crawlee';
import type {CrawlerDefinition} from '../job/types.js';
import {openSessionRuntime, type OpenRuntimeOptions} from '../runtime/session-runtime.js';
import type {SessionSummary} from '../sessions/session-persistence.js';
import type {PoolStats} from '../sessions/session-pool.js';
import {checkOptions, clientOptionsSchema} from '../client/client-options.js';
import {browserHooks, type BrowserHook, type LaunchContextLike} from './browser-hooks.js';
import {crawleeHttpClient} from './crawlee-http-client.js';

/** Where the crawler's sessions are (OpenRuntimeOptions: storage, storeUrl, store, secretKey, log), and: */
export interface CrawleeSessionsOptions extends OpenRuntimeOptions {
	/**
	 * Longest wait inside one Crawlee navigation (a login, a host cooldown, a Retry-After); a
	 * longer one fails that attempt (ERR_RATE_LIMITED) and Crawlee retries it later. Keep it under
	 * Crawlee's `navigationTimeoutSecs` (30 s for HTTP crawlers, 60 s for browsers). @default 20_000
	 */
	readonly maxWaitMs?: number;
}

// The same fields as openClient's options (one schema checks both), with a shorter wait.
export const CRAWLEE_SESSIONS_DEFAULTS = Object.freeze({maxWaitMs: 20_000} as const);

export interface HttpCrawlerSessionOptions {
	/** Every navigation and `sendRequest` through crawljar's sessions. */
	readonly httpClient: BaseHttpClient;
	/** Crawlee's own session pool would retire sessions on 401/403/429: crawljar's pool owns sessions. */
	readonly useSessionPool: false;
}

export interface BrowserCrawlerSessionOptions {
	readonly httpClient: BaseHttpClient;
	readonly useSessionPool: false;
	/** Each page gets its own browser context (`useIncognitoPages`), so sessions' cookies never mix. */
	readonly launchContext: LaunchContextLike & {readonly useIncognitoPages: true};
	readonly preNavigationHooks: BrowserHook[];
	readonly postNavigationHooks: BrowserHook[];
}

export interface CrawleeSessions {
	/** For CheerioCrawler and HttpCrawler: `new CheerioCrawler({ ...auth.crawlerOptions, requestHandler })`. */
	readonly crawlerOptions: HttpCrawlerSessionOptions;
	/**
	 * For PlaywrightCrawler: `new PlaywrightCrawler({ ...auth.browserCrawlerOptions({ launcher: chromium }), requestHandler })`.
	 * Cookies go into each page's browser context; cookies the browser sets come back into the jar.
	 */
	browserCrawlerOptions(launchContext?: LaunchContextLike): BrowserCrawlerSessionOptions;
	sessions(): SessionSummary[];
	stats(): PoolStats;
	/** Saves sessions and host cooldowns and closes the store (if it opened it). Idempotent. */
	close(): Promise<void>;
}

export async function crawleeSessions(definition: CrawlerDefinition, options: CrawleeSessionsOptions = {}): Promise<CrawleeSessions> {
	const checked = checkOptions<CrawleeSessionsOptions>(clientOptionsSchema, options, 'crawleeSessions() options');
	const {maxWaitMs = CRAWLEE_SESSIONS_DEFAULTS.maxWaitMs, ...open} = checked;
	const runtime = await openSessionRuntime(definition, open);
	const settings = {retry: runtime.defaultRetry, maxWaitMs};
	const httpClient = crawleeHttpClient(runtime, settings);
	return {
		crawlerOptions: {httpClient, useSessionPool: false},
		browserCrawlerOptions(launchContext = {}) {
			const hooks = browserHooks(runtime, settings);
			return {httpClient, useSessionPool: false, launchContext: {...launchContext, useIncognitoPages: true}, ...hooks};
		},
		sessions: () => runtime.pool.list(),
		stats: () => runtime.pool.stats(),
		close: () => runtime.close(),
	};
}
