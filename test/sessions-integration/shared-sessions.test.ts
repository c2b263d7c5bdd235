// Issue 10 item 3: sessions shared by the whole crawl. Several pools (workers) on one store and a
// real local login site: logins = sessions whatever the number of workers, one re-login per
// server-side expiry in total, rotated refresh tokens each used once, cookies a page sets in one
// worker reach the others, a wrong password posted once in total, sessions.maxConcurrency held
// across workers. PostgreSQL (one schema per test) and one SQLite file with two handles.
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {CrawljarError} from '../../src/errors.js';
import {customLogin} from '../../src/sessions/login/login-strategy.js';
import {skipWithoutPostgres} from '../store/pg-helpers.js';
import {startServer} from '../sites/start-server.js';
import {DEMO_ACCOUNT, demoSite, sleep} from './helpers.js';
import {demoFormLogin, demoTokenLogin, eventually, openStores, sendPage, sessionOf, sharedPools, type Engine} from './shared-pools.js';

const engines: Array<{engine: Engine; pools: number; skip: string | false}> = [
	{engine: 'postgres', pools: 3, skip: skipWithoutPostgres},
	{engine: 'sqlite', pools: 2, skip: false},
];

for (const {engine, pools: count, skip} of engines) {
	describe(`shared sessions on ${engine}: ${count} pools on one store`, {skip}, () => {
		test('all pools starting at once on fresh sessions: one login per session in total', async (t) => {
			const site = await demoSite(t, {books: 20});
			const {stores} = openStores(t, engine, count);
			const pools = await sharedPools(t, stores, {baseUrl: site.url, accounts: [DEMO_ACCOUNT], login: demoFormLogin(), perAccount: 2});
			// Every pool prepares every session at once, as workers starting together do.
			await Promise.all(pools.flatMap((pool) => pool.sessions.map((session) => pool.prepare(session))));
			assert.equal(site.stats.loginSuccess, 2, 'one login per session (2 sessions)');
			assert.equal(site.stats.loginFailure + site.stats.csrfRejected, 0);
			for (const pool of pools) {
				for (const session of pool.sessions) {
					const page = await sendPage(pool, session, `${site.url}/books/1`);
					assert.equal(page.status, 200, `${session.id} in a pool that did not log it in is logged in`);
				}
			}
			assert.equal(site.stats.loginSuccess, 2);
			assert.equal(site.stats.loggedOut, 0);
		});

		test('the server expires the session: exactly one re-login in total, every pool goes on with it', async (t) => {
			// Two rounds of one request per pool fit in the session; the third round uses it up.
			const maxRequests = count * 2 + 1;
			const site = await demoSite(t, {books: 20, sessionMaxRequests: maxRequests, logoutStyle: '401'});
			const {stores} = openStores(t, engine, count);
			const pools = await sharedPools(t, stores, {baseUrl: site.url, accounts: [DEMO_ACCOUNT], login: demoFormLogin()});
			const sessions = pools.map((pool) => sessionOf(pool, 'demo#1'));
			for (let round = 0; round < 2; round++) {
				for (const [index, pool] of pools.entries()) assert.equal((await sendPage(pool, sessions[index]!, `${site.url}/books/${round + 1}`)).status, 200);
			}
			assert.equal(site.stats.loginSuccess, 1);
			// The session is used up: every pool sees the logout at once and asks for a re-login.
			const pages = await Promise.all(pools.map((pool, index) => sendPage(pool, sessions[index]!, `${site.url}/books/5`)));
			assert.deepEqual(
				pages.map((page) => page.status),
				pools.map(() => 200),
			);
			assert.equal(site.stats.loginSuccess, 2, 'one re-login for the whole crawl, not one per pool');
			assert.equal(site.stats.sessionsExpired, 1);
		});

		test('token refresh with rotation across pools: every refresh token is used once', async (t) => {
			const site = await demoSite(t, {books: 40, perPage: 2, accessTokenTtlMs: 1_500});
			const {stores} = openStores(t, engine, count);
			const pools = await sharedPools(t, stores, {baseUrl: site.url, accounts: [DEMO_ACCOUNT], login: demoTokenLogin()});
			const until = Date.now() + 5_000;
			// Each pool keeps calling the API for 5 s: tokens expire (and are refreshed) several times.
			await Promise.all(
				pools.map(async (pool) => {
					const session = sessionOf(pool, 'demo#1');
					for (let page = 1; Date.now() < until; page = (page % 20) + 1) {
						const result = await sendPage(pool, session, `${site.url}/api/books?page=${page}`);
						assert.equal(result.status, 200, `API page ${page}: ${result.status}`);
						await sleep(50);
					}
				}),
			);
			assert.equal(site.stats.tokenLogin, 1, 'one full login for the crawl');
			assert.ok(site.stats.tokenRefresh >= 2, `several refreshes (saw ${site.stats.tokenRefresh})`);
			assert.equal(site.stats.refreshReuseRejected, 0, 'no rotated refresh token was presented twice');
			assert.equal(site.stats.tokenLoginFailure, 0);
		});

		test('a wrong password is posted once in total, whatever the pools and sessions', async (t) => {
			const site = await demoSite(t, {books: 5});
			const {stores} = openStores(t, engine, count);
			const wrong = {username: 'demo', password: 'not-the-Pa55word'};
			const pools = await sharedPools(t, stores, {baseUrl: site.url, accounts: [wrong], login: demoFormLogin(), perAccount: 3});
			const results = await Promise.allSettled(pools.flatMap((pool) => pool.sessions.map((session) => pool.prepare(session))));
			assert.ok(results.every((result) => result.status === 'rejected'));
			for (const result of results) {
				const error = (result as PromiseRejectedResult).reason as unknown;
				assert.ok(error instanceof CrawljarError && error.code === 'LOGIN_FAILED', String(error));
				assert.doesNotMatch(String(error), /not-the-Pa55word/, 'the password is not in the error');
			}
			assert.equal(site.stats.loginFailure, 1, 'one POST of the wrong password for the whole crawl');
			assert.equal(site.stats.loginSuccess, 0);
			await eventually('every pool has the account disabled', () => pools.every((pool) => pool.isExhausted));
		});

		test('a cookie a page sets in one pool is sent by the others after the sync; concurrent cookies both survive', async (t) => {
			const seen: Array<{path: string; cookie: string}> = [];
			const server = await startServer(t, (request, response) => {
				const url = new URL(request.url ?? '/', 'http://localhost');
				seen.push({path: url.pathname, cookie: request.headers.cookie ?? ''});
				if (url.pathname === '/login') response.setHeader('set-cookie', 'sid=s1; Path=/; HttpOnly');
				if (url.pathname === '/set') response.setHeader('set-cookie', `${url.searchParams.get('name')}=${url.searchParams.get('value')}; Path=/`);
				response.end('ok');
			});
			const login = customLogin(async ({http}) => {
				await http.get('/login');
				return true;
			});
			const {stores} = openStores(t, engine, count);
			const pools = await sharedPools(t, stores, {baseUrl: server.url, accounts: [{username: 'u', password: 'p'}], login});
			const sessions = pools.map((pool) => sessionOf(pool, 'u#1'));
			await Promise.all(pools.map((pool, index) => pool.prepare(sessions[index]!)));
			assert.equal(seen.filter((entry) => entry.path === '/login').length, 1);

			// Pool 0 gets a cookie from a page; pool 1 sends it once it has synced.
			await sendPage(pools[0]!, sessions[0]!, `${server.url}/set?name=pref&value=dark`);
			await eventually('pool 1 has the cookie', () => sessions[1]!.hasCookie('pref'));
			await sendPage(pools[1]!, sessions[1]!, `${server.url}/echo`);
			assert.match(seen.at(-1)!.cookie, /pref=dark/);
			assert.match(seen.at(-1)!.cookie, /sid=s1/);

			// Two pools get a different cookie at the same time: the compare-and-set conflict is
			// merged (each pool's own change on top of the other's), not last-write-wins.
			await Promise.all([
				sendPage(pools[0]!, sessions[0]!, `${server.url}/set?name=a&value=1`),
				sendPage(pools[1]!, sessions[1]!, `${server.url}/set?name=b&value=2`),
			]);
			for (const [index, pool] of pools.entries()) {
				await eventually(`pool ${index} has both cookies`, () => sessions[index]!.hasCookie('a') && sessions[index]!.hasCookie('b'));
				await sendPage(pool, sessions[index]!, `${server.url}/echo`);
				const sent = seen.at(-1)!.cookie;
				for (const cookie of ['sid=s1', 'pref=dark', 'a=1', 'b=2']) assert.ok(sent.includes(cookie), `pool ${index} sent ${sent}`);
			}
			const [stored] = await stores[0]!.loadSessions();
			assert.doesNotMatch(JSON.stringify(stored?.meta), /s1|dark/, 'no cookie value in the clear-text meta');
		});

		test('sessions.maxConcurrency holds across pools: leases in flight never exceed it, and each pool gets a part', async (t) => {
			const site = await demoSite(t, {books: 5});
			const {stores} = openStores(t, engine, count);
			const limit = 4;
			const pools = await sharedPools(t, stores, {baseUrl: site.url, accounts: [DEMO_ACCOUNT], login: demoFormLogin(), maxConcurrency: limit});
			const held = pools.map(() => [] as unknown[]);
			const inFlight = () => held.reduce((sum, leases) => sum + leases.length, 0);
			const deadline = Date.now() + 10_000;
			// Each pool leases what it may and gives one back now and then, like a busy crawl.
			while (!held.every((leases) => leases.length > 0)) {
				assert.ok(Date.now() < deadline, `every pool got a part of the limit: ${held.map((leases) => leases.length).join(', ')}`);
				for (const [index, pool] of pools.entries()) {
					const session = pool.lease();
					if (session) held[index]!.push(session);
					assert.ok(inFlight() <= limit, `in flight across pools ${inFlight()} <= ${limit}`);
					if (held[index]!.length > 1 && Math.random() < 0.3) pool.release(held[index]!.pop() as never);
				}
				await sleep(20);
			}
			assert.ok(inFlight() <= limit);
		});
	});
}
