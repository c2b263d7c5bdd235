// Issue 9 items 4 and 5: a token endpoint answering `expires: 3000` (milliseconds) with a JWT
// whose `exp` says 3 s: the 3 s wins over "3,000 s" with one warning, and the token is renewed
// early (the server never sees an expired token). A refresh after a 401 is a refresh in the
// logs and the stats, not a re-login.
import assert from 'node:assert/strict';
import type http from 'node:http';
import {setTimeout as delay} from 'node:timers/promises';
import {describe, test, type TestContext} from 'node:test';
import {defineCrawler} from '../../src/define-crawler.js';
import type {CrawlerDefinition} from '../../src/job/types.js';
import {reconcileWithJwt} from '../../src/sessions/login/token-expiry.js';
import {tokenLogin} from '../../src/sessions/login/token-login.js';
import {crawl} from '../runner/crawl.js';
import {startServer} from '../sites/start-server.js';

const PASSWORD = 'pw-Tx08-api';

function jwt(payload: Record<string, unknown>): string {
	const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
	return `${encode({alg: 'HS256', typ: 'JWT'})}.${encode(payload)}.c2lnbmF0dXJl`;
}

function readBody(request: http.IncomingMessage): Promise<string> {
	return new Promise((resolve) => {
		let text = '';
		request.on('data', (chunk: Buffer) => (text += chunk.toString()));
		request.on('end', () => resolve(text));
	});
}

interface ApiStats {
	logins: number;
	refreshes: number;
	expiredSeen: number;
	usedUp: number;
	served: number;
}

/**
 * `lifetimeMs`: tokens expire then (JWT exp, and `expires` in ms in the body); `usesPerToken`:
 * a token is refused (401) after that many calls, whatever its expiry.
 */
async function startApi(t: TestContext, options: {lifetimeMs: number; usesPerToken: number; delayMs: number; withExpiry: boolean}): Promise<{url: string; stats: ApiStats}> {
	const stats: ApiStats = {logins: 0, refreshes: 0, expiredSeen: 0, usedUp: 0, served: 0};
	const tokens = new Map<string, {expiresAt: number; uses: number}>();
	const refreshTokens = new Set<string>();
	let issued = 0;
	const issue = () => {
		const expiresAt = Date.now() + options.lifetimeMs;
		const access = jwt({sub: 'ada', exp: Math.floor(expiresAt / 1000), jti: ++issued});
		tokens.set(access, {expiresAt: Math.floor(expiresAt / 1000) * 1000, uses: 0});
		const refresh = `rt-${issued}`;
		refreshTokens.add(refresh);
		return {access_token: access, refresh_token: refresh, ...(options.withExpiry ? {expires: options.lifetimeMs} : {})};
	};
	const {url} = await startServer(t, (request, response) => {
		void (async () => {
			const {pathname} = new URL(request.url ?? '/', 'http://api');
			const body = (await readBody(request)) || '{}';
			const send = (status: number, value: unknown) => {
				response.writeHead(status, {'content-type': 'application/json'});
				response.end(JSON.stringify(value));
			};
			if (pathname === '/auth/login') {
				stats.logins++;
				return (JSON.parse(body) as {password?: string}).password === PASSWORD ? send(200, issue()) : send(401, {error: 'invalid'});
			}
			if (pathname === '/auth/refresh') {
				stats.refreshes++;
				const token = (JSON.parse(body) as {refresh_token?: string}).refresh_token ?? '';
				return refreshTokens.delete(token) ? send(200, issue()) : send(401, {error: 'invalid_refresh'});
			}
			const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
			const record = tokens.get(token);
			if (!record) return send(401, {error: 'invalid_token'});
			if (Date.now() >= record.expiresAt) {
				stats.expiredSeen++;
				return send(401, {error: 'expired'});
			}
			if (record.uses >= options.usesPerToken) {
				stats.usedUp++;
				return send(401, {error: 'used_up'});
			}
			record.uses++;
			await delay(options.delayMs);
			stats.served++;
			send(200, {id: Number(pathname.split('/').pop())});
		})();
	});
	return {url, stats};
}

function apiCrawler(url: string, pages: number, name: string, extra: Partial<CrawlerDefinition> = {}): CrawlerDefinition {
	return defineCrawler({
		name,
		startUrls: Array.from({length: pages}, (_, index) => ({url: `${url}/items/${index + 1}`, label: 'item'})),
		accounts: [{username: 'ada', password: PASSWORD}],
		login: tokenLogin({
			url: '/auth/login',
			body: ({account}) => ({user: account.username, password: account.password}),
			accessToken: 'access_token',
			refreshToken: 'refresh_token',
			// Milliseconds, but expiresInUnit is left at its default ('s'): the JWT exp must win.
			expiresIn: 'expires',
			refresh: {url: '/auth/refresh', body: ({refreshToken}) => ({refresh_token: refreshToken})},
		}),
		routes: {
			item: async ({json, push}) => {
				await push(json as {id: number});
			},
		},
		...extra,
	} as CrawlerDefinition);
}

describe('token expiry and refresh counts', () => {
	test('reconcileWithJwt(): exp wins over a lifetime off by more than 2×, not over one within 2×', () => {
		const now = 1_000_000_000_000;
		const token = jwt({exp: (now + 20_000) / 1000});
		const misread = reconcileWithJwt(now + 20_000_000, token, now);
		assert.equal(misread.expiresAt, now + 20_000);
		assert.deepEqual(misread.overridden, {readMs: 20_000_000, jwtMs: 20_000});
		assert.deepEqual(reconcileWithJwt(now + 30_000, token, now), {expiresAt: now + 30_000}, '1.5× apart: the configured value stays');
		assert.deepEqual(reconcileWithJwt(now + 30_000, 'opaque-token', now), {expiresAt: now + 30_000});
		assert.deepEqual(reconcileWithJwt(undefined, token, now), {expiresAt: now + 20_000});
		assert.deepEqual(reconcileWithJwt(now + 5_000, jwt({exp: (now - 1_000) / 1000}), now), {expiresAt: now + 5_000}, 'an exp already past says more about clocks');
	});

	test('`expires` in ms read as seconds, JWT exp 3 s: exp wins (one warning for 3 sessions), refreshed early, no expired token sent', async (t) => {
		const api = await startApi(t, {lifetimeMs: 3_000, usesPerToken: Infinity, delayMs: 120, withExpiry: true});
		const {summary, items, failed, logs} = await crawl(t, apiCrawler(api.url, 90, 'expiry', {sessions: {perAccount: 3, maxConcurrency: 1}, concurrency: 3}));
		const output = logs.join('\n');
		assert.equal(summary.state, 'finished', output);
		assert.equal(failed.length, 0, output);
		assert.equal(items.length, 90);
		assert.equal(api.stats.logins, 3);
		assert.equal(api.stats.expiredSeen, 0, `the token was renewed before it expired, not after a 401:\n${output}`);
		assert.ok(api.stats.refreshes >= 3, `the crawl outlived the 3 s tokens: expected refreshes, saw ${api.stats.refreshes}`);
		const warnings = logs.filter((line) => line.includes('JWT exp'));
		assert.equal(warnings.length, 1, warnings.join('\n'));
		assert.match(warnings[0]!, /'expires' gives a lifetime of \d+ s but the access token's JWT exp says \d+ ms: using exp/);
		const sessions = Object.values(summary.sessions ?? {});
		assert.equal(sessions.reduce((sum, session) => sum + (session.refreshes ?? 0), 0), api.stats.refreshes, 'early refreshes in stats = the server');
		assert.equal(sessions.reduce((sum, session) => sum + (session.refreshesAfterLogout ?? 0), 0), 0);
		assert.equal(sessions.reduce((sum, session) => sum + session.logins, 0), 3);
		assert.equal(sessions.reduce((sum, session) => sum + session.relogins, 0), 0);
	});

	test('a refresh after a 401 is logged and counted as a refresh after a logout, not a re-login', async (t) => {
		const api = await startApi(t, {lifetimeMs: 3_600_000, usesPerToken: 4, delayMs: 0, withExpiry: false});
		const {summary, items, failed, logs} = await crawl(t, apiCrawler(api.url, 20, 'after-401', {sessions: {maxConcurrency: 1}, concurrency: 1}));
		const output = logs.join('\n');
		assert.equal(summary.state, 'finished', output);
		assert.equal(failed.length, 0, output);
		assert.equal(items.length, 20);
		assert.equal(api.stats.logins, 1, 'the server saw one login');
		assert.ok(api.stats.refreshes >= 4, `saw ${api.stats.refreshes} refreshes`);
		const [session] = Object.values(summary.sessions ?? {});
		assert.ok(session);
		assert.equal(session.logins, 1);
		assert.equal(session.relogins, 0, 'no re-login: the server saw refresh calls only');
		assert.equal(session.refreshesAfterLogout, api.stats.refreshes);
		assert.equal(session.refreshes ?? 0, 0);
		assert.equal(session.status401, api.stats.usedUp);
		assert.match(output, /logged out \(HTTP 401 \(logged out\)\); refreshing the token/);
		assert.match(output, /token refreshed \(after a logout\)/);
		assert.doesNotMatch(output, /logging in again/);
	});
});
