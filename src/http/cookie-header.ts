// The Cookie header of a request, from a jar: tough-cookie's cookies for the URL, less those
// another origin set (cookie-origin.ts). tough-cookie rebuilds it on every call (URL parses,
// public-suffix lookup, domain permutations, a sort: ~35 µs, the largest cost crawljar added per
// page in bench/), yet a session sends the same header to every page of a site until its jar
// changes. So, for jars whose store is a TrackedCookieStore, the header is kept per origin
// (scheme, host and port) while the jar is unchanged (the store counts every write, whoever makes it) and for at
// most HEADER_TTL_MS; only when every cookie in the jar has Path=/, so that the page's path
// cannot change the answer. A hit does what tough-cookie's read does to the same cookies (expiry
// check against lastAccessed, then lastAccessed = now), so the jar ends up exactly as without
// the cache. Any other jar is asked every time.
import {MemoryCookieStore, cookieCompare, type Cookie, type CookieJar, type ErrorCallback} from 'tough-cookie';
import {isSentTo} from './cookie-origin.js';

const HEADER_TTL_MS = 1_000;
/** Hosts remembered per jar: a crawl over many hosts starts over rather than growing without bound. */
const MAX_HOSTS_PER_JAR = 1_000;

/** A MemoryCookieStore that counts its writes, so that a header built from it can tell it is stale. */
export class TrackedCookieStore extends MemoryCookieStore {
	/** Bumped by every write. */
	version = 0;

	override putCookie(cookie: Cookie): Promise<void>;
	override putCookie(cookie: Cookie, callback: ErrorCallback): void;
	override putCookie(cookie: Cookie, callback?: ErrorCallback): Promise<void> | void {
		this.version++;
		return callback ? super.putCookie(cookie, callback) : super.putCookie(cookie);
	}

	override updateCookie(oldCookie: Cookie, newCookie: Cookie): Promise<void>;
	override updateCookie(oldCookie: Cookie, newCookie: Cookie, callback: ErrorCallback): void;
	override updateCookie(oldCookie: Cookie, newCookie: Cookie, callback?: ErrorCallback): Promise<void> | void {
		this.version++;
		return callback ? super.updateCookie(oldCookie, newCookie, callback) : super.updateCookie(oldCookie, newCookie);
	}

	override removeCookie(domain: string, path: string, key: string): Promise<void>;
	override removeCookie(domain: string, path: string, key: string, callback: ErrorCallback): void;
	override removeCookie(domain: string, path: string, key: string, callback?: ErrorCallback): Promise<void> | void {
		this.version++;
		return callback ? super.removeCookie(domain, path, key, callback) : super.removeCookie(domain, path, key);
	}

	override removeCookies(domain: string, path: string): Promise<void>;
	override removeCookies(domain: string, path: string, callback: ErrorCallback): void;
	override removeCookies(domain: string, path: string, callback?: ErrorCallback): Promise<void> | void {
		this.version++;
		return callback ? super.removeCookies(domain, path, callback) : super.removeCookies(domain, path);
	}

	override removeAllCookies(): Promise<void>;
	override removeAllCookies(callback: ErrorCallback): void;
	override removeAllCookies(callback?: ErrorCallback): Promise<void> | void {
		this.version++;
		return callback ? super.removeAllCookies(callback) : super.removeAllCookies();
	}
}

interface CachedHeader {
	readonly header: string;
	/** The cookies in it, in header order. */
	readonly cookies: readonly Cookie[];
	readonly validUntil: number;
}

interface CachedHeaders {
	readonly version: number;
	/** Every cookie in the store has Path=/ (or there are none): the header depends on the origin only. */
	readonly isPathFree: boolean;
	readonly byOrigin: Map<string, CachedHeader>;
}

const cache = new WeakMap<TrackedCookieStore, CachedHeaders>();

/**
 * The Cookie header `jar` sends to `url` (`parsed` is `new URL(url)`): what
 * `jar.getCookieStringSync(url)` returns, without the cookies another origin set.
 */
export function cookieHeader(jar: CookieJar, url: string, parsed: URL): string {
	const store = jar.store;
	if (!(store instanceof TrackedCookieStore) || !cachedHeaders(store).isPathFree) return toHeader(cookiesSentTo(jar, url, parsed));
	const current = cachedHeaders(store);
	const key = parsed.origin;
	const now = Date.now();
	const hit = current.byOrigin.get(key);
	if (hit && isFresh(hit, now)) {
		const accessed = new Date(now);
		for (const cookie of hit.cookies) cookie.lastAccessed = accessed;
		return hit.header;
	}
	// What getCookieStringSync does, keeping the cookies. The read may drop expired ones (a
	// write), so the entry is looked up again after it.
	const cookies = cookiesSentTo(jar, url, parsed);
	const header = toHeader(cookies);
	const entry = cachedHeaders(store);
	if (entry.isPathFree) {
		if (entry.byOrigin.size >= MAX_HOSTS_PER_JAR) entry.byOrigin.clear();
		entry.byOrigin.set(key, {header, cookies, validUntil: now + HEADER_TTL_MS});
	}
	return header;
}

/** The cookies `jar` sends to `url`, in header order (RFC 6265: longer paths, then older, first). */
export function cookiesSentTo(jar: CookieJar, url: string, parsed: URL): Cookie[] {
	return jar
		.getCookiesSync(url)
		.filter((cookie) => isSentTo(cookie, parsed))
		.sort(cookieCompare);
}

function toHeader(cookies: readonly Cookie[]): string {
	return cookies.map((cookie) => cookie.cookieString()).join('; ');
}

/** tough-cookie's own expiry test (Max-Age counts from lastAccessed there), on each cookie of the header. */
function isFresh(cached: CachedHeader, now: number): boolean {
	if (cached.validUntil <= now) return false;
	for (const cookie of cached.cookies) {
		const expiresAt = cookie.expiryTime();
		if (expiresAt !== undefined && expiresAt <= now) return false;
	}
	return true;
}

function cachedHeaders(store: TrackedCookieStore): CachedHeaders {
	let entry = cache.get(store);
	if (entry?.version !== store.version) {
		entry = {version: store.version, isPathFree: isEveryPathRoot(store), byOrigin: new Map()};
		cache.set(store, entry);
	}
	return entry;
}

function isEveryPathRoot(store: MemoryCookieStore): boolean {
	for (const byPath of Object.values(store.idx)) {
		for (const [path, byKey] of Object.entries(byPath)) {
			if (path !== '/' && Object.keys(byKey).length > 0) return false;
		}
	}
	return true;
}
