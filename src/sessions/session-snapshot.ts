// What a session looked like at its last sync with the store, and what this worker changed
// since: the cookies it set or removed, and whether its tokens, headers or state moved. On a
// compare-and-set conflict the worker loads the newer row and re-applies exactly these changes
// on top, so two workers that each got a cookie both keep theirs (no last write wins).
import {Cookie} from 'tough-cookie';
import type {Session} from './session.js';

export interface SessionSnapshot {
	/** `domain;path;name` → the cookie as JSON (lastAccessed left out: reads change it). */
	readonly cookies: ReadonlyMap<string, string>;
	readonly auth: string;
	readonly state: string;
}

export interface LocalChanges {
	readonly put: readonly Cookie[];
	/** `domain;path;name` of cookies removed (deleted by a server, or expired and dropped). */
	readonly removed: readonly string[];
	/** Tokens, extra headers or the login's cookie names changed here (a login or refresh). */
	readonly auth: boolean;
	readonly state: boolean;
}

export function snapshotOf(session: Session): SessionSnapshot {
	const cookies = new Map<string, string>();
	for (const cookie of allCookies(session)) cookies.set(cookieKey(cookie), cookieJson(cookie));
	return {cookies, auth: authOf(session), state: session.state};
}

export function changesSince(snapshot: SessionSnapshot | undefined, session: Session): LocalChanges {
	const current = allCookies(session);
	const put = current.filter((cookie) => snapshot?.cookies.get(cookieKey(cookie)) !== cookieJson(cookie));
	const keys = new Set(current.map(cookieKey));
	const removed = [...(snapshot?.cookies.keys() ?? [])].filter((key) => !keys.has(key));
	return {
		put: put.flatMap((cookie) => cookie.clone() ?? []),
		removed,
		auth: snapshot === undefined || snapshot.auth !== authOf(session),
		state: snapshot === undefined || snapshot.state !== session.state,
	};
}

/**
 * Makes `session`'s jar hold `cookies`, in place: requests in flight keep writing to the same
 * jar object, so nothing they receive is lost with a swapped-out jar. Then `changes` go on top.
 */
export function replaceCookies(session: Session, cookies: readonly Cookie[], changes: LocalChanges): void {
	const store = session.jar.store;
	// Removed one by one (not removeAllCookies): each removal bumps the tracked store's version,
	// which invalidates the Cookie header cache (cookie-header.ts).
	for (const cookie of allCookies(session)) if (cookie.domain && cookie.path) store.removeCookie(cookie.domain, cookie.path, cookie.key, () => {});
	const removed = new Set(changes.removed);
	for (const cookie of cookies) if (!removed.has(cookieKey(cookie))) store.putCookie(cookie, () => {});
	for (const cookie of changes.put) store.putCookie(cookie, () => {});
}

/** Login cookies' values and the tokens and headers: a change here is a new login or refresh. */
export function authOf(session: Session): string {
	const loginCookies = allCookies(session)
		.filter((cookie) => session.authCookieNames.has(cookie.key))
		.map((cookie) => `${cookieKey(cookie)}=${cookie.value}`)
		.sort();
	return JSON.stringify([session.tokens ?? null, session.headers, [...session.authCookieNames].sort(), loginCookies]);
}

export function allCookies(session: Session): Cookie[] {
	// The jar's store is tough-cookie's MemoryCookieStore, which calls back synchronously.
	let all: Cookie[] = [];
	session.jar.store.getAllCookies((error, cookies) => {
		if (!error && cookies) all = cookies;
	});
	return all;
}

function cookieKey(cookie: Cookie): string {
	return `${cookie.domain ?? ''};${cookie.path ?? ''};${cookie.key}`;
}

function cookieJson(cookie: Cookie): string {
	const {lastAccessed: _lastAccessed, ...rest} = cookie.toJSON() as Record<string, unknown>;
	return JSON.stringify(rest);
}
