// Issue 3 item 7 on a real crawl: a custom login that adds a pre-issued auth cookie from a
// Set-Cookie string (the server sees it on every page), the Cookie header a URL would get
// (and its redacted form) read from the handler, and headers per crawler, per start URL and
// per enqueued request reaching the server (a request's own headers win).
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {defineCrawler} from '../../src/index.js';
import {runCrawler} from '../../src/runner/run-crawler.js';
import {startServer} from '../sites/start-server.js';
import {captureLog, storedItems, tempStorage} from './helpers.js';

interface Seen {
	readonly path: string;
	readonly cookie: string | undefined;
	readonly crawler: string | undefined;
	readonly request: string | undefined;
}

test('session.addCookie in a custom login, cookieHeader, and per-request headers', async (t) => {
	const seen: Seen[] = [];
	const {url} = await startServer(t, (request, response) => {
		seen.push({
			path: request.url ?? '',
			cookie: request.headers.cookie,
			crawler: request.headers['x-crawler'] as string | undefined,
			request: request.headers['x-request'] as string | undefined,
		});
		response.statusCode = request.headers.cookie === 'auth=preissued' ? 200 : 401;
		response.setHeader('content-type', 'text/html; charset=utf-8');
		response.end(`<!doctype html><title>${request.url}</title><h1>${request.url}</h1>`);
	});
	let logins = 0;
	let cookieHeader = '';
	const log = captureLog();
	const storageDir = tempStorage(t);
	const summary = await runCrawler(
		defineCrawler({
			name: 'manual',
			startUrls: [{url: `${url}/a`, headers: {'x-request': 'start-a'}}, `${url}/b`],
			headers: {'x-crawler': 'yes', 'x-request': 'default'},
			useHeaderGenerator: false,
			accounts: [{username: 'preissued'}],
			login: async ({session}) => {
				logins++;
				session.addCookie('auth=preissued; Path=/', url);
			},
			routes: {
				default: async ({request, session, enqueue, push}) => {
					assert.ok(session, 'a crawler with a login hands the session to its handlers');
					if (request.url.endsWith('/a')) {
						cookieHeader = session.cookieHeader(request.url);
						await enqueue({urls: [`${url}/c`], headers: {'x-request': 'enqueued'}});
					}
					await push({url: request.url, redacted: session.redactedCookieHeader(request.url)});
				},
			},
		}),
		{storageDir, log},
	);
	assert.equal(summary.state, 'finished', log.lines.join('\n'));
	assert.equal(summary.requests.done, 3, log.lines.join('\n'));
	assert.equal(logins, 1);
	assert.deepEqual(
		[...seen].sort((a, b) => a.path.localeCompare(b.path)),
		[
			{path: '/a', cookie: 'auth=preissued', crawler: 'yes', request: 'start-a'},
			{path: '/b', cookie: 'auth=preissued', crawler: 'yes', request: 'default'},
			{path: '/c', cookie: 'auth=preissued', crawler: 'yes', request: 'enqueued'},
		],
	);
	assert.equal(cookieHeader, 'auth=preissued');
	const items = (await storedItems(storageDir, 'manual')) as Array<{url: string; redacted: string}>;
	assert.deepEqual(new Set(items.map((item) => item.redacted)), new Set(['auth=…']), 'the redacted header names the cookie, not its value');
});
