// Issue 3 item 6 and issue 14 item 4: a session's credentials stay with the site that issued
// them. A redirect to another origin carries no Authorization header and only the cookies that
// origin set itself (form login and token login); a link the crawl follows to another origin
// (sameOrigin: false) gets neither the site's cookies nor its Authorization.
import assert from 'node:assert/strict';
import type http from 'node:http';
import {describe, test} from 'node:test';
import {runCrawler} from '../../src/runner/run-crawler.js';
import {startServer} from '../sites/start-server.js';
import {captureLog, demoSite, formCrawler, tempStorage, tokenCrawler} from './helpers.js';

interface Seen {
	readonly path: string;
	readonly cookie: string | undefined;
	readonly authorization: string | undefined;
}

/** Another origin that records the credential headers of every request it gets. */
async function recordingServer(t: test.TestContext): Promise<{url: string; seen: Seen[]}> {
	const seen: Seen[] = [];
	const {url} = await startServer(t, (request: http.IncomingMessage, response: http.ServerResponse) => {
		seen.push({path: request.url ?? '', cookie: request.headers.cookie, authorization: request.headers.authorization});
		response.setHeader('content-type', 'text/html; charset=utf-8');
		response.end('<!doctype html><title>elsewhere</title><h1>elsewhere</h1>');
	});
	return {url, seen};
}

/** The same server under another host name: a cookie jar keys cookies by host, not by port. */
function asLocalhost(url: string): string {
	return url.replace('127.0.0.1', 'localhost');
}

const noop = async () => {};

describe('credentials never leave their origin', () => {
	test('form login: a redirect to another host carries no Cookie header', async (t) => {
		const site = await demoSite(t, {books: 5});
		const other = await recordingServer(t);
		const target = `${asLocalhost(other.url)}/landing`;
		const log = captureLog();
		const summary = await runCrawler(
			formCrawler(site, {
				startUrls: [`${site.url}/redirect-out?to=${encodeURIComponent(target)}`],
				routes: {default: noop},
			}),
			{storageDir: tempStorage(t), log},
		);
		assert.equal(summary.state, 'finished', log.lines.join('\n'));
		assert.equal(summary.requests.done, 1, log.lines.join('\n'));
		assert.equal(site.stats.loginSuccess, 1);
		const hop = site.stats.log.find((entry) => entry.path.startsWith('/redirect-out'));
		assert.equal(hop?.hasCookie, true, 'the first hop had the session cookie');
		assert.deepEqual(other.seen, [{path: '/landing', cookie: undefined, authorization: undefined}]);
	});

	test('form login: a redirect to the same host on another port carries no Cookie header', async (t) => {
		// Cookie rules ignore ports; crawljar does not: another port is another origin.
		const site = await demoSite(t, {books: 5});
		const other = await recordingServer(t);
		const summary = await runCrawler(
			formCrawler(site, {
				startUrls: [`${site.url}/redirect-out?to=${encodeURIComponent(`${other.url}/other-port`)}`],
				routes: {default: noop},
			}),
			{storageDir: tempStorage(t)},
		);
		assert.equal(summary.requests.done, 1);
		assert.equal(site.stats.log.find((entry) => entry.path.startsWith('/redirect-out'))?.hasCookie, true);
		assert.deepEqual(other.seen, [{path: '/other-port', cookie: undefined, authorization: undefined}]);
	});

	test('token login: a redirect to another origin carries no Authorization header', async (t) => {
		const site = await demoSite(t, {books: 2});
		const other = await recordingServer(t);
		const log = captureLog();
		const summary = await runCrawler(
			tokenCrawler(site, {
				startUrls: [
					{url: `${site.url}/redirect-out?to=${encodeURIComponent(`${other.url}/same-host`)}`, label: 'out'},
					{url: `${site.url}/redirect-out?to=${encodeURIComponent(`${asLocalhost(other.url)}/other-host`)}`, label: 'out'},
				],
				routes: {out: noop},
			}),
			{storageDir: tempStorage(t), log},
		);
		assert.equal(summary.state, 'finished', log.lines.join('\n'));
		assert.equal(summary.requests.done, 2, log.lines.join('\n'));
		assert.equal(site.stats.tokenLogin, 1);
		const hops = site.stats.log.filter((entry) => entry.path.startsWith('/redirect-out'));
		assert.deepEqual(hops.map((entry) => entry.hasAuthorization), [true, true], 'the first hop had the bearer token');
		assert.deepEqual(
			[...other.seen].sort((a, b) => a.path.localeCompare(b.path)),
			[
				{path: '/other-host', cookie: undefined, authorization: undefined},
				{path: '/same-host', cookie: undefined, authorization: undefined},
			],
		);
	});

	test('a link enqueued to another origin (sameOrigin: false) gets no Authorization header', async (t) => {
		const site = await demoSite(t, {books: 2});
		const other = await recordingServer(t);
		const log = captureLog();
		const summary = await runCrawler(
			tokenCrawler(site, {
				routes: {
					list: async ({enqueue}) => {
						await enqueue({urls: [`${other.url}/linked`, `${asLocalhost(other.url)}/linked-host`], label: 'out', sameOrigin: false});
					},
					out: noop,
				},
			}),
			{storageDir: tempStorage(t), log},
		);
		assert.equal(summary.state, 'finished', log.lines.join('\n'));
		assert.equal(summary.requests.done, 3, log.lines.join('\n'));
		assert.equal(site.stats.apiRequests, 1, 'the API itself got the token');
		assert.deepEqual(
			[...other.seen].sort((a, b) => a.path.localeCompare(b.path)),
			[
				{path: '/linked', cookie: undefined, authorization: undefined},
				{path: '/linked-host', cookie: undefined, authorization: undefined},
			],
		);
	});

	/**
	 * An evil origin on another port of 127.0.0.1: /plant sets a cookie of its own and sends the
	 * crawler back to the site, which redirects to /hop (an OAuth-style round trip); /linked is
	 * reached by a link enqueued with sameOrigin: false. It records what it receives.
	 */
	async function evilServer(t: test.TestContext, site: {url: string}): Promise<{url: string; seen: Seen[]}> {
		const seen: Seen[] = [];
		const {url} = await startServer(t, (request: http.IncomingMessage, response: http.ServerResponse) => {
			const path = request.url ?? '';
			seen.push({path, cookie: request.headers.cookie, authorization: request.headers.authorization});
			if (path === '/plant') {
				response.setHeader('set-cookie', 'evil=planted; Path=/');
				response.writeHead(302, {location: `${site.url}/redirect-out?to=${encodeURIComponent(`${url}/hop`)}`});
				response.end();
				return;
			}
			response.setHeader('content-type', 'text/html; charset=utf-8');
			response.end('<!doctype html><title>evil</title><h1>evil</h1>');
		});
		return {url, seen};
	}

	const evilRoutes = (evil: {url: string}) => ({
		default: async ({enqueue}: {enqueue: (options: {urls: string[]; label: string; sameOrigin: boolean}) => Promise<unknown>}) => {
			await enqueue({urls: [`${evil.url}/linked`], label: 'out', sameOrigin: false});
		},
		out: noop,
	});

	for (const kind of ['form', 'token'] as const) {
		test(`${kind} login: an origin that set a cookie of its own still never gets the login cookie or Authorization`, async (t) => {
			const site = await demoSite(t, {books: 2});
			const evil = await evilServer(t, site);
			const log = captureLog();
			const crawler = kind === 'form' ? formCrawler : tokenCrawler;
			const summary = await runCrawler(
				crawler(site, {
					startUrls: [`${site.url}/redirect-out?to=${encodeURIComponent(`${evil.url}/plant`)}`],
					routes: evilRoutes(evil),
				}),
				{storageDir: tempStorage(t), log},
			);
			assert.equal(summary.state, 'finished', log.lines.join('\n'));
			assert.equal(summary.requests.done, 2, log.lines.join('\n'));
			const hops = site.stats.log.filter((entry) => entry.path.startsWith('/redirect-out'));
			assert.equal(hops.length, 2, 'the site was visited before and after the evil origin');
			if (kind === 'form') assert.deepEqual(hops.map((entry) => entry.hasCookie), [true, true], 'the site got its own cookie back on both hops');
			else assert.deepEqual(hops.map((entry) => entry.hasAuthorization), [true, true], 'the site got its token on both hops');
			assert.deepEqual(
				[...evil.seen].sort((a, b) => a.path.localeCompare(b.path)),
				[
					{path: '/hop', cookie: 'evil=planted', authorization: undefined},
					{path: '/linked', cookie: 'evil=planted', authorization: undefined},
					{path: '/plant', cookie: undefined, authorization: undefined},
				],
			);
		});
	}
});
