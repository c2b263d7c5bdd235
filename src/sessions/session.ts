// One authenticated identity: an account's cookie jar, tokens and extra headers, plus its health.
// A Session knows nothing of status codes or of its pool (STYLE.md, Crawlee counter-example):
// the pool decides when it logs in, the policy decides when it is logged out.
import {inspect} from 'node:util';
import {Cookie, CookieJar} from 'tough-cookie';
import type {SerializedCookieJar} from 'tough-cookie';
import {CrawljarError, redactUrl} from '../errors.js';
import {cookieHeader, cookiesSentTo, TrackedCookieStore} from '../http/cookie-header.js';
import {cookieOrigin, OriginCookieJar} from '../http/cookie-origin.js';

/** One entry of a crawler's `accounts`. Only `username` is treated as non-secret. */
export interface Account {
	readonly username: string;
	readonly password?: string;
	/** Base32 TOTP secret for `totp()` in login steps: a credential, like the password (never stored or printed). */
	readonly totpSecret?: string;
	readonly [key: string]: unknown;
}

export interface SessionTokens {
	readonly accessToken: string;
	readonly refreshToken?: string;
	/** Epoch ms; absent when the server said nothing (then only a 401 triggers a refresh). */
	readonly expiresAt?: number;
	/** Epoch ms when the access token was received: caps the refresh skew on short-lived tokens. */
	readonly obtainedAt?: number;
}

export type SessionState = 'new' | 'ready' | 'logging-in' | 'disabled';

export interface SessionStats {
	requests: number;
	/** Full logins, re-logins included. */
	logins: number;
	/** Full logins after the session had been logged in (a logout, a failed refresh). */
	relogins: number;
	/** Token refreshes, both kinds. */
	refreshes: number;
	/** Token refreshes after a logout (a 401); the rest were early (the token was about to expire). */
	refreshesAfterLogout: number;
	unauthorized: number;
	loginFailures: number;
	lastLoginAt: number | undefined;
}

/** A cookie without its value: what `sessions ls` and logs may show. */
export interface CookieSummary {
	readonly name: string;
	readonly domain: string | undefined;
	readonly path: string | undefined;
	/** Epoch ms; undefined for a session cookie. */
	readonly expiresAt: number | undefined;
	readonly secure: boolean;
	readonly httpOnly: boolean;
	readonly sameSite: string | undefined;
}

/** The encrypted part of a persisted session. The password is not in it: the definition has it. */
export interface SessionSecret {
	readonly v: 1;
	readonly jar: SerializedCookieJar;
	readonly tokens: SessionTokens | undefined;
	readonly headers: Record<string, string>;
	readonly authCookieNames: readonly string[];
}

/** The clear-text part of a persisted session: no value of any cookie, token or header. */
export interface SessionMeta {
	readonly account: string;
	readonly state: SessionState;
	readonly disabledReason: string | undefined;
	/** The error code it was disabled with (LOGIN_FAILED, ERR_INSECURE_CREDENTIALS…): other workers disable it with the same. */
	readonly disabledCode?: string | undefined;
	readonly cookies: readonly CookieSummary[];
	readonly tokenExpiresAt: number | undefined;
	readonly hasRefreshToken: boolean;
	readonly headerNames: readonly string[];
	readonly stats: SessionStats;
}

/** Names servers give their session cookie: sid, PHPSESSID, JSESSIONID, connect.sid, session, auth_token, jwt… */
const SESSION_COOKIE_NAME = /sess|sid|auth|token|jwt|login|remember|identity/i;

export function newJar(): CookieJar {
	// Defaults on purpose: strict parsing passes all 222 http-state cases (looseMode fails 27),
	// and allowSecureOnLocal (default true) treats http://127.0.0.1 and localhost as secure
	// contexts, as browsers do; Secure cookies are still withheld from plain http elsewhere.
	// The tracked store lets fetchPage reuse the Cookie header while the jar is unchanged; the
	// origin jar records who set each cookie, so that no other origin gets it (cookie-origin.ts).
	return new OriginCookieJar(new TrackedCookieStore());
}

export class Session {
	/** `<username>#<n>` (n from 1), or `anonymous`: stable across runs, the persistence key. */
	readonly id: string;
	readonly account: Account;
	jar: CookieJar;
	tokens: SessionTokens | undefined;
	readonly headers: Record<string, string> = {};
	state: SessionState = 'new';
	disabledReason: string | undefined;
	disabledCode: string | undefined;
	/** Bumped by every successful login or refresh; a logout seen on an older generation is stale. */
	generation = 0;
	inFlight = 0;
	/** Cookies present right after the last login: the server deleting one means logged out. */
	authCookieNames: ReadonlySet<string> = new Set();
	readonly stats: SessionStats = {requests: 0, logins: 0, relogins: 0, refreshes: 0, refreshesAfterLogout: 0, unauthorized: 0, loginFailures: 0, lastLoginAt: undefined};
	/** One object per session: got-scraping caches its generated browser headers on it. */
	readonly sessionToken: object = {};
	/** When this session was last leased (spreads ties in the pool). */
	lastLeasedAt = 0;

	constructor(id: string, account: Account, jar: CookieJar = newJar()) {
		this.id = id;
		this.account = account;
		this.jar = jar;
	}

	get username(): string {
		return this.account.username;
	}

	get isUsable(): boolean {
		return this.state !== 'disabled';
	}

	/** Adds a cookie from a Set-Cookie string, as if `url` had sent it (e.g. a pre-issued auth cookie). */
	addCookie(setCookie: string, url: string): void {
		let stored: Cookie | undefined;
		try {
			stored = this.jar.setCookieSync(setCookie, url);
		} catch (error) {
			throw new CrawljarError('ERR_USAGE', `cookie rejected for ${redactUrl(url)} (malformed, or its domain does not match)`, {cause: error});
		}
		if (!stored) throw new CrawljarError('ERR_USAGE', `cookie rejected for ${redactUrl(url)} (malformed, or its domain does not match)`);
	}

	/** The Cookie header crawljar sends to `url` (secret: never log it; see redactedCookieHeader). */
	cookieHeader(url: string): string {
		return cookieHeader(this.jar, url, new URL(url));
	}

	/** The Cookie header with every value replaced by `…`, for logs and debugging. */
	redactedCookieHeader(url: string): string {
		return cookiesSentTo(this.jar, url, new URL(url))
			.map((cookie) => `${cookie.key}=…`)
			.join('; ');
	}

	hasCookie(name: string): boolean {
		return this.#allCookies().some((cookie) => cookie.key === name);
	}

	cookies(): CookieSummary[] {
		return this.#allCookies().map((cookie) => ({
			name: cookie.key,
			domain: cookie.domain ?? undefined,
			path: cookie.path ?? undefined,
			expiresAt: cookieExpiresAt(cookie),
			secure: cookie.secure,
			httpOnly: cookie.httpOnly,
			sameSite: cookie.sameSite,
		}));
	}

	setToken(tokens: {accessToken: string; refreshToken?: string | undefined; expiresAt?: number | undefined}, now = Date.now()): void {
		this.tokens = {
			accessToken: tokens.accessToken,
			...(tokens.refreshToken === undefined ? {} : {refreshToken: tokens.refreshToken}),
			...(tokens.expiresAt === undefined ? {} : {expiresAt: tokens.expiresAt}),
			obtainedAt: now,
		};
	}

	setHeader(name: string, value: string): void {
		this.headers[name.toLowerCase()] = value;
	}

	/**
	 * True when the server deleted the session's login cookie (a hard logout). With no explicit
	 * list, only login cookies whose name says "session" count: sites also set and then delete
	 * flash-message or CSRF cookies around a login, and treating those as a logout would loop.
	 */
	lostAuthCookie(deletedNames: readonly string[], authCookies?: readonly string[]): boolean {
		if (authCookies) return deletedNames.some((name) => authCookies.includes(name));
		return deletedNames.some((name) => this.authCookieNames.has(name) && SESSION_COOKIE_NAME.test(name));
	}

	/** Forgets what the last login obtained before a new one; other cookies (consent, manual) stay. */
	resetAuth(): void {
		for (const cookie of this.#allCookies()) {
			if (!this.authCookieNames.has(cookie.key) || !cookie.domain || !cookie.path) continue;
			this.jar.store.removeCookie(cookie.domain, cookie.path, cookie.key, () => {});
		}
		this.tokens = undefined;
		// authCookieNames stay until markLoggedIn replaces them: requests sent before this re-login
		// still come back with the old cookie deleted, and must be seen as logged out, not done.
	}

	/** `isRelogin`: the session had been logged in before (stats tell logins and re-logins apart). */
	markLoggedIn(now: number, isRelogin = false): void {
		this.authCookieNames = new Set(this.#allCookies().map((cookie) => cookie.key));
		this.state = 'ready';
		this.generation++;
		this.stats.logins++;
		if (isRelogin) this.stats.relogins++;
		this.stats.lastLoginAt = now;
	}

	/** `afterLogout`: renewed because a request was refused (a 401), not ahead of the expiry. */
	markRefreshed(afterLogout = false): void {
		this.state = 'ready';
		this.generation++;
		this.stats.refreshes++;
		if (afterLogout) this.stats.refreshesAfterLogout++;
	}

	disable(code: string, reason: string): void {
		this.state = 'disabled';
		this.disabledCode = code;
		this.disabledReason = reason;
	}

	serialize(): {secret: SessionSecret; meta: SessionMeta} {
		const jar = this.jar.serializeSync();
		if (!jar) throw new CrawljarError('ERR_STORAGE', 'the cookie jar store is not serializable');
		const secret: SessionSecret = {v: 1, jar, tokens: this.tokens, headers: {...this.headers}, authCookieNames: [...this.authCookieNames]};
		const meta: SessionMeta = {
			account: this.username,
			state: this.state === 'logging-in' ? 'new' : this.state,
			disabledReason: this.disabledReason,
			disabledCode: this.disabledCode,
			cookies: this.cookies(),
			tokenExpiresAt: this.tokens?.expiresAt,
			hasRefreshToken: this.tokens?.refreshToken !== undefined,
			headerNames: Object.keys(this.headers),
			stats: {...this.stats},
		};
		return {secret, meta};
	}

	/**
	 * Rebuilds a persisted session. Expired cookies are dropped; a session whose login cookies
	 * expired, or whose access token expired without a refresh token, comes back as `new`
	 * (it logs in again lazily). A disabled one comes back `new` too: the definition may be fixed.
	 */
	static deserialize(id: string, account: Account, secret: SessionSecret, meta: Partial<SessionMeta>, now = Date.now()): Session {
		// A cookie persisted without the origin that set it (by an older crawljar) is dropped: it
		// could not be sent anyway, and a login cookie gone means the session logs in again.
		const jar = newJar();
		for (const raw of secret.jar.cookies ?? []) {
			const cookie = Cookie.fromJSON(raw);
			const expiresAt = cookie ? cookieExpiresAt(cookie) : undefined;
			if (cookie === undefined || cookieOrigin(cookie) === undefined || (expiresAt !== undefined && expiresAt <= now)) continue;
			jar.store.putCookie(cookie, () => {});
		}
		const session = new Session(id, account, jar);
		Object.assign(session.headers, secret.headers);
		Object.assign(session.stats, meta.stats ?? {});
		session.tokens = secret.tokens;
		session.authCookieNames = new Set(secret.authCookieNames);
		const cookiesKept = secret.authCookieNames.every((name) => session.hasCookie(name));
		const tokenUsable = !secret.tokens || secret.tokens.refreshToken !== undefined || (secret.tokens.expiresAt ?? Infinity) > now;
		// Otherwise it stays `new`: its next login starts with resetAuth(), which clears what is left.
		if (meta.state === 'ready' && cookiesKept && tokenUsable) {
			session.state = 'ready';
			session.generation = 1;
		}
		return session;
	}

	/** Never print secrets by accident (console.log, JSON.stringify, util.inspect). */
	toJSON(): Record<string, unknown> {
		return {id: this.id, account: this.username, state: this.state, generation: this.generation, inFlight: this.inFlight};
	}

	[inspect.custom](): string {
		return `Session(${this.id}, ${this.state})`;
	}

	#allCookies(): Cookie[] {
		// The jar's store is always tough-cookie's MemoryCookieStore, which calls back synchronously.
		let all: Cookie[] = [];
		this.jar.store.getAllCookies((error, cookies) => {
			if (!error && cookies) all = cookies;
		});
		return all;
	}
}

/** Expiry per RFC 6265: Max-Age counts from receipt (creation), not from last access; undefined = session cookie. */
export function cookieExpiresAt(cookie: Cookie): number | undefined {
	if (typeof cookie.maxAge === 'number') {
		if (cookie.maxAge <= 0) return 0;
		const from = cookie.creation instanceof Date ? cookie.creation.getTime() : Date.now();
		return from + cookie.maxAge * 1000;
	}
	if (cookie.maxAge === 'Infinity' || cookie.expires === 'Infinity' || !cookie.expires) return undefined;
	return cookie.expires.getTime();
}
