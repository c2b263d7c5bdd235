// Issue 9 item 1: login requests are requests. A login page and a token endpoint behind a
// limiter (2 req/s, 429 + Retry-After: 2): with 8 workers every page arrives, each session logs
// in once, and no login request reaches the server inside a cooldown window it announced.
import assert from 'node:assert/strict';
import type http from 'node:http';
import {describe, test, type TestContext} from 'node:test';
import {defineCrawler} from '../../src/define-crawler.js';
import type {CrawlerDefinition} from '../../src/job/types.js';
import {formLogin} from '../../src/sessions/login/form-login.js';
import {tokenLogin} from '../../src/sessions/login/token-login.js';
import {crawl, html} from '../runner/crawl.js';
import {startServer} from '../sites/start-server.js';

const PASSWORD = 'pw-Lm52-right';
const PAGES = 24;
const RETRY_AFTER_S = 2;
/** A login request this early before the announced end is one the crawler should not have sent. */
const CLOCK_SLACK_MS = 5;
/**
 * Requests already on their way when the 429 went out cannot be called back: a login request
 * counts as inside the cooldown only when it arrives this long after the 429 was sent.
 */
const IN_FLIGHT_MS = 500;

interface LimitedSite {
	readonly url: string;
	/** Login requests (login page GET, form POST, token POST) that got through the limiter. */
	readonly logins: {formPosts: number; tokenPosts: number; loginPages: number; rejected: number};
	readonly limited: {count: number; insideCooldown: number};
	readonly pagesServed: Set<number>;
}

function readBody(request: http.IncomingMessage): Promise<string> {
	return new Promise((resolve) => {
		let text = '';
		request.on('data', (chunk: Buffer) => (text += chunk.toString()));
		request.on('end', () => resolve(text));
	});
}

/**
 * Pages /page/N need the `sid` cookie or a Bearer token; /login (GET form, POST) and
 * /api/login are behind one limiter: at most 2 per second, then 429 + Retry-After: 2, and the
 * window the 429 announced is watched: a login request arriving inside it is counted.
 */
async function startLimitedSite(t: TestContext): Promise<LimitedSite> {
	const logins = {formPosts: 0, tokenPosts: 0, loginPages: 0, rejected: 0};
	const limited = {count: 0, insideCooldown: 0};
	const pagesServed = new Set<number>();
	const sids = new Set<string>();
	const tokens = new Set<string>();
	let windowStart = 0;
	let inWindow = 0;
	let cooldownUntil = 0;
	let limitedAt = 0;
	let issued = 0;
	const admit = (): boolean => {
		const now = Date.now();
		if (now > limitedAt + IN_FLIGHT_MS && now < cooldownUntil - CLOCK_SLACK_MS) limited.insideCooldown++;
		if (now - windowStart >= 1000) {
			windowStart = now;
			inWindow = 0;
		}
		inWindow++;
		if (inWindow <= 2) return true;
		limited.count++;
		if (now >= cooldownUntil) limitedAt = now;
		cooldownUntil = Math.max(cooldownUntil, now + RETRY_AFTER_S * 1000);
		return false;
	};
	const {url} = await startServer(t, (request, response) => {
		void (async () => {
			const {pathname} = new URL(request.url ?? '/', 'http://limited');
			const isLogin = pathname === '/login' || pathname === '/api/login';
			const body = await readBody(request);
			if (isLogin && !admit()) {
				response.writeHead(429, {'retry-after': String(RETRY_AFTER_S), 'content-type': 'text/plain'});
				return response.end('slow down');
			}
			if (pathname === '/login' && request.method === 'GET') {
				logins.loginPages++;
				response.writeHead(200, {'content-type': 'text/html'});
				return response.end(html('<form method="post" action="/login"><input name="user"><input type="password" name="password"></form>'));
			}
			if (pathname === '/login') {
				logins.formPosts++;
				if (new URLSearchParams(body).get('password') !== PASSWORD) {
					logins.rejected++;
					response.writeHead(200, {'content-type': 'text/html'});
					return response.end(html('<form method="post" action="/login"><input type="password" name="password"></form>'));
				}
				const sid = `sid-${++issued}`;
				sids.add(sid);
				response.writeHead(303, {'set-cookie': `sid=${sid}; Path=/; HttpOnly`, location: '/welcome'});
				return response.end();
			}
			if (pathname === '/api/login') {
				logins.tokenPosts++;
				if ((JSON.parse(body || '{}') as {password?: string}).password !== PASSWORD) {
					logins.rejected++;
					response.writeHead(401, {'content-type': 'application/json'});
					return response.end('{"error":"invalid_credentials"}');
				}
				const token = `at-${++issued}`;
				tokens.add(token);
				response.writeHead(200, {'content-type': 'application/json'});
				return response.end(JSON.stringify({access_token: token}));
			}
			const sid = /(?:^|;\s*)sid=([^;]+)/.exec(request.headers.cookie ?? '')?.[1];
			const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
			const isIn = (sid !== undefined && sids.has(sid)) || (token !== undefined && tokens.has(token));
			if (!isIn) {
				response.writeHead(401, {'content-type': 'text/html'});
				return response.end(html('<h1>who are you?</h1>'));
			}
			if (pathname === '/welcome') {
				response.writeHead(200, {'content-type': 'text/html'});
				return response.end(html('<h1>welcome</h1>'));
			}
			const id = Number(/^\/page\/(\d+)$/.exec(pathname)?.[1]);
			if (id >= 1 && id <= PAGES) {
				pagesServed.add(id);
				response.writeHead(200, {'content-type': 'text/html'});
				return response.end(html(`<h1>page ${id}</h1>`));
			}
			response.writeHead(404, {'content-type': 'text/html'});
			response.end(html('<h1>not found</h1>'));
		})();
	});
	return {url, logins, limited, pagesServed};
}

const accounts = [
	{username: 'ada', password: PASSWORD},
	{username: 'bob', password: PASSWORD},
];

function pages(site: LimitedSite): string[] {
	return Array.from({length: PAGES}, (_, index) => `${site.url}/page/${index + 1}`);
}

function definition(site: LimitedSite, login: CrawlerDefinition['login'], name: string): CrawlerDefinition {
	return defineCrawler({
		name,
		startUrls: pages(site),
		accounts,
		login,
		// 2 accounts × 3 sessions: 6 logins racing for 2 req/s; 8 workers.
		sessions: {perAccount: 3, maxConcurrency: 3, loginConcurrency: 6},
		concurrency: 8,
		hosts: {maxConcurrency: 8},
		routes: {
			default: async ({request, $, push}) => {
				await push({url: request.url, title: $('h1').text()});
			},
		},
	} as CrawlerDefinition);
}

describe('login requests behind a rate limiter (2 req/s, 429 + Retry-After: 2)', () => {
	for (const kind of ['form', 'token'] as const) {
		test(`${kind} login, 6 sessions, 8 workers: every page arrives, logins = sessions, none inside a cooldown`, async (t) => {
			const site = await startLimitedSite(t);
			const login =
				kind === 'form'
					? formLogin({url: '/login', fields: ({account}) => ({user: account.username, password: account.password ?? ''})})
					: tokenLogin({url: '/api/login', body: ({account}) => ({user: account.username, password: account.password}), accessToken: 'access_token'});
			const {summary, items, failed, logs} = await crawl(t, definition(site, login, `limited-${kind}`));
			const output = logs.join('\n');

			assert.equal(summary.state, 'finished', output);
			assert.equal(failed.length, 0, output);
			assert.equal(items.length, PAGES, output);
			assert.equal(site.pagesServed.size, PAGES);
			assert.ok(site.limited.count > 0, 'the limiter did refuse login requests (else the test proves nothing)');
			assert.equal(site.limited.insideCooldown, 0, 'no login request arrived inside a cooldown the server announced');
			assert.equal(site.logins.rejected, 0);
			const posts = kind === 'form' ? site.logins.formPosts : site.logins.tokenPosts;
			assert.equal(posts, 6, 'one successful login per session: a 429 is waited out, never a failed attempt');
			const sessions = Object.values(summary.sessions ?? {});
			assert.equal(sessions.length, 6);
			assert.equal(sessions.reduce((sum, session) => sum + session.logins, 0), 6, 'logins = sessions');
			assert.equal(sessions.reduce((sum, session) => sum + session.relogins, 0), 0);
			// Login requests are requests: counted per host with their 429s.
			const host = summary.hosts?.[new URL(site.url).host];
			assert.ok(host, JSON.stringify(summary.hosts));
			assert.equal(host.status429, site.limited.count, 'every 429 the server sent is in stats');
			const loginRequests = site.limited.count + posts + (kind === 'form' ? site.logins.loginPages : 0);
			assert.equal(host.requests, PAGES + loginRequests, 'stats count the login requests with the pages');
			assert.equal(host.loginRequests, loginRequests, 'and apart, as login requests');
			assert.ok(host.cooldownMs > 0, 'the 429s cooled the host for every worker');
			assert.match(output, /login request to 127\.0\.0\.1:\d+: HTTP 429 \(rate limited\); waiting 2000 ms \(Retry-After\)/);
			assert.doesNotMatch(output, /LOGIN_FAILED|NO_USABLE_SESSION|disabled/);
		});
	}

	test('a wrong password behind the limiter: one POST per account (perAccount 3), 429s not counted as attempts', async (t) => {
		const site = await startLimitedSite(t);
		const wrong = accounts.map((account) => ({...account, password: 'pw-wrong-Qx19'}));
		const login = tokenLogin({url: '/api/login', body: ({account}) => ({user: account.username, password: account.password}), accessToken: 'access_token'});
		const {summary, items, logs} = await crawl(t, {...definition(site, login, 'limited-wrong'), accounts: wrong} as CrawlerDefinition);
		const output = logs.join('\n');
		assert.equal(summary.state, 'aborted', output);
		assert.match(summary.stoppedReason ?? '', /NO_USABLE_SESSION/);
		assert.equal(site.logins.tokenPosts, 2, `exactly one POST per account reached the server:\n${output}`);
		assert.equal(site.logins.rejected, 2);
		assert.equal(items.length, 0);
		assert.equal(site.pagesServed.size, 0);
		assert.ok(!output.includes('pw-wrong-Qx19'), 'the password is never logged');
	});
});
