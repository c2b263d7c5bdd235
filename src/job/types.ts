// What a user writes in crawlers/*.ts. Hand-written types give handlers a precise context and
// editors their docs; src/job/schema.ts checks the same shape at load time, and compile-time
// checks there (and next to each options schema) keep the two in step.
import type {CheerioAPI} from 'cheerio';
import type {Page} from 'playwright-core';
import type {FetchTimeouts} from '../http/fetch.js';
import type {RetryOptions} from '../policy/retry-options.js';
import type {ScheduleOption} from '../scheduler/schedule-options.js';
import type {HostOptions} from '../policy/host-options.js';
import type {LoginOption} from '../sessions/login/login-strategy.js';
import type {Account, Session} from '../sessions/session.js';
import type {SessionOptions} from '../sessions/session-options.js';
import type {BrowserOptions} from '../browser/browser-options.js';

export type {HostLimitOptions as HostLimits, HostOptions, HostOverride} from '../policy/host-options.js';
export type {SessionOptions} from '../sessions/session-options.js';

export type Promisable<T> = T | Promise<T>;

export type {Account};

export interface StartRequest {
	readonly url: string;
	readonly label?: string;
	readonly userData?: Record<string, unknown>;
	readonly headers?: Record<string, string>;
	readonly uniqueKey?: string;
}

export interface RequestInfo {
	readonly id: number;
	readonly url: string;
	readonly uniqueKey: string;
	readonly label: string | undefined;
	readonly userData: Record<string, unknown>;
	readonly depth: number;
	/** Failed attempts before this one. */
	readonly retryCount: number;
}

export interface ResponseInfo {
	readonly status: number;
	readonly headers: Readonly<Record<string, string | string[] | undefined>>;
	/** The final URL after redirects. */
	readonly url: string;
}

export interface EnqueueOptions {
	/** CSS selector of links (`href`, else `src`) in the page. */
	readonly selector?: string;
	/** Explicit URLs, resolved against the page's final URL. */
	readonly urls?: readonly (string | StartRequest)[];
	readonly label?: string;
	readonly userData?: Record<string, unknown>;
	/** Keep only URLs matching one of these globs (`*` within a path segment, `**` across). */
	readonly globs?: readonly string[];
	readonly regex?: RegExp | readonly RegExp[];
	/** Drop URLs of another origin than the page. @default true */
	readonly sameOrigin?: boolean;
	/** Per-request headers for the enqueued requests. */
	readonly headers?: Record<string, string>;
	/** Builds the dedupe key; default: the normalized URL. */
	readonly uniqueKey?: (url: string) => string;
}

export interface Logger {
	info(message: string): void;
	warn(message: string): void;
	error(message: string): void;
}

export interface HandlerContext {
	readonly request: RequestInfo;
	readonly response: ResponseInfo;
	/** The body decoded as UTF-8. */
	readonly body: string;
	readonly rawBody: Buffer;
	/** Cheerio, parsed on first access; throws ERR_NOT_HTML for a non-HTML body. */
	readonly $: CheerioAPI;
	/** Parsed on first access; throws ERR_NOT_JSON for an invalid body. */
	readonly json: unknown;
	/** Results; written atomically with this request's "done" mark. */
	push(item: unknown): Promise<void>;
	/** Adds requests; returns how many passed the filters (dedupe happens in the store). */
	enqueue(options: EnqueueOptions): Promise<number>;
	readonly session: Session | undefined;
	readonly log: Logger;
	readonly crawler: {readonly name: string};
}

export type RouteHandler = (context: HandlerContext) => Promisable<void>;

export interface RouteConfig {
	readonly handler: RouteHandler;
	/** Overrides the crawler's retry options for this route. */
	readonly retry?: RetryOptions;
	readonly browser?: false;
}

/** A browser route's handler context: `page` is the rendered page (Playwright), `$` its DOM once loaded. */
export interface BrowserHandlerContext extends HandlerContext {
	readonly page: Page;
}

export type BrowserRouteHandler = (context: BrowserHandlerContext) => Promisable<void>;

/** A route whose pages are fetched in a browser sharing the session's cookies (see `browser` options). */
export interface BrowserRouteConfig {
	readonly browser: true;
	readonly handler: BrowserRouteHandler;
	readonly retry?: RetryOptions;
	/** A CSS selector to wait for after the page loaded, before `$` is taken (a list rendered by script). */
	readonly waitFor?: string;
}

export interface LoggedOutContext {
	readonly request: RequestInfo;
	readonly response: ResponseInfo;
	readonly body: string;
	readonly $: CheerioAPI;
}

export interface CrawlerDefinition {
	/** Letters, digits, `-` and `_`: names the storage file. */
	readonly name: string;
	readonly startUrls: readonly (string | StartRequest)[];
	/** Sent with every request (a request's own headers win). */
	readonly headers?: Record<string, string>;
	readonly routes: Readonly<Record<string, RouteHandler | RouteConfig | BrowserRouteConfig>>;
	/** Pages and browsers for browser routes. */
	readonly browser?: BrowserOptions;
	readonly accounts?: readonly Account[];
	readonly login?: LoginOption;
	/** A 200 page that means "logged out" (soft logout). */
	readonly loggedOut?: (context: LoggedOutContext) => Promisable<boolean>;
	/** A 200 page that means "slow down" (soft rate limit): handled like a 429 for its host. */
	readonly rateLimited?: (context: LoggedOutContext) => Promisable<boolean>;
	readonly sessions?: SessionOptions;
	/** Requests in flight in total (also capped per host and per session, see the README). @default 10 */
	readonly concurrency?: number;
	/** Stop after this many requests ended (done or failed) in this process; retries and 429 waits do not count. */
	readonly maxRequests?: number;
	/** Links deeper than this are not enqueued (start URLs are depth 0). */
	readonly maxDepth?: number;
	/** @default 10 MiB */
	readonly maxBodyBytes?: number;
	/** @default 10 */
	readonly maxRedirects?: number;
	/** HTTP timeouts, and `handlerMs`: the time limit of a route handler and of each page predicate. */
	readonly timeouts?: FetchTimeouts & {
		/** A handler (or loggedOut/rateLimited check) past this is abandoned: ERR_HANDLER_TIMEOUT, retried. @default 60_000 */
		readonly handlerMs?: number;
	};
	readonly retry?: RetryOptions;
	readonly hosts?: HostOptions;
	readonly schedule?: ScheduleOption;
	/** Send credentials over plain http to a non-loopback host. @default false */
	readonly allowInsecureLogin?: boolean;
	/** got-scraping's browser-like headers. @default true */
	readonly useHeaderGenerator?: boolean;
	/**
	 * Accept TLS certificates that do not verify (self-signed, expired, another host's): for an
	 * intranet app you trust, never for the open web — the login's password goes over that
	 * connection. @default false (got-scraping on its own accepts any certificate; crawljar does not)
	 */
	readonly ignoreTlsErrors?: boolean;
	/**
	 * How long a worker holds the requests it leased without a heartbeat (it sends one every
	 * leaseMs / 3): a dead worker's pages are back in play within this. @default 15_000
	 */
	readonly leaseMs?: number;
	/**
	 * Route handlers (and loggedOut/rateLimited) run in this many worker threads, which load this
	 * crawler's file: the main thread keeps HTTP, sessions and the store. 'auto': one per core
	 * beyond the first, at most 4. In a thread, module state is the thread's own and ctx.session
	 * has only id, username and account (see the README). Needs the crawler file: `crawljar run`,
	 * or runCrawler's `definitionFile`. @default 0
	 */
	readonly threads?: number | 'auto';
}
