import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, describe, test, type TestContext} from 'node:test';
import {formLogin} from '../../src/sessions/login/form-login.js';
import {summarizeStoredSession} from '../../src/sessions/session-persistence.js';
import {SessionPool, type SessionPoolOptions} from '../../src/sessions/session-pool.js';
import {SqliteStore} from '../../src/store/sqlite/sqlite-store.js';
import {cookiesOf, fetchDefaults, html, memorySessionStore, quietLog, startServer, testKey} from './helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crawljar-sessions-'));
after(() => fs.rmSync(tmp, {recursive: true, force: true}));
let files = 0;

const accounts = [
	{username: 'alice', password: 'Pa55-alice-secret'},
	{username: 'bob', password: 'Pa55-bob-secret'},
];

interface Site {
	url: string;
	logins: number;
	cookieValues: string[];
}

/** A form-login site whose session cookie lives an hour; /data needs it (and sets a tracking cookie). */
async function startSite(t: TestContext): Promise<Site> {
	const site: Site = {url: '', logins: 0, cookieValues: []};
	const live = new Set<string>();
	site.url = await startServer(t, (request, response, body) => {
		const url = new URL(request.url!, 'http://x');
		response.setHeader('content-type', 'text/html');
		if (url.pathname === '/login' && request.method === 'GET') {
			response.end(html('<form method="post" action="/login"><input name="user"><input type="password" name="pass"></form>'));
			return;
		}
		if (url.pathname === '/login') {
			const form = Object.fromEntries(new URLSearchParams(body));
			if (!accounts.some((account) => account.username === form.user && account.password === form.pass)) {
				response.statusCode = 401;
				response.end();
				return;
			}
			site.logins++;
			const sid = `SIDVALUE${form.user}${site.logins}x${Date.now()}`;
			site.cookieValues.push(sid);
			live.add(sid);
			response.statusCode = 303;
			response.setHeader('location', '/data');
			response.setHeader('set-cookie', [`sid=${sid}; Path=/; Max-Age=3600; HttpOnly`, 'theme=DARKTHEMEVALUE; Path=/; Max-Age=31536000']);
			response.end();
			return;
		}
		const isLoggedIn = live.has(cookiesOf(request).sid ?? '');
		response.statusCode = isLoggedIn ? 200 : 401;
		response.end(html(isLoggedIn ? 'data' : 'please log in'));
	});
	return site;
}

function newPool(site: Site, options: Partial<SessionPoolOptions>): SessionPool {
	return new SessionPool({
		accounts,
		login: formLogin({url: '/login', fields: ({account}) => ({user: account.username, pass: account.password ?? ''})}),
		baseUrl: `${site.url}/data`,
		fetchDefaults,
		loginRetryDelayMs: 1,
		...options,
	});
}

async function prepareAll(pool: SessionPool): Promise<void> {
	const leased = pool.sessions.map(() => pool.lease()!);
	await Promise.all(leased.map((session) => pool.prepare(session)));
	for (const session of leased) pool.release(session);
}

describe('session persistence', () => {
	test('the next run reuses saved sessions with zero logins; the raw database holds no secret in clear text', async (t) => {
		const site = await startSite(t);
		const file = path.join(tmp, `s${++files}`, 'crawler.sqlite');
		const key = testKey();
		const first = SqliteStore.open(file);
		const pool = newPool(site, {store: first, key});
		await pool.init();
		await prepareAll(pool);
		await pool.flush();
		await first.close();
		assert.equal(site.logins, 2);

		const raw = Buffer.concat(['', '-wal'].filter((suffix) => fs.existsSync(file + suffix)).map((suffix) => fs.readFileSync(file + suffix)));
		assert.ok(raw.includes('alice#1'), 'sanity: the session rows are in the file');
		for (const secret of [...site.cookieValues, 'DARKTHEMEVALUE', ...accounts.map((account) => account.password)]) {
			assert.ok(!raw.includes(secret), `${secret.slice(0, 8)}… must not be stored in clear text`);
		}

		const second = SqliteStore.open(file);
		t.after(() => second.close());
		const stored = await second.loadSessions();
		const summary = summarizeStoredSession(stored.find((row) => row.id === 'alice#1')!);
		assert.deepEqual(
			{state: summary.state, logins: summary.logins, cookies: summary.cookies.map((cookie) => cookie.name).sort()},
			{state: 'ready', logins: 1, cookies: ['sid', 'theme']},
		);
		assert.ok(!JSON.stringify(summary).includes('SIDVALUE') && !JSON.stringify(summary).includes('DARKTHEME'));

		const next = newPool(site, {store: second, key});
		await next.init();
		await prepareAll(next);
		assert.equal(site.logins, 2, 'zero logins in the next run');
		const session = next.lease()!;
		const response = await fetch(`${site.url}/data`, {headers: {cookie: next.requestParts(session).jar.getCookieStringSync(`${site.url}/data`)}});
		assert.equal(response.status, 200, 'the restored cookie is accepted by the server');
		assert.ok(next.list().every((entry) => !JSON.stringify(entry).includes('SIDVALUE')));
	});

	test('expired cookies are dropped on load and the session logs in again', async (t) => {
		const site = await startSite(t);
		const key = testKey();
		const store = memorySessionStore();
		const pool = newPool(site, {store, key, accounts: [accounts[0]!]});
		await pool.init();
		await prepareAll(pool);
		await pool.flush();

		const twoHoursLater = Date.now() + 2 * 3_600_000;
		const later = newPool(site, {store, key, accounts: [accounts[0]!], now: () => twoHoursLater});
		await later.init();
		const session = later.sessions[0]!;
		assert.equal(session.hasCookie('sid'), false, 'the 1 h session cookie expired');
		assert.equal(session.hasCookie('theme'), true, 'the 1 year cookie is kept');
		assert.equal(session.state, 'new');
		await prepareAll(later);
		assert.equal(site.logins, 2);
	});

	test('a changed key: stored sessions are ignored with a warning, and log in afresh', async (t) => {
		const site = await startSite(t);
		const store = memorySessionStore();
		const pool = newPool(site, {store, key: testKey()});
		await pool.init();
		await prepareAll(pool);
		await pool.flush();

		const log = quietLog();
		const next = newPool(site, {store, key: testKey(), log});
		await next.init();
		assert.deepEqual(
			log.messages.filter((message) => message.startsWith('warn')),
			['warn: cannot decrypt stored sessions: CRAWLJAR_SECRET or the key file changed since they were saved (or the data was tampered with); those sessions log in again'],
		);
		await prepareAll(next);
		assert.equal(site.logins, 4);
	});

	test('sessions of accounts no longer in the definition are ignored; new accounts log in', async (t) => {
		const site = await startSite(t);
		const key = testKey();
		const store = memorySessionStore();
		const pool = newPool(site, {store, key, accounts: [accounts[0]!]});
		await pool.init();
		await prepareAll(pool);
		await pool.flush();

		const next = newPool(site, {store, key, accounts: [accounts[1]!]});
		await next.init();
		assert.deepEqual(next.sessions.map((session) => [session.id, session.state]), [['bob#1', 'new']]);
		await prepareAll(next);
		assert.equal(site.logins, 2);
		assert.deepEqual([...store.rows.keys()].sort(), ['alice#1', 'bob#1']);
	});

	test('a blob copied onto another session row does not decrypt', async (t) => {
		const site = await startSite(t);
		const key = testKey();
		const store = memorySessionStore();
		const pool = newPool(site, {store, key});
		await pool.init();
		await prepareAll(pool);
		await pool.flush();
		const alice = store.rows.get('alice#1')!;
		store.rows.set('bob#1', {...store.rows.get('bob#1')!, secret: alice.secret});

		const log = quietLog();
		const next = newPool(site, {store, key, log});
		await next.init();
		assert.deepEqual(next.sessions.map((session) => session.state), ['ready', 'new']);
		assert.equal(log.messages.filter((message) => message.startsWith('warn')).length, 1);
	});

	test('cookie changes after login are saved when they happen', async (t) => {
		const site = await startSite(t);
		const key = testKey();
		let saves = 0;
		const store = memorySessionStore(() => saves++);
		const pool = newPool(site, {store, key, accounts: [accounts[0]!]});
		await pool.init();
		await prepareAll(pool);
		await pool.flush();
		const afterLogin = saves;
		const session = pool.sessions[0]!;
		session.addCookie('pref=compact; Path=/', `${site.url}/data`);
		await pool.afterResponse(session, {setCookie: true, status: 200});
		assert.equal(saves, afterLogin + 1);
		await pool.afterResponse(session, {setCookie: false, status: 200});
		assert.equal(saves, afterLogin + 1, 'no change, no save');

		const next = newPool(site, {store, key, accounts: [accounts[0]!]});
		await next.init();
		assert.equal(next.sessions[0]!.cookieHeader(`${site.url}/data`).includes('pref=compact'), true);
	});
});
