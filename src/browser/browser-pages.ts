// Pages for browser routes (issue 11 item 4): at most `maxPages` open at once, each in a fresh
// browser context that carries the cookies the session would send to the page's URL; cookies the
// page set or deleted flow back into the session's jar. One Chromium serves the pages; it is
// replaced after `pagesPerBrowser` pages (a browser's memory only grows) and when it crashes.
// playwright-core directly rather than @crawlee/browser-pool: this is all the pooling needed,
// and the pool would bring @crawlee/core, fingerprinting and proxy code into every install.
import type {Browser, Page, Response} from 'playwright-core';
import {CrawljarError, redactUrl} from '../errors.js';
import type {FetchResult} from '../http/fetch.js';
import {cookiesSentTo} from '../http/cookie-header.js';
import type {Session} from '../sessions/session.js';
import {BROWSER_DEFAULTS, type BrowserOptions} from './browser-options.js';
import {browserCookiesFor, putBrowserCookies, type BrowserCookie} from './cookie-convert.js';
import {launchChromium} from './launch-browser.js';
import {firstLines} from './page-tools.js';

export interface BrowserRoute {
	readonly waitFor: string | undefined;
}

/** A page loaded for one request: its result for the policy, the page for the handler. */
export interface BrowserFetch {
	readonly result: FetchResult;
	readonly page: Page;
	/** Closes the page's context and gives its slot back; call once, after the handler. */
	close(): Promise<void>;
}

interface RunningBrowser {
	readonly browser: Promise<Browser>;
	served: number;
	open: number;
	isRetired: boolean;
}

export class BrowserPages {
	readonly #options: Required<BrowserOptions>;
	readonly #waiting: Array<() => void> = [];
	#openPages = 0;
	#current: RunningBrowser | undefined;
	readonly #all = new Set<RunningBrowser>();
	/** Browsers started (a replacement after N pages or a crash counts). */
	launches = 0;

	readonly #loginPage: string | undefined;

	/** `loginUrl`: a page that ends there is a logout for the policy, not a page to wait on. */
	constructor(options: BrowserOptions = {}, loginUrl?: string) {
		this.#options = {...BROWSER_DEFAULTS, ...options};
		this.#loginPage = loginUrl === undefined ? undefined : pageOf(loginUrl);
	}

	async open(url: string, session: Session, route: BrowserRoute): Promise<BrowserFetch> {
		await this.#slot();
		const running = this.#browser();
		running.open++;
		// Counted when assigned: pages opened side by side must not all land on a browser that is due.
		running.served++;
		if (running.served >= this.#options.pagesPerBrowser) running.isRetired = true;
		let context: Awaited<ReturnType<Browser['newContext']>> | undefined;
		const close = async () => {
			await context?.close().catch(() => {});
			running.open--;
			if (running.isRetired && running.open === 0) await this.#closeBrowser(running);
			this.#openPages--;
			this.#waiting.shift()?.();
		};
		try {
			const browser = await running.browser;
			context = await browser.newContext();
			const before = cookiesSentTo(session.jar, url, new URL(url));
			await context.addCookies(browserCookiesFor(before));
			const page = await context.newPage();
			const response = await this.#navigate(page, url, route);
			const cookies = (await context.cookies()) as BrowserCookie[];
			const origins = [...new Set([url, ...chainOf(response).map((each) => each.url())].map((each) => new URL(each).origin))];
			const sentValues = new Map(before.map((cookie) => [`${cookie.key}\0${cookie.path ?? '/'}`, cookie.value]));
			// Only a new or changed value makes the session worth saving again.
			const changed = cookies.some((cookie) => sentValues.get(`${cookie.name}\0${cookie.path}`) !== cookie.value);
			putBrowserCookies(session.jar, cookies, origins);
			const deleted = removeDeleted(session, before, cookies);
			const html = await page.content();
			const result: FetchResult = {
				url: page.url(),
				status: response.status(),
				headers: {...response.headers(), ...(changed || deleted.length > 0 ? {'set-cookie': []} : {})},
				body: Buffer.from(html, 'utf8'),
				redirects: chainOf(response).slice(1).map((each) => each.url()),
				deletedCookies: deleted,
				rejectedCookies: 0,
			};
			return {result, page, close};
		} catch (error) {
			await close();
			throw error;
		}
	}

	/** Closes every browser (the end of the run). */
	async close(): Promise<void> {
		await Promise.all([...this.#all].map((running) => this.#closeBrowser(running)));
	}

	async #navigate(page: Page, url: string, route: BrowserRoute): Promise<Response> {
		const timeout = this.#options.navigationTimeoutMs;
		let response: Response | null;
		try {
			response = await page.goto(url, {waitUntil: this.#options.waitUntil, timeout});
			const hasLanded = response !== null && response.status() < 300 && pageOf(page.url()) !== this.#loginPage;
			if (route.waitFor && hasLanded) await page.waitForSelector(route.waitFor, {timeout});
		} catch (error) {
			const message = firstLines(error instanceof Error ? error.message : String(error), 1);
			const isTimeout = error instanceof Error && error.name === 'TimeoutError';
			throw new CrawljarError(isTimeout ? 'ERR_TIMEOUT' : 'ERR_NETWORK', `browser: GET ${redactUrl(url)}: ${message.replaceAll(url, redactUrl(url))}`, {cause: error});
		}
		if (!response) throw new CrawljarError('ERR_NETWORK', `browser: GET ${redactUrl(url)}: no response`);
		return response;
	}

	#slot(): Promise<void> {
		if (this.#openPages < this.#options.maxPages) {
			this.#openPages++;
			return Promise.resolve();
		}
		// The slot is handed over by close(): the count stays the same.
		return new Promise((resolve) => this.#waiting.push(resolve));
	}

	#browser(): RunningBrowser {
		if (this.#current && !this.#current.isRetired) return this.#current;
		this.launches++;
		const browser = launchChromium('a browser route');
		const running: RunningBrowser = {browser, served: 0, open: 0, isRetired: false};
		// A crashed browser is retired: the next page starts a new one.
		browser.then((started) => started.on('disconnected', () => (running.isRetired = true))).catch(() => (running.isRetired = true));
		this.#current = running;
		this.#all.add(running);
		return running;
	}

	async #closeBrowser(running: RunningBrowser): Promise<void> {
		if (!this.#all.delete(running)) return;
		if (this.#current === running) this.#current = undefined;
		await running.browser.then((browser) => browser.close()).catch(() => {});
	}
}

function pageOf(url: string): string {
	const parsed = new URL(url);
	return parsed.origin + parsed.pathname;
}

/** The responses of a navigation, the first request's first, the final one last. */
function chainOf(response: Response): Array<{url(): string}> {
	const requests = [];
	for (let request: ReturnType<Response['request']> | null = response.request(); request; request = request.redirectedFrom()) requests.unshift(request);
	return requests;
}

/** Cookies the session sent that the browser no longer holds: deleted by the page or the server. */
function removeDeleted(session: Session, before: ReturnType<typeof cookiesSentTo>, after: readonly BrowserCookie[]): string[] {
	const kept = new Set(after.map((cookie) => `${cookie.name}\0${cookie.path}`));
	const deleted = before.filter((cookie) => !kept.has(`${cookie.key}\0${cookie.path ?? '/'}`));
	for (const cookie of deleted) if (cookie.domain && cookie.path) session.jar.store.removeCookie(cookie.domain, cookie.path, cookie.key, () => {});
	return deleted.map((cookie) => cookie.key);
}
