import assert from 'node:assert/strict';
import {randomBytes} from 'node:crypto';
import {describe, test, type TestContext} from 'node:test';
import {fetchPage} from '../../src/http/fetch.js';
import {decrypt} from '../../src/sessions/crypto.js';
import {jwtExpiresAt, readPath, resolveExpiresAt} from '../../src/sessions/login/token-expiry.js';
import {tokenLogin, type TokenLoginOptions} from '../../src/sessions/login/token-login.js';
import type {SessionSecret} from '../../src/sessions/session.js';
import {SessionPool} from '../../src/sessions/session-pool.js';
import type {Store} from '../../src/store/store.js';
import {fetchDefaults, loginContext, memorySessionStore, quietLog, startServer, testKey} from './helpers.js';

const alice = {username: 'alice', password: 'alice-pw-123'};

interface Api {
	url: string;
	logins: number;
	refreshes: number;
	/** A rotated (already used) refresh token presented again. */
	reuses: number;
	events: string[];
	breakRefresh: boolean;
}

/** A JSON API: short-lived access tokens, rotating refresh tokens (a used one is rejected). */
async function startTokenApi(t: TestContext, options: {ttlS?: number; jwt?: boolean} = {}): Promise<Api> {
	const access = new Map<string, number>();
	const liveRefresh = new Set<string>();
	const usedRefresh = new Set<string>();
	const issue = () => {
		const expiresAt = Date.now() + (options.ttlS ?? 60) * 1000;
		const accessToken = options.jwt
			? [{alg: 'none'}, {sub: 'alice', exp: Math.floor(expiresAt / 1000)}, {}].map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.')
			: `at-${randomBytes(6).toString('hex')}`;
		const refreshToken = `rt-${randomBytes(6).toString('hex')}`;
		access.set(accessToken, expiresAt);
		liveRefresh.add(refreshToken);
		return {accessToken, refreshToken};
	};
	const api: Api = {url: '', logins: 0, refreshes: 0, reuses: 0, events: [], breakRefresh: false};
	api.url = await startServer(t, (request, response, body) => {
		const path = new URL(request.url!, 'http://x').pathname;
		const json = (status: number, value: unknown) => {
			response.statusCode = status;
			response.setHeader('content-type', 'application/json');
			response.end(JSON.stringify(value));
		};
		if (path === '/api/login') {
			const {username, password} = JSON.parse(body) as {username: string; password: string};
			if (username !== alice.username || password !== alice.password) return json(401, {error: 'bad credentials'});
			api.logins++;
			const tokens = issue();
			api.events.push(`login:${tokens.refreshToken}`);
			const data: Record<string, unknown> = {access_token: tokens.accessToken, refresh_token: tokens.refreshToken};
			if (!options.jwt) data.expires_in = options.ttlS ?? 60;
			return json(200, {data});
		}
		if (path === '/api/refresh') {
			api.refreshes++;
			const {refresh_token: presented} = JSON.parse(body) as {refresh_token: string};
			if (usedRefresh.has(presented)) api.reuses++;
			if (api.breakRefresh || !liveRefresh.delete(presented)) return json(401, {error: 'invalid refresh token'});
			usedRefresh.add(presented);
			const tokens = issue();
			api.events.push(`issued:${tokens.refreshToken}`);
			return json(200, {data: {access_token: tokens.accessToken, refresh_token: tokens.refreshToken, expires_in: options.ttlS ?? 60}});
		}
		if (path === '/api/items') {
			const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
			if ((access.get(token) ?? 0) <= Date.now()) return json(401, {error: 'expired'});
			api.events.push(`used:${token}`);
			return json(200, {items: [1, 2, 3]});
		}
		json(404, {});
	});
	return api;
}

function strategy(overrides: Partial<TokenLoginOptions> = {}) {
	return tokenLogin({
		url: '/api/login',
		body: ({account}) => ({username: account.username, password: account.password}),
		accessToken: 'data.access_token',
		refreshToken: 'data.refresh_token',
		expiresIn: 'data.expires_in',
		refresh: {url: '/api/refresh', body: ({refreshToken}) => ({refresh_token: refreshToken})},
		...overrides,
	});
}

function tokenPool(api: Api, options: {store?: Store; key?: Buffer; now?: () => number; log?: ReturnType<typeof quietLog>} = {}) {
	return new SessionPool({
		accounts: [alice],
		login: strategy(),
		baseUrl: `${api.url}/api/items`,
		fetchDefaults,
		loginRetryDelayMs: 1,
		...options,
	});
}

async function getItems(pool: SessionPool, url: string) {
	const session = pool.lease()!;
	try {
		await pool.prepare(session);
		const parts = pool.requestParts(session);
		return await fetchPage(`${url}/api/items`, {...fetchDefaults, credentialHeaders: parts.credentialHeaders, jar: parts.jar});
	} finally {
		pool.release(session);
	}
}

describe('token expiry', () => {
	test('readPath follows dots into objects and arrays', () => {
		assert.equal(readPath({data: {items: [{id: 'x'}]}}, 'data.items.0.id'), 'x');
		assert.equal(readPath({data: null}, 'data.access_token'), undefined);
	});

	test('expires_in: lifetime in seconds (or ms by option), epoch s/ms, ISO date, else the JWT exp', () => {
		const now = 1_700_000_000_000;
		assert.equal(resolveExpiresAt(3600, 'opaque', now), now + 3_600_000);
		assert.equal(resolveExpiresAt('120', 'opaque', now), now + 120_000);
		assert.equal(resolveExpiresAt(90_000, 'opaque', now, 'ms'), now + 90_000);
		assert.equal(resolveExpiresAt(1_800_000_000, 'opaque', now), 1_800_000_000_000);
		assert.equal(resolveExpiresAt(1_800_000_000_123, 'opaque', now), 1_800_000_000_123);
		assert.equal(resolveExpiresAt('2030-01-01T00:00:00Z', 'opaque', now), Date.parse('2030-01-01T00:00:00Z'));
		const jwt = ['{"alg":"HS256"}', '{"exp":1900000000}', 'sig'].map((part) => Buffer.from(part).toString('base64url')).join('.');
		assert.equal(resolveExpiresAt(undefined, jwt, now), 1_900_000_000_000);
		assert.equal(jwtExpiresAt(jwt), 1_900_000_000_000);
		assert.equal(resolveExpiresAt(undefined, 'opaque', now), undefined);
		assert.equal(jwtExpiresAt('a.b.c'), undefined);
	});
});

describe('tokenLogin', () => {
	test('logs in with a JSON body, reads the tokens by path and sends a Bearer header', async (t) => {
		const api = await startTokenApi(t, {ttlS: 120});
		const context = loginContext(api.url, alice);
		const before = Date.now();
		await strategy().login(context);
		const tokens = context.session.tokens!;
		assert.match(tokens.accessToken, /^at-/);
		assert.match(tokens.refreshToken!, /^rt-/);
		assert.ok(tokens.expiresAt! >= before + 120_000 && tokens.expiresAt! <= Date.now() + 120_000);
		assert.deepEqual(strategy().credentialHeaders(context.session), {authorization: `Bearer ${tokens.accessToken}`});
		assert.deepEqual(strategy({header: 'X-Api-Token', scheme: ''}).credentialHeaders(context.session), {'x-api-token': tokens.accessToken});
		assert.equal(api.logins, 1);
	});

	test('takes the expiry from the JWT exp when the response has none', async (t) => {
		const api = await startTokenApi(t, {jwt: true, ttlS: 300});
		const context = loginContext(api.url, alice);
		await strategy().login(context);
		const expiresAt = context.session.tokens!.expiresAt!;
		assert.ok(Math.abs(expiresAt - (Date.now() + 300_000)) < 5_000, `JWT exp read: ${expiresAt}`);
	});

	test('wrong credentials and a missing token fail with LOGIN_FAILED, no secret in the message', async (t) => {
		const api = await startTokenApi(t);
		await assert.rejects(strategy().login(loginContext(api.url, {username: 'alice', password: 'nope-nope'})), {
			code: 'LOGIN_FAILED',
			message: "login failed for account 'alice': 401 from /api/login",
		});
		await assert.rejects(strategy({accessToken: 'data.token'}).login(loginContext(api.url, alice)), {
			code: 'LOGIN_FAILED',
			message: "login failed for account 'alice': no access token at 'data.token' in the response from /api/login",
		});
	});

	test('refuses to send credentials over plain http to a remote host', async () => {
		await assert.rejects(strategy({url: 'http://crawljar.invalid/api/login'}).login(loginContext('http://127.0.0.1:9', alice)), {
			code: 'ERR_INSECURE_CREDENTIALS',
		});
	});
});

describe('token refresh through the pool', () => {
	test('refreshes shortly before expiry, then not again until the new token is due', async (t) => {
		const api = await startTokenApi(t, {ttlS: 60});
		let clock = Date.now();
		const pool = tokenPool(api, {now: () => clock});
		assert.equal((await getItems(pool, api.url)).status, 200);
		clock += 20_000;
		assert.equal((await getItems(pool, api.url)).status, 200);
		assert.equal(api.refreshes, 0, 'not due yet (60 s token, 30 s skew)');
		clock += 15_000;
		assert.equal((await getItems(pool, api.url)).status, 200);
		assert.equal(api.refreshes, 1, 'due: within 30 s of expiry');
		clock += 10_000;
		await getItems(pool, api.url);
		assert.deepEqual({logins: api.logins, refreshes: api.refreshes, reuses: api.reuses}, {logins: 1, refreshes: 1, reuses: 0});
		assert.equal(pool.stats().refreshes, 1);
	});

	test('a short-lived token is renewed at half its life, not on every request', async (t) => {
		const api = await startTokenApi(t, {ttlS: 2});
		let clock = Date.now();
		const pool = tokenPool(api, {now: () => clock});
		await getItems(pool, api.url);
		clock += 500;
		await getItems(pool, api.url);
		assert.equal(api.refreshes, 0);
		clock += 600;
		await getItems(pool, api.url);
		assert.equal(api.refreshes, 1);
	});

	test('a rotated refresh token is saved before the new access token is used, and survives a restart', async (t) => {
		const api = await startTokenApi(t);
		const key = testKey();
		const store = memorySessionStore((stored) => {
			const secret = JSON.parse(decrypt(stored.secret, key, stored.id)) as SessionSecret;
			api.events.push(`saved:${secret.tokens?.refreshToken}`);
		});
		const pool = tokenPool(api, {store, key});
		await pool.init();
		const session = pool.lease()!;
		await pool.prepare(session);
		const {generation} = pool.requestParts(session);
		await Promise.all(Array.from({length: 20}, () => pool.relogin(session, generation, '401 from /api/items')));
		pool.release(session);
		assert.equal(api.refreshes, 1, '20 callers, one refresh');
		assert.equal(api.logins, 1);
		assert.equal((await getItems(pool, api.url)).status, 200);

		const issued = api.events.find((event) => event.startsWith('issued:'))!.slice('issued:'.length);
		const used = api.events.filter((event) => event.startsWith('used:'));
		assert.equal(used.length, 1);
		const order = [`issued:${issued}`, `saved:${issued}`, used[0]!].map((event) => api.events.indexOf(event));
		assert.ok(order.every((index) => index >= 0) && order[0]! < order[1]! && order[1]! < order[2]!, api.events.join(' '));

		// The next process (e.g. after a kill -9) starts from the rotated token: no login, no rejected refresh.
		const next = tokenPool(api, {store, key});
		await next.init();
		const restored = next.lease()!;
		await next.prepare(restored);
		await next.relogin(restored, next.requestParts(restored).generation, 'forced');
		next.release(restored);
		assert.equal((await getItems(next, api.url)).status, 200);
		assert.deepEqual({logins: api.logins, refreshes: api.refreshes, reuses: api.reuses}, {logins: 1, refreshes: 2, reuses: 0});
	});

	test('a failed refresh falls back to a full login', async (t) => {
		const api = await startTokenApi(t);
		const log = quietLog();
		const pool = tokenPool(api, {log});
		const session = pool.lease()!;
		await pool.prepare(session);
		api.breakRefresh = true;
		await pool.relogin(session, pool.requestParts(session).generation, '401');
		pool.release(session);
		assert.deepEqual({logins: api.logins, refreshes: api.refreshes}, {logins: 2, refreshes: 1});
		assert.equal((await getItems(pool, api.url)).status, 200);
		assert.ok(log.messages.some((message) => message.includes("token refresh failed for account 'alice': 401 from /api/refresh")));
		assert.ok(log.messages.every((message) => !message.includes(alice.password) && !message.includes('rt-')));
	});
});
