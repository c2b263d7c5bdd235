// Where a cookie may go. tough-cookie applies RFC 6265 (domain, path, Secure, expiry), which
// ignores ports: a login cookie of 127.0.0.1:8080 would go to 127.0.0.1:9999 too, on a redirect
// or a `sameOrigin: false` link (issue 14 item 4). So every cookie remembers the origin that set
// it (scheme, host, port), and on top of tough-cookie's rules:
//   - a host-only cookie is sent to that origin only;
//   - a Domain= cookie to the hosts its domain matches, with that origin's scheme and port.
// The origin is kept as a cookie extension, so it is persisted with the jar (encrypted) and
// follows the cookie through tough-cookie's updates. A cookie without one (a session persisted
// by an older crawljar) is never sent.
import {Cookie, CookieJar} from 'tough-cookie';
import type {Callback, SetCookieOptions} from 'tough-cookie';

const ORIGIN_EXTENSION = 'crawljar-origin=';

/** The origin that set `cookie`, if it was recorded. */
export function cookieOrigin(cookie: Cookie): string | undefined {
	const extension = cookie.extensions?.find((entry) => entry.startsWith(ORIGIN_EXTENSION));
	return extension?.slice(ORIGIN_EXTENSION.length);
}

/**
 * Records `url`'s origin as the setter of `cookie`, replacing any origin the Set-Cookie line
 * itself claimed (a server must not be able to name another origin as the setter).
 */
export function stampOrigin(cookie: Cookie, url: string | URL): Cookie {
	const others = (cookie.extensions ?? []).filter((entry) => !entry.toLowerCase().startsWith(ORIGIN_EXTENSION));
	cookie.extensions = [...others, ORIGIN_EXTENSION + new URL(url).origin];
	return cookie;
}

/** Whether `cookie` (already matched to `url` by tough-cookie) may be sent to `url`. */
export function isSentTo(cookie: Cookie, url: URL): boolean {
	const origin = cookieOrigin(cookie);
	if (origin === undefined) return false;
	if (origin === url.origin) return true;
	if (cookie.hostOnly !== false) return false;
	return schemeAndPort(origin) === `${url.protocol}${effectivePort(url)}`;
}

const schemeAndPorts = new Map<string, string>();

function schemeAndPort(origin: string): string {
	let known = schemeAndPorts.get(origin);
	if (known === undefined) {
		try {
			const parsed = new URL(origin);
			known = `${parsed.protocol}${effectivePort(parsed)}`;
		} catch {
			known = '';
		}
		// Origins are few (the hosts a crawl visits); a crawl over very many starts over.
		if (schemeAndPorts.size >= 10_000) schemeAndPorts.clear();
		schemeAndPorts.set(origin, known);
	}
	return known;
}

function effectivePort(url: URL): string {
	return url.port || (url.protocol === 'https:' ? '443' : '80');
}

/**
 * A CookieJar that records the setting origin of every cookie put into it, however it is put
 * (fetchPage, session.addCookie, a login step using session.jar directly).
 */
export class OriginCookieJar extends CookieJar {
	override setCookie(cookie: string | Cookie, url: string | URL, callback: Callback<Cookie | undefined>): void;
	override setCookie(cookie: string | Cookie, url: string | URL, options: SetCookieOptions, callback: Callback<Cookie | undefined>): void;
	override setCookie(cookie: string | Cookie, url: string | URL, options?: SetCookieOptions): Promise<Cookie | undefined>;
	override setCookie(
		cookie: string | Cookie,
		url: string | URL,
		options: SetCookieOptions | Callback<Cookie | undefined>,
		callback?: Callback<Cookie | undefined>,
	): unknown;
	override setCookie(
		cookie: string | Cookie,
		url: string | URL,
		options?: SetCookieOptions | Callback<Cookie | undefined>,
		callback?: Callback<Cookie | undefined>,
	): unknown {
		const stamped = withOrigin(cookie, url, typeof options === 'object' && options.loose === true);
		return options === undefined ? super.setCookie(stamped, url) : super.setCookie(stamped, url, options, callback);
	}
}

/** A parsed, stamped cookie; a line that does not parse is passed on for tough-cookie to reject. */
function withOrigin(cookie: string | Cookie, url: string | URL, loose: boolean): string | Cookie {
	let parsed: Cookie | undefined;
	try {
		parsed = typeof cookie === 'string' ? Cookie.parse(cookie, {loose}) : cookie;
		// A bad URL is tough-cookie's to report, with its own error.
		return parsed ? stampOrigin(parsed, url) : cookie;
	} catch {
		return cookie;
	}
}
