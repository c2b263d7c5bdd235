import assert from 'node:assert/strict';
import {describe, test, type TestContext} from 'node:test';
import {CrawljarError} from '../../src/errors.js';
import {fetchPage} from '../../src/http/fetch.js';
import {customLogin, toLoginStrategy, type CustomLogin} from '../../src/sessions/login/login-strategy.js';
import {tokenLogin} from '../../src/sessions/login/token-login.js';
import type {Session} from '../../src/sessions/session.js';
import {SessionPool, type SessionPoolOptions} from '../../src/sessions/session-pool.js';
import {cookiesOf, fetchDefaults, quietLog, sleep, startServer} from './helpers.js';

const passwords: Record<string, string> = {alice: 'pw-alice-1', bob: 'pw-bob-2', carol: 'pw-carol-3', dave: 'pw-dave-4', erin: 'pw-erin-5'};
const account = (username: string, password = passwords[username]) => ({username, ...(password ? {password} : {})});

interface Site {
	url: string;
	logins: number;
	failedLogins: Record<string, number>;
	maxConcurrentLogins: number;
	maxInFlightPerSid: number;
	dataRequests: number;
	/** Requests that arrived with a cookie the server had already invalidated. */
	staleRequests: number;
	invalidate(): void;
}

/** Cookie-session site: POST /login (slow, counts concurrency), GET /data needs a live sid. */
async function startSite(t: TestContext, loginDelayMs = 30): Promise<Site> {
	const live = new Set<string>();
	const dead = new Set<string>();
	const inFlight = new Map<string, number>();
	let concurrentLogins = 0;
	const site: Site = {
		url: '',
		logins: 0,
		failedLogins: {},
		maxConcurrentLogins: 0,
		maxInFlightPerSid: 0,
		dataRequests: 0,
		staleRequests: 0,
		invalidate() {
			for (const sid of live) dead.add(sid);
			live.clear();
		},
	};
	site.url = await startServer(t, async (request, response, body) => {
		const path = new URL(request.url!, 'http://x').pathname;
		if (path === '/login') {
			concurrentLogins++;
			site.maxConcurrentLogins = Math.max(site.maxConcurrentLogins, concurrentLogins);
			await sleep(loginDelayMs);
			concurrentLogins--;
			const form = Object.fromEntries(new URLSearchParams(body));
			if (!form.user || passwords[form.user] !== form.pass) {
				site.failedLogins[form.user ?? '?'] = (site.failedLogins[form.user ?? '?'] ?? 0) + 1;
				response.statusCode = 401;
				response.end();
				return;
			}
			site.logins++;
			const sid = `sid-${form.user}-${site.logins}`;
			live.add(sid);
			response.setHeader('set-cookie', `sid=${sid}; Path=/; HttpOnly`);
			response.end('ok');
			return;
		}
		const sid = cookiesOf(request).sid ?? '';
		site.dataRequests++;
		if (dead.has(sid)) site.staleRequests++;
		if (!live.has(sid)) {
			response.statusCode = 401;
			response.end();
			return;
		}
		inFlight.set(sid, (inFlight.get(sid) ?? 0) + 1);
		site.maxInFlightPerSid = Math.max(site.maxInFlightPerSid, inFlight.get(sid)!);
		await sleep(5);
		inFlight.set(sid, inFlight.get(sid)! - 1);
		response.end('data');
	});
	return site;
}

const formPost: CustomLogin = async ({http, account: who}) => {
	const response = await http.post('/login', {form: {user: who.username, pass: who.password ?? ''}});
	return response.status === 200;
};

function pool(site: Site, options: Partial<SessionPoolOptions> = {}): SessionPool {
	return new SessionPool({
		accounts: [account('alice'), account('bob')],
		login: toLoginStrategy(formPost),
		baseUrl: `${site.url}/data`,
		fetchDefaults,
		loginRetryDelayMs: 1,
		...options,
	});
}

/** What a runner worker does: lease (or wait), prepare, fetch with the session's parts, release. */
async function work(sessions: SessionPool, url: string): Promise<number> {
	for (;;) {
		const session = sessions.lease();
		if (!session) {
			await sessions.whenCapacity();
			continue;
		}
		try {
			await sessions.prepare(session);
			const parts = sessions.requestParts(session);
			const result = await fetchPage(url, {...fetchDefaults, headers: parts.headers, credentialHeaders: parts.credentialHeaders, jar: parts.jar});
			await sessions.afterResponse(session, {setCookie: result.headers['set-cookie'] !== undefined, status: result.status});
			return result.status;
		} finally {
			sessions.release(session);
		}
	}
}

describe('SessionPool', () => {
	test('50 concurrent requests on 2 sessions: exactly 2 logins, at most maxConcurrency per session', async (t) => {
		const site = await startSite(t);
		const sessions = pool(site, {maxConcurrency: 4});
		const statuses = await Promise.all(Array.from({length: 50}, () => work(sessions, `${site.url}/data`)));
		assert.deepEqual(new Set(statuses), new Set([200]));
		assert.equal(site.logins, 2);
		assert.equal(site.dataRequests, 50);
		assert.ok(site.maxInFlightPerSid <= 4, `max in flight per session: ${site.maxInFlightPerSid}`);
		assert.deepEqual(
			sessions.list().map((summary) => [summary.id, summary.state, summary.logins]),
			[
				['alice#1', 'ready', 1],
				['bob#1', 'ready', 1],
			],
		);
		assert.equal(sessions.stats().requests, 50);
	});

	test('perAccount sessions each log in; at most loginConcurrency logins at once', async (t) => {
		const site = await startSite(t, 60);
		const sessions = pool(site, {accounts: ['alice', 'bob', 'carol', 'dave', 'erin'].map((name) => account(name)), perAccount: 2, loginConcurrency: 2});
		assert.equal(sessions.sessions.length, 10);
		assert.deepEqual(sessions.sessions.slice(0, 3).map((session) => session.id), ['alice#1', 'alice#2', 'bob#1']);
		const leased = Array.from({length: 10}, () => sessions.lease()!);
		assert.equal(new Set(leased).size, 10, 'the fewest-in-flight rule spreads leases over every session');
		await Promise.all(leased.map((session) => sessions.prepare(session)));
		assert.equal(site.logins, 10);
		assert.equal(site.maxConcurrentLogins, 2);
	});

	test('relogin is single-flight per generation; prepare waits for it; nothing is sent with the stale cookie', async (t) => {
		const site = await startSite(t);
		const sessions = pool(site, {accounts: [account('alice')]});
		assert.equal(await work(sessions, `${site.url}/data`), 200);
		const session = sessions.sessions[0]!;
		const seen = sessions.requestParts(session).generation;
		site.invalidate();
		assert.equal(await work(sessions, `${site.url}/data`), 401);
		const staleBefore = site.staleRequests;

		const relogins = Array.from({length: 20}, () => sessions.relogin(session, seen, '401 from /data'));
		// Started while the re-login runs: must wait for it, then go out with the new cookie.
		const requests = Array.from({length: 5}, () => work(sessions, `${site.url}/data`));
		await Promise.all(relogins);
		assert.deepEqual(await Promise.all(requests), [200, 200, 200, 200, 200]);
		assert.equal(site.logins, 2, 'one login, one re-login for 20 callers');
		assert.equal(site.staleRequests, staleBefore, 'no request with the invalidated cookie after the re-login started');
		assert.ok(session.generation > seen);

		await sessions.relogin(session, seen, 'late 401 from an old request');
		assert.equal(site.logins, 2, 'a logout seen on an older generation does not log in again');
	});

	test('a session failing loginMaxAttempts times is disabled; the others go on; none left ⇒ exhausted', async (t) => {
		const site = await startSite(t, 1);
		const log = quietLog();
		const sessions = pool(site, {accounts: [account('alice'), account('mallory', 'guess-123')], loginMaxAttempts: 3, log});
		const alice = sessions.lease()!;
		const mallory = sessions.lease()!;
		assert.equal(mallory.id, 'mallory#1');
		const woken = sessions.whenCapacity();
		await assert.rejects(sessions.prepare(mallory), (error) => {
			assert.ok(error instanceof CrawljarError && error.code === 'LOGIN_FAILED');
			assert.match(error.message, /^session mallory#1 disabled after 3 failed login attempt\(s\): login failed for account 'mallory': the login function returned false$/);
			return true;
		});
		await woken;
		assert.equal(site.failedLogins.mallory, 3);
		await sessions.prepare(alice);
		sessions.release(alice);
		sessions.release(mallory);
		assert.equal(sessions.usableCount, 1);
		assert.equal(sessions.isExhausted, false);
		for (let i = 0; i < 4; i++) assert.equal(sessions.lease()?.id, 'alice#1', 'a disabled session is never lent');
		assert.equal(sessions.lease(), undefined, 'alice#1 is full (maxConcurrency 4) and mallory#1 is disabled');
		await assert.rejects(sessions.prepare(mallory), /session mallory#1 is disabled/);
		assert.ok(log.messages.every((message) => !message.includes('guess-123')));
		assert.equal(sessions.list()[1]!.disabledReason, "login failed for account 'mallory': the login function returned false");

		const hopeless = pool(site, {accounts: [account('mallory', 'guess-123'), account('oscar', 'guess-456')], loginMaxAttempts: 1});
		for (const session of [hopeless.lease()!, hopeless.lease()!]) await assert.rejects(hopeless.prepare(session), {code: 'LOGIN_FAILED'});
		assert.equal(hopeless.isExhausted, true);
		assert.equal(hopeless.lease(), undefined);
	});

	test('plain http to a remote host disables the session at once, without retries', async () => {
		const sessions = new SessionPool({
			accounts: [account('alice')],
			login: tokenLogin({url: 'http://crawljar.invalid/api/login', body: () => ({}), accessToken: 'token'}),
			baseUrl: 'http://crawljar.invalid/',
			fetchDefaults,
			loginRetryDelayMs: 1,
		});
		const session = sessions.lease()!;
		await assert.rejects(sessions.prepare(session), {code: 'ERR_INSECURE_CREDENTIALS'});
		assert.equal(session.stats.loginFailures, 1);
		assert.equal(sessions.isExhausted, true);
	});

	test('lease respects maxConcurrency and whenCapacity resolves on release', async () => {
		const sessions = new SessionPool({accounts: [account('alice')], login: customLogin(async () => {}), perAccount: 2, maxConcurrency: 1, baseUrl: 'http://127.0.0.1/'});
		const first = sessions.lease()!;
		const second = sessions.lease()!;
		assert.deepEqual([first.id, second.id], ['alice#1', 'alice#2']);
		assert.equal(sessions.lease(), undefined);
		let isWoken = false;
		const waiting = sessions.whenCapacity().then(() => (isWoken = true));
		await sleep(5);
		assert.equal(isWoken, false);
		sessions.release(second);
		await waiting;
		assert.equal(sessions.lease(), second);
	});

	test('without a login step: one anonymous session, unlimited concurrency, cookies kept', async (t) => {
		const url = await startServer(t, (request, response) => {
			response.setHeader('set-cookie', 'visit=1; Path=/');
			response.end(cookiesOf(request).visit ?? 'none');
		});
		const sessions = new SessionPool({accounts: [], baseUrl: url, fetchDefaults});
		const leased = Array.from({length: 100}, () => sessions.lease());
		assert.ok(leased.every((session) => session?.id === 'anonymous'));
		for (const session of leased) sessions.release(session!);
		assert.equal(await work(sessions, url), 200);
		const session = sessions.sessions[0]!;
		assert.equal(session.cookieHeader(url), 'visit=1');
		assert.equal(session.redactedCookieHeader(url), 'visit=…');
		assert.deepEqual(sessions.requestParts(session).credentialHeaders, {});
	});

	test('a custom login can set headers and tokens; they are sent, to the same origin only', async (t) => {
		const seen: Array<{path: string; authorization: string | undefined; tenant: string | undefined}> = [];
		const other = await startServer(t, (request, response) => {
			seen.push({path: 'other', authorization: request.headers.authorization, tenant: request.headers['x-tenant'] as string | undefined});
			response.end();
		});
		const url = await startServer(t, (request, response) => {
			seen.push({path: request.url!, authorization: request.headers.authorization, tenant: request.headers['x-tenant'] as string | undefined});
			if (request.url === '/away') {
				response.statusCode = 302;
				response.setHeader('location', `${other}/landing`);
			}
			response.end();
		});
		const login = async ({session}: {session: Session}) => {
			session.setHeader('X-Tenant', 'acme');
			session.setToken({accessToken: 'tok-123'});
		};
		const sessions = new SessionPool({accounts: [account('alice')], login: toLoginStrategy(login), baseUrl: url, fetchDefaults});
		assert.equal(await work(sessions, `${url}/away`), 200);
		assert.deepEqual(seen, [
			{path: '/away', authorization: 'Bearer tok-123', tenant: 'acme'},
			// Headers a login set are credentials too: same origin only, like the token.
			{path: 'other', authorization: undefined, tenant: undefined},
		]);

		const failing = new SessionPool({accounts: [account('alice')], login: toLoginStrategy(() => false), loginMaxAttempts: 1, baseUrl: url});
		await assert.rejects(failing.prepare(failing.lease()!), /login failed for account 'alice': the login function returned false/);
		const throwing = new SessionPool({
			accounts: [account('alice')],
			login: toLoginStrategy(() => {
				throw new Error('no captcha solver');
			}),
			loginMaxAttempts: 1,
			baseUrl: url,
		});
		await assert.rejects(throwing.prepare(throwing.lease()!), /login failed for account 'alice': the login function threw: no captcha solver/);
	});
});
