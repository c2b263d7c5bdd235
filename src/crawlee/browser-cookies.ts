// Cookies between a session's jar and a browser context (Playwright's cookie shape). Into the
// browser go only the cookies crawljar itself would send to the page's URL (so the origin rule
// of cookie-origin.ts holds there too); back into the jar come the cookies the browser holds for
// the page's host, stamped with the page's origin as their setter.
// The conversion itself (attributes both ways) is the browser login's: src/browser/cookie-convert.ts.
import type {CookieJar} from 'tough-cookie';
import {browserCookiesFor, fromBrowserCookie, type BrowserCookie} from '../browser/cookie-convert.js';
import {cookiesSentTo} from '../http/cookie-header.js';
import {stampOrigin} from '../http/cookie-origin.js';

export type {BrowserCookie};

/** The jar's cookies for `url`, as browser cookies (a host-only cookie stays host-only: no leading dot). */
export function jarToBrowser(jar: CookieJar, url: string): BrowserCookie[] {
	return browserCookiesFor(cookiesSentTo(jar, url, new URL(url)));
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
		const cookie = fromBrowserCookie(browser);
		// tough-cookie decides host-only from the domain: a host-only cookie is set with none.
		if (cookie.hostOnly) cookie.domain = null;
		if (jar.setCookieSync(stampOrigin(cookie, page), pageUrl, {ignoreError: true})) changed = true;
	}
	const deleted = sent.filter((cookie) => !present.has(cookie.name)).map((cookie) => cookie.name);
	for (const name of deleted) {
		jar.setCookieSync(`${name}=; Path=/; Max-Age=0`, pageUrl, {ignoreError: true});
		changed = true;
	}
	return {changed, deleted};
}
