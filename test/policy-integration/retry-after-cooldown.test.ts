// Issue 4: a 429 with Retry-After pauses the host for every worker and every session.
// Concurrency 20 on 3 logged-in sessions; the server answers one 429 and logs when each request
// arrived: none may arrive during the cooldown (50 ms of skew allowed for requests already on
// the wire when the 429 left), and every page ends done.
import assert from 'node:assert/strict';
import type http from 'node:http';
import test from 'node:test';
import {runCrawler} from '../../src/runner/run-crawler.js';
import {captureLog, page, pageUrls, startLoggingServer, tempStorage, testDefaults} from './helpers.js';

const PAGES = 100;
const TRIGGER_AT = 30;
const SKEW_MS = 50;

interface Window {
	start: number;
	end: number;
	header: string;
}

function sidOf(request: http.IncomingMessage): string | undefined {
	return /(?:^|;\s*)sid=([^;]+)/.exec(request.headers.cookie ?? '')?.[1];
}

/**
 * Logins (POST /login, cookie per account), pages under /p/ that need the cookie, and one
 * rate-limit episode: the TRIGGER_AT-th page request gets a 429; requests arriving while the
 * window is open get the same answer (a real server would), later ones are served.
 */
async function startRateLimitedSite(t: test.TestContext, retryAfter: 'seconds' | 'date') {
	let pageRequests = 0;
	let window: Window | undefined;
	const held: http.ServerResponse[] = [];
	const served = new Set<string>();
	const sessionsBeforeTrigger = new Set<string>();
	const server = await startLoggingServer(t, (request, response, arrival) => {
		if (arrival.path === '/login' && request.method === 'POST') {
			let body = '';
			request.on('data', (chunk: Buffer) => (body += chunk.toString()));
			request.on('end', () => {
				const user = new URLSearchParams(body).get('user') ?? '';
				response.setHeader('set-cookie', `sid=${encodeURIComponent(user)}; Path=/; HttpOnly`);
				page(response, 'welcome');
			});
			return;
		}
		const sid = sidOf(request);
		if (!sid) return page(response, 'login required', 401);
		pageRequests++;
		if (window && arrival.at < window.end) {
			response.setHeader('retry-after', window.header);
			return page(response, 'slow down', 429);
		}
		if (!window && pageRequests === TRIGGER_AT) {
			sessionsBeforeTrigger.add(sid);
			if (retryAfter === 'seconds') {
				const start = Date.now();
				window = {start, end: start + 2_000, header: '2'};
				response.setHeader('retry-after', '2');
				return page(response, 'slow down', 429);
			}
			// HTTP-dates have one-second resolution: the 429s leave at a whole second, so that the
			// date is exactly 2 s after them. Page requests arriving until then are held and get
			// the same 429 (the pages left stay queued during the cooldown).
			const start = Math.ceil((Date.now() + 1) / 1000) * 1000;
			const header = new Date(start + 2_000).toUTCString();
			held.push(response);
			setTimeout(() => {
				window = {start: Date.now(), end: start + 2_000, header};
				for (const heldResponse of held.splice(0)) {
					heldResponse.setHeader('retry-after', header);
					page(heldResponse, 'slow down', 429);
				}
			}, start - Date.now());
			return;
		}
		if (!window && held.length > 0) {
			held.push(response);
			return;
		}
		if (!window) sessionsBeforeTrigger.add(sid);
		// A little latency, so that ~20 requests really are in flight together.
		setTimeout(() => {
			served.add(arrival.path);
			page(response, `page ${arrival.path}`);
		}, 10);
	});
	return {
		server,
		served,
		sessionsBeforeTrigger,
		window: () => window,
	};
}

for (const form of ['seconds', 'date'] as const) {
	test(`429 with Retry-After (${form === 'seconds' ? 'delta-seconds "2"' : 'an HTTP-date 2 s ahead'}): no request reaches the host during the cooldown, all pages done`, async (t) => {
		const site = await startRateLimitedSite(t, form);
		const log = captureLog();
		const summary = await runCrawler(
			{
				name: `retry-after-${form}`,
				startUrls: pageUrls(site.server.url, PAGES),
				routes: {default: async ({push, request}) => push({url: request.url})},
				accounts: [{username: 'alice'}, {username: 'bob'}, {username: 'carol'}],
				login: async ({http, account}) => (await http.post('/login', {form: {user: account.username}})).status === 200,
				sessions: {maxConcurrency: 7},
				concurrency: 20,
				hosts: {maxConcurrency: 20},
				...testDefaults,
			},
			{storageDir: tempStorage(t), log},
		);

		const window = site.window();
		if (process.env.DEBUG_TIMELINE) console.log(form, window && site.server.arrivals.map((a) => `${a.path}@${a.at - window.start}`).join(' '));
		assert.ok(window, 'the server sent its 429');
		const duringCooldown = site.server.arrivals.filter(({at}) => at > window.start + SKEW_MS && at < window.end - SKEW_MS);
		assert.deepEqual(
			duringCooldown.map(({at, path}) => `${path} at +${at - window.start} ms`),
			[],
			'requests arrived during the cooldown',
		);
		// The crawl went on after the cooldown, from where it stopped.
		assert.ok(site.server.arrivals.some(({at}) => at >= window.end), 'requests after the cooldown');
		assert.equal(summary.state, 'finished');
		assert.equal(summary.requests.done, PAGES);
		assert.equal(summary.requests.failed, 0);
		assert.equal(site.served.size, PAGES, 'every page was served once with 200');
		assert.equal(summary.items, PAGES);
		// The cooldown held across workers of all three sessions (each logged in before the 429).
		assert.equal(site.server.count('/login'), 3);
		assert.deepEqual([...site.sessionsBeforeTrigger].sort(), ['alice', 'bob', 'carol']);
		assert.ok(site.server.arrivals.filter(({path}) => path === '/login').every(({at}) => at < window.start));
		const hostStats = summary.hosts?.[site.server.host];
		assert.ok(hostStats, 'per-host stats');
		assert.ok(hostStats.status429 >= 1);
		assert.ok(hostStats.cooldownMs >= 1_900, `cooldownMs ${hostStats.cooldownMs}`);
	});
}
