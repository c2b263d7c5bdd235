// Several SessionPools on one store, as separate workers of one crawl have them: each pool has
// its own worker id, the store is PostgreSQL (one schema per test) or one SQLite file opened
// by two handles. Pages are sent as the runner sends them: lease, prepare, fetch with the
// session's request parts, afterResponse, relogin on a logout, release.
import {randomBytes} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type {TestContext} from 'node:test';
import {fetchPage, type FetchResult} from '../../src/http/fetch.js';
import {formLogin, tokenLogin} from '../../src/index.js';
import type {LoginStrategy} from '../../src/sessions/login/login-strategy.js';
import type {Account, Session} from '../../src/sessions/session.js';
import {SessionPool, type SessionPoolOptions} from '../../src/sessions/session-pool.js';
import {PostgresStore} from '../../src/store/postgres/postgres-store.js';
import {SqliteStore} from '../../src/store/sqlite/sqlite-store.js';
import type {Store} from '../../src/store/store.js';
import {dropSchemas, pgUrl, uniqueName} from '../store/pg-helpers.js';

export type Engine = 'postgres' | 'sqlite';

export const KEY = randomBytes(32);
const quiet = {useHeaderGenerator: false, headers: {'user-agent': 'crawljar-shared-sessions-test'}} as const;

/** Short lock/poll timing: the tests wait on other pools, not on production pacing. */
export const FAST_TIMING = {pollMs: 150, waitPollMs: 50, lockMs: 10_000} as const;

/** `count` handles on one fresh database of `engine`, closed (and dropped) when the test ends. */
export function openStores(t: TestContext, engine: Engine, count: number): {stores: Store[]; where: string} {
	if (engine === 'postgres') {
		const schema = uniqueName('crawljar_shared');
		const stores = Array.from({length: count}, () => PostgresStore.open({url: pgUrl, schema}));
		t.after(async () => {
			for (const store of stores) await store.close();
			await dropSchemas([schema]);
		});
		return {stores, where: schema};
	}
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crawljar-shared-'));
	const file = path.join(dir, 'crawl.sqlite');
	const stores = Array.from({length: count}, () => SqliteStore.open(file));
	t.after(async () => {
		for (const store of stores) await store.close();
		fs.rmSync(dir, {recursive: true, force: true});
	});
	return {stores, where: file};
}

export function demoFormLogin(): LoginStrategy {
	return formLogin({url: '/login', fields: ({account}) => ({username: account.username, password: account.password ?? ''})});
}

export function demoTokenLogin(): LoginStrategy {
	return tokenLogin({
		url: '/api/auth/login',
		body: ({account}) => ({username: account.username, password: account.password}),
		accessToken: 'data.access_token',
		refreshToken: 'data.refresh_token',
		expiresIn: 'data.expires_in',
		refresh: {url: '/api/auth/refresh', body: ({refreshToken}) => ({refresh_token: refreshToken})},
	});
}

/** One pool per store, all initialised (each reads what the others stored so far). */
export async function sharedPools(
	t: TestContext,
	stores: readonly Store[],
	options: {baseUrl: string; accounts: readonly Account[]; login: LoginStrategy} & Partial<SessionPoolOptions>,
): Promise<SessionPool[]> {
	const pools = stores.map(
		(store, index) =>
			new SessionPool({
				fetchDefaults: quiet,
				key: KEY,
				sharedTiming: FAST_TIMING,
				workerId: `worker-${index}`,
				...options,
				store,
			}),
	);
	t.after(async () => {
		for (const pool of pools) await pool.flush();
	});
	for (const pool of pools) await pool.init();
	return pools;
}

export function sessionOf(pool: SessionPool, id: string): Session {
	const session = pool.sessions.find((candidate) => candidate.id === id);
	if (!session) throw new Error(`no session ${id}`);
	return session;
}

/**
 * Sends one page on `session` the way the runner does; on a 401 (the demo site's '401' logout
 * style) or a redirect to the login page it re-logs-in through the pool and sends it again.
 */
export async function sendPage(pool: SessionPool, session: Session, url: string, attempts = 3): Promise<FetchResult> {
	for (let attempt = 1; ; attempt++) {
		await pool.prepare(session);
		const parts = pool.requestParts(session);
		const result = await fetchPage(url, {
			headers: parts.headers,
			credentialHeaders: parts.credentialHeaders,
			jar: parts.jar,
			sessionToken: parts.sessionToken,
			useHeaderGenerator: false,
			followRedirects: false,
		});
		await pool.afterResponse(session, {setCookie: result.headers['set-cookie'] !== undefined, status: result.status});
		const loggedOut = result.status === 401 || (result.status === 302 && String(result.headers.location).includes('/login'));
		if (!loggedOut || attempt >= attempts) return result;
		await pool.relogin(session, parts.generation, `status ${result.status}`);
	}
}

/** Waits until `check` holds (polling), or fails after `timeoutMs` with `what`. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 25));
	}
}
