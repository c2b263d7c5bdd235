// Cookies between a session's jar and a browser context (Playwright's cookie shape). Into the
// browser go only the cookies crawljar itself would send to the page's URL (so the origin rule
// of cookie-origin.ts holds there too); back into the jar come the cookies the browser holds for
// the page's host, stamped with the page's origin as their setter.
// Kept in one module on purpose: the browser login (issue 11) converts cookies the same way.
import {Cookie, type CookieJar} from 'tough-cookie';
import {cookiesSentTo} from '../http/cookie-header.js';
import {stampOrigin} from '../http/cookie-origin.js';

/** A cookie as Playwright's BrowserContext.addCookies() takes and cookies() returns it. */
export interface BrowserCookie {
	readonly name: string;
	readonly value: string;
	readonly domain: string;
	readonly path: string;
	/** Seconds since the epoch; -1 for a session cookie. */
	readonly expires: number;
	readonly httpOnly: boolean;
	readonly secure: boolean;
	readonly sameSite: 'Strict' | 'Lax' | 'None';
}

const SAME_SITE: Record<string, BrowserCookie['sameSite']> = {strict: 'Strict', lax: 'Lax', none: 'None'};

/** The jar's cookies for `url`, as browser cookies (a host-only cookie stays host-only: no leading dot). */
export function jarToBrowser(jar: CookieJar, url: string): BrowserCookie[] {
	const parsed = new URL(url);
	return cookiesSentTo(jar, url, parsed).map((cookie) => ({
		name: cookie.key,
		value: cookie.value,
		domain: cookie.hostOnly === false && cookie.domain ? `.${cookie.domain}` : parsed.hostname,
		path: cookie.path ?? '/',
		expires: expiresSeconds(cookie),
		httpOnly: cookie.httpOnly,
		secure: cookie.secure,
		sameSite: SAME_SITE[(cookie.sameSite ?? '').toLowerCase()] ?? 'Lax',
	}));
}

export interface BrowserCookieSync {
	/** A cookie was added or changed a value: the session should be saved. */
	readonly changed: boolean;
	/** Names of cookies the jar sent that the browser no longer holds (the page deleted them). */
	readonly deleted: readonly string[];
}

/**
 * Puts the browser's cookies for `pageUrl`'s host into the jar. `sent`: the cookies injected
 * before the navigation; those now missing were deleted by the site (a logout signal).
 */
export function browserToJar(jar: CookieJar, pageUrl: string, browserCookies: readonly BrowserCookie[], sent: readonly BrowserCookie[]): BrowserCookieSync {
	const page = new URL(pageUrl);
	const host = page.hostname;
	const current = new Map(cookiesSentTo(jar, pageUrl, page).map((cookie) => [`${cookie.key};${cookie.path}`, cookie.value]));
	let changed = false;
	const present = new Set<string>();
	for (const browser of browserCookies) {
		const domain = browser.domain.replace(/^\./, '');
		if (domain !== host && !host.endsWith(`.${domain}`)) continue;
		present.add(browser.name);
		if (current.get(`${browser.name};${browser.path}`) === browser.value) continue;
		const cookie = new Cookie({
			key: browser.name,
			value: browser.value,
			path: browser.path,
			httpOnly: browser.httpOnly,
			secure: browser.secure,
			sameSite: browser.sameSite.toLowerCase(),
			...(browser.domain.startsWith('.') ? {domain} : {}),
			...(browser.expires > 0 ? {expires: new Date(browser.expires * 1000)} : {}),
		});
		if (jar.setCookieSync(stampOrigin(cookie, page), pageUrl, {ignoreError: true})) changed = true;
	}
	const deleted = sent.filter((cookie) => !present.has(cookie.name)).map((cookie) => cookie.name);
	for (const name of deleted) {
		jar.setCookieSync(`${name}=; Path=/; Max-Age=0`, pageUrl, {ignoreError: true});
		changed = true;
	}
	return {changed, deleted};
}

function expiresSeconds(cookie: Cookie): number {
	const ttlMs = cookie.TTL();
	if (!Number.isFinite(ttlMs)) return -1;
	return Math.floor((Date.now() + ttlMs) / 1000);
}
