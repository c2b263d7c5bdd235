// Cookies between a tough-cookie jar and a Playwright browser context, both ways, keeping
// domain (host-only or not), path, expiry, Secure, HttpOnly and SameSite. The jar also records
// which origin set each cookie (http/cookie-origin.ts); a browser cookie carries no port, so its
// setter is taken from the origins the browser visited, the login page's first.
import {Cookie, domainMatch, type CookieJar} from 'tough-cookie';
import {cookieExpiresAt} from '../sessions/session.js';

/** Playwright's cookie shape (`context.cookies()` / `context.addCookies()`), without its type import. */
export interface BrowserCookie {
	readonly name: string;
	readonly value: string;
	/** A leading dot: sent to subdomains too (a Domain= cookie); none: host-only. */
	readonly domain: string;
	readonly path: string;
	/** Seconds since the epoch; -1 for a session cookie. */
	readonly expires: number;
	readonly httpOnly: boolean;
	readonly secure: boolean;
	readonly sameSite: 'Strict' | 'Lax' | 'None';
}

const TO_BROWSER_SAME_SITE = {strict: 'Strict', lax: 'Lax', none: 'None'} as const;

/**
 * The jar's cookie as a browser cookie. A cookie with no SameSite attribute becomes `Lax`:
 * what Chromium applies to such a cookie anyway (lax by default).
 */
export function toBrowserCookie(cookie: Cookie, now = Date.now()): BrowserCookie | undefined {
	const expiresAt = cookieExpiresAt(cookie);
	if (expiresAt !== undefined && expiresAt <= now) return undefined;
	if (!cookie.domain) return undefined;
	const sameSite = TO_BROWSER_SAME_SITE[(cookie.sameSite ?? '').toLowerCase() as keyof typeof TO_BROWSER_SAME_SITE] ?? 'Lax';
	return {
		name: cookie.key,
		value: cookie.value,
		domain: cookie.hostOnly === false ? `.${cookie.domain}` : cookie.domain,
		path: cookie.path ?? '/',
		expires: expiresAt === undefined ? -1 : expiresAt / 1000,
		httpOnly: cookie.httpOnly,
		secure: cookie.secure,
		sameSite,
	};
}

/** A browser cookie as a tough-cookie Cookie, before it is put in a jar (hostOnly set, domain without a dot). */
export function fromBrowserCookie(browser: BrowserCookie, now = new Date()): Cookie {
	const isHostOnly = !browser.domain.startsWith('.');
	return new Cookie({
		key: browser.name,
		value: browser.value,
		domain: browser.domain.replace(/^\./, '').toLowerCase(),
		path: browser.path || '/',
		expires: browser.expires >= 0 ? new Date(browser.expires * 1000) : 'Infinity',
		secure: browser.secure,
		httpOnly: browser.httpOnly,
		sameSite: browser.sameSite.toLowerCase(),
		hostOnly: isHostOnly,
		creation: now,
		lastAccessed: now,
	});
}

/**
 * The origin to record as the cookie's setter: the first visited origin whose host the cookie's
 * domain covers (for a Secure cookie, an https one first); else the cookie's own host on the
 * scheme its Secure flag implies, on the default port.
 */
export function setterOrigin(browser: BrowserCookie, visitedOrigins: readonly string[]): string {
	const domain = browser.domain.replace(/^\./, '').toLowerCase();
	const isHostOnly = !browser.domain.startsWith('.');
	const covers = (origin: string): boolean => {
		const host = new URL(origin).hostname.toLowerCase();
		return isHostOnly ? host === domain : domainMatch(host, domain) === true;
	};
	const candidates = visitedOrigins.filter(covers);
	const preferred = browser.secure ? (candidates.find((origin) => origin.startsWith('https:')) ?? candidates[0]) : candidates[0];
	return preferred ?? `${browser.secure ? 'https' : 'http'}://${domain}`;
}

/**
 * Puts every browser cookie into the jar as if its setter origin had sent it. Returns how many
 * the jar refused (a Domain the setter may not set, a malformed name): reported, not fatal.
 */
export function putBrowserCookies(jar: CookieJar, cookies: readonly BrowserCookie[], visitedOrigins: readonly string[]): number {
	let refused = 0;
	const now = new Date();
	for (const browser of cookies) {
		const cookie = fromBrowserCookie(browser, now);
		const origin = setterOrigin(browser, visitedOrigins);
		// tough-cookie decides host-only from the domain: a host-only cookie is set with none.
		const url = new URL(cookie.path ?? '/', cookie.hostOnly ? `${new URL(origin).protocol}//${cookie.domain}${portOf(origin)}` : origin).href;
		if (cookie.hostOnly) cookie.domain = null;
		try {
			if (!jar.setCookieSync(cookie, url)) refused++;
		} catch {
			refused++;
		}
	}
	return refused;
}

/** The cookies of the jar a browser may hold for pages of `url`'s site (what the session would send there). */
export function browserCookiesFor(cookies: readonly Cookie[], now = Date.now()): BrowserCookie[] {
	return cookies.flatMap((cookie) => toBrowserCookie(cookie, now) ?? []);
}

function portOf(origin: string): string {
	const {port} = new URL(origin);
	return port ? `:${port}` : '';
}
