// Issue 9 item 2: Post/Redirect/Get is not a loop. A wiki answers a correct login POST to
// /doku.php?id=start with a 302 to that same URL; followed as a GET it shows the page. A real
// loop (the same method and URL twice) still fails ERR_REDIRECT_LOOP. A formLogin that finds
// the session already logged in (no form, success check passes) succeeds without a POST. A 429
// or 503 on the page a login POST redirects to sends that page again, never the POST again.
import assert from 'node:assert/strict';
import type http from 'node:http';
import {describe, test, type TestContext} from 'node:test';
import {CookieJar} from 'tough-cookie';
import {defineCrawler} from '../../src/define-crawler.js';
import {fetchPage} from '../../src/http/fetch.js';
import type {CrawlerDefinition} from '../../src/job/types.js';
import {formLogin} from '../../src/sessions/login/form-login.js';
import {SessionPool} from '../../src/sessions/session-pool.js';
import {crawl, html} from '../runner/crawl.js';
import {startServer} from '../sites/start-server.js';

const PASSWORD = 'pw-Wk33-wiki';

interface Wiki {
	readonly url: string;
	readonly seen: string[];
	readonly sids: Set<string>;
}

function readBody(request: http.IncomingMessage): Promise<string> {
	return new Promise((resolve) => {
		let text = '';
		request.on('data', (chunk: Buffer) => (text += chunk.toString()));
		request.on('end', () => resolve(text));
	});
}

/**
 * DokuWiki-like: /doku.php?id=start shows the login form to strangers and the page to a
 * logged-in user; the form posts to the same URL, and a good password is answered 302 back
 * to it with the session cookie. /doku.php?id=page:N are pages (login needed).
 * /loop redirects to itself; /post-loop answers a POST with a 307 (method kept) to itself.
 */
async function startWiki(t: TestContext): Promise<Wiki> {
	const seen: string[] = [];
	const sids = new Set<string>();
	let issued = 0;
	const {url} = await startServer(t, (request, response) => {
		void (async () => {
			const target = new URL(request.url ?? '/', 'http://wiki');
			seen.push(`${request.method} ${target.pathname}${target.search}`);
			const body = await readBody(request);
			const sid = /(?:^|;\s*)DW=([^;]+)/.exec(request.headers.cookie ?? '')?.[1];
			const isIn = sid !== undefined && sids.has(sid);
			if (target.pathname === '/loop') {
				response.writeHead(302, {location: '/loop'});
				return response.end();
			}
			if (target.pathname === '/post-loop') {
				response.writeHead(307, {location: '/post-loop'});
				return response.end();
			}
			const id = target.searchParams.get('id');
			if (target.pathname !== '/doku.php' || id === null) {
				response.writeHead(404, {'content-type': 'text/html'});
				return response.end(html('<h1>not found</h1>'));
			}
			if (request.method === 'POST') {
				const form = new URLSearchParams(body);
				if (form.get('p') === PASSWORD && form.get('sectok') === 'tok-1') {
					const fresh = `dw-${++issued}`;
					sids.add(fresh);
					response.writeHead(302, {location: `/doku.php?id=${encodeURIComponent(id)}`, 'set-cookie': `DW=${fresh}; Path=/; HttpOnly`});
					return response.end();
				}
			}
			response.writeHead(200, {'content-type': 'text/html'});
			if (!isIn) {
				return response.end(
					html(`<form method="post" action="/doku.php?id=${id}"><input type="hidden" name="sectok" value="tok-1"><input name="u"><input type="password" name="p"></form>`),
				);
			}
			response.end(html(`<h1>${id}</h1><a class="logout" href="/doku.php?id=start&do=logout">log out</a>`));
		})();
	});
	return {url, seen, sids};
}

/**
 * A site whose login page always shows the form; a good POST is answered 302 to /home with the
 * session cookie, and the first `refusals` GETs of /home after it get `status` (a limiter in
 * front of the site). /page/N need the session.
 */
async function startLandingSite(t: TestContext, afterLogin: {refusals: number; status: number}): Promise<Wiki> {
	const seen: string[] = [];
	const sids = new Set<string>();
	let refusals = 0;
	const {url} = await startServer(t, (request, response) => {
		void (async () => {
			const {pathname} = new URL(request.url ?? '/', 'http://landing');
			seen.push(`${request.method} ${pathname}`);
			const body = await readBody(request);
			const sid = /(?:^|;\s*)sid=([^;]+)/.exec(request.headers.cookie ?? '')?.[1];
			const isIn = sid !== undefined && sids.has(sid);
			if (pathname === '/login' && request.method === 'POST' && new URLSearchParams(body).get('p') === PASSWORD) {
				const fresh = `s-${sids.size + 1}`;
				sids.add(fresh);
				refusals = afterLogin.refusals;
				response.writeHead(302, {location: '/home', 'set-cookie': `sid=${fresh}; Path=/; HttpOnly`});
				return response.end();
			}
			if (pathname === '/home' && refusals > 0) {
				refusals--;
				response.writeHead(afterLogin.status, {'retry-after': '1', 'content-type': 'text/plain'});
				return response.end('busy');
			}
			response.writeHead(200, {'content-type': 'text/html'});
			if (pathname === '/login' || !isIn) return response.end(html('<form method="post" action="/login"><input name="u"><input type="password" name="p"></form>'));
			response.end(html(`<h1>${pathname}</h1><a class="logout" href="/logout">log out</a>`));
		})();
	});
	return {url, seen, sids};
}

const wikiLogin = formLogin({
	url: '/doku.php?id=start',
	fields: ({account}) => ({u: account.username, p: account.password ?? ''}),
	success: {selector: 'a.logout'},
});

describe('Post/Redirect/Get logins', () => {
	test('fetchPage: a POST answered 302 to its own URL is followed as a GET; real loops still fail', async (t) => {
		const wiki = await startWiki(t);
		const jar = new CookieJar();
		const result = await fetchPage(`${wiki.url}/doku.php?id=start`, {
			method: 'POST',
			body: new URLSearchParams({u: 'ada', p: PASSWORD, sectok: 'tok-1'}).toString(),
			headers: {'content-type': 'application/x-www-form-urlencoded'},
			jar,
			useHeaderGenerator: false,
		});
		assert.equal(result.status, 200);
		assert.deepEqual(result.redirects, [`${wiki.url}/doku.php?id=start`]);
		assert.match(result.body.toString(), /<h1>start<\/h1>/);
		assert.deepEqual(wiki.seen, ['POST /doku.php?id=start', 'GET /doku.php?id=start']);

		await assert.rejects(fetchPage(`${wiki.url}/loop`, {useHeaderGenerator: false}), {code: 'ERR_REDIRECT_LOOP'});
		// 307 keeps the method and the body: the same POST again is a loop.
		await assert.rejects(fetchPage(`${wiki.url}/post-loop`, {method: 'POST', body: 'x=1', useHeaderGenerator: false}), {code: 'ERR_REDIRECT_LOOP'});
		assert.equal(wiki.seen.filter((line) => line === 'GET /loop').length, 1, 'a GET loop is caught at the first repeat');
		assert.equal(wiki.seen.filter((line) => line === 'POST /post-loop').length, 1);
	});

	test('a crawl behind a PRG login: one login, every page, no ERR_REDIRECT_LOOP', async (t) => {
		const wiki = await startWiki(t);
		const definition = defineCrawler({
			name: 'wiki',
			startUrls: Array.from({length: 6}, (_, index) => `${wiki.url}/doku.php?id=page:${index + 1}`),
			accounts: [{username: 'ada', password: PASSWORD}],
			login: wikiLogin,
			routes: {
				default: async ({request, $, push}) => {
					await push({url: request.url, title: $('h1').text()});
				},
			},
		} as CrawlerDefinition);
		const {summary, items, failed, logs} = await crawl(t, definition);
		assert.equal(summary.state, 'finished', logs.join('\n'));
		assert.equal(failed.length, 0, logs.join('\n'));
		assert.equal(items.length, 6);
		assert.equal(wiki.sids.size, 1, 'one login');
		assert.equal(wiki.seen.filter((line) => line.startsWith('POST')).length, 1, 'one POST');
		assert.doesNotMatch(logs.join('\n'), /ERR_REDIRECT_LOOP|no form with a password field/);
	});

	for (const status of [429, 503] as const) {
		test(`a ${status} on the page a login POST redirects to: that page goes again, not the login (one POST)`, async (t) => {
			const site = await startLandingSite(t, {refusals: 2, status});
			const definition = defineCrawler({
				name: `landing-${status}`,
				startUrls: [1, 2, 3].map((n) => `${site.url}/page/${n}`),
				accounts: [{username: 'ada', password: PASSWORD}],
				login: formLogin({url: '/login', fields: ({account}) => ({u: account.username, p: account.password ?? ''}), success: {selector: 'a.logout'}}),
				retry: {backoff: {baseMs: 50, capMs: 200}},
				routes: {default: async ({request, $, push}) => push({url: request.url, title: $('h1').text()})},
			} as CrawlerDefinition);
			const {summary, items, failed, logs} = await crawl(t, definition);
			assert.equal(summary.state, 'finished', logs.join('\n'));
			assert.equal(failed.length, 0, logs.join('\n'));
			assert.equal(items.length, 3);
			// The site logged the session in at the POST: a second POST would be a second login.
			assert.deepEqual(site.seen.slice(0, 5), ['GET /login', 'POST /login', 'GET /home', 'GET /home', 'GET /home'], 'the refused hop twice, then its answer');
			assert.equal(site.seen.filter((line) => line.startsWith('POST')).length, 1, site.seen.join('\n'));
			assert.equal(site.sids.size, 1, 'one login');
		});
	}

	test('formLogin on a session that is already logged in: no form, the success check passes, no POST', async (t) => {
		const wiki = await startWiki(t);
		wiki.sids.add('dw-kept');
		const pool = new SessionPool({
			accounts: [{username: 'ada', password: PASSWORD}],
			login: wikiLogin,
			baseUrl: `${wiki.url}/`,
			fetchDefaults: {useHeaderGenerator: false},
		});
		const session = pool.lease()!;
		// A cookie the session already holds (a manual login, an earlier run): not a login cookie of its own.
		session.addCookie(`DW=dw-kept; Path=/`, `${wiki.url}/`);
		await pool.prepare(session);
		assert.equal(session.state, 'ready');
		assert.equal(session.stats.logins, 1);
		assert.deepEqual(wiki.seen, ['GET /doku.php?id=start'], 'the login page only: nothing to submit');
	});
});
