// The runner acts on each verdict judge() gives (issue 9 "How"; the rules themselves are the
// table in test/policy/judge.test.ts): a logged-out page without a login fails ERR_LOGGED_OUT
// and stores nothing (issue 9 item 8); a re-login another request already handled costs this
// request nothing (issue 14 item 3); a page whose route is missing fails ERR_NO_ROUTE at once.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import type {CrawlerDefinition} from '../../src/job/types.js';
import {customLogin} from '../../src/sessions/login/login-strategy.js';
import {startServer} from '../sites/start-server.js';
import {demoSite} from '../sessions-integration/helpers.js';
import {formCrawler} from '../sessions-integration/helpers.js';
import {counts, crawl, html} from './crawl.js';

test('loggedOut without a login step: the page fails ERR_LOGGED_OUT ("no login configured"), is not stored, and is listed failed', async (t) => {
	const seen: string[] = [];
	const {url} = await startServer(t, (request, response) => {
		seen.push(request.url!);
		response.setHeader('content-type', 'text/html');
		if (request.url === '/members') return response.end(html('<form id="login"><input type="password" name="p"></form>'));
		response.end(html(`<h1>${request.url}</h1>`));
	});
	const {summary, items, failed, logs} = await crawl(t, {
		name: 'no-login',
		startUrls: [`${url}/public`, `${url}/members`],
		loggedOut: ({$}) => $('form#login').length > 0,
		routes: {
			default: async ({request, push}) => {
				await push({url: request.url});
			},
		},
	} as CrawlerDefinition);
	assert.equal(summary.state, 'finished', logs.join('\n'));
	assert.deepEqual(items, [{url: `${url}/public`}], 'the logged-out page is not a result');
	assert.equal(failed.length, 1);
	assert.equal(failed[0]!.url, `${url}/members`);
	assert.equal(failed[0]!.errorCode, 'ERR_LOGGED_OUT');
	assert.match(failed[0]!.error ?? '', /logged-out page and no login configured/);
	assert.equal(counts(seen).get('/members'), 1, 'failed at once: no retry, no re-login to try');
});

test('a page with no route for its label fails ERR_NO_ROUTE at once, without a retry', async (t) => {
	const seen: string[] = [];
	const {url} = await startServer(t, (request, response) => {
		seen.push(request.url!);
		response.setHeader('content-type', 'text/html');
		response.end(html(request.url === '/' ? '<a class="x" href="/orphan">o</a>' : '<h1>orphan</h1>'));
	});
	const {failed} = await crawl(t, {
		name: 'no-route',
		startUrls: [`${url}/`],
		routes: {
			default: async ({enqueue}) => {
				await enqueue({selector: 'a.x', label: 'missing'});
			},
		},
	} as CrawlerDefinition);
	// Another helper may make the enqueue itself fail; either way the orphan is never handled twice.
	assert.ok((counts(seen).get('/orphan') ?? 0) <= 1);
	for (const entry of failed.filter((request) => request.url.endsWith('/orphan'))) {
		assert.equal(entry.errorCode, 'ERR_NO_ROUTE');
		assert.match(entry.error ?? '', /no route for label 'missing'/);
	}
});

test('sessions dropped every 25 requests with 12 in flight per session: every healthy page, 0 ERR_LOGGED_OUT', async (t) => {
	const users = {demo: 'pw-demo-Lq55', alice: 'pw-alice-Lq55'};
	const site = await demoSite(t, {books: 400, perPage: 50, users, sessionMaxRequests: 25, logoutStyle: '401'});
	const definition = formCrawler(site, {
		accounts: Object.entries(users).map(([username, password]) => ({username, password})),
		sessions: {maxConcurrency: 12},
		concurrency: 24,
		hosts: {maxConcurrency: 24},
		// maxReloginsPerRequest at its default (3): requests in flight during others' re-logins must not use it up.
		retry: {maxRetries: 2, backoff: {baseMs: 10, capMs: 50}},
	});
	const {summary, items, failed, logs} = await crawl(t, definition);
	const output = logs.slice(-20).join('\n');
	assert.equal(summary.state, 'finished', output);
	assert.deepEqual(
		failed.map((request) => request.errorCode),
		[],
		output,
	);
	assert.equal(items.length, 400);
	assert.ok(site.stats.sessionsExpired >= 10, `expected many expiries, saw ${site.stats.sessionsExpired}`);
	const sessions = Object.values(summary.sessions ?? {});
	assert.equal(sessions.reduce((sum, session) => sum + session.logins + session.relogins, 0), site.stats.loginSuccess, 'every login the server saw, counted once');
});

test('relogin() says whether this call started the re-login: only that one is charged', async (t) => {
	const {url} = await startServer(t, (_request, response) => response.end('ok'));
	const {SessionPool} = await import('../../src/sessions/session-pool.js');
	let logins = 0;
	const pool = new SessionPool({
		accounts: [{username: 'ada'}],
		login: customLogin(async () => {
			logins++;
			await new Promise((resolve) => setTimeout(resolve, 20));
		}),
		baseUrl: `${url}/`,
	});
	const session = pool.lease()!;
	await pool.prepare(session);
	const seen = pool.requestParts(session).generation;
	const results = await Promise.all(Array.from({length: 12}, () => pool.relogin(session, seen, 'HTTP 401')));
	assert.deepEqual(
		results.toSorted(),
		['started', ...Array.from({length: 11}, () => 'joined')].toSorted(),
		'one request started it; the others joined',
	);
	assert.equal(await pool.relogin(session, seen, 'a late 401 from before the re-login'), 'stale');
	assert.equal(logins, 2, 'one login, one re-login');
	assert.equal(session.stats.relogins, 1);
});
