// Hostile targets fail one request each, with a clear code, and never stop the run (issue 2,
// "What must hold" 8). The demo site's /bad/* endpoints and a closed port.
import assert from 'node:assert/strict';
import {createServer} from 'node:net';
import {test} from 'node:test';
import {startDemoSite} from '../../demo/site/index.js';
import {crawl} from './crawl.js';

async function demoSite(t: import('node:test').TestContext) {
	const site = await startDemoSite({books: 5, requireLogin: false});
	t.after(() => site.close());
	return site;
}

function pathsOf(site: {stats: {log: {path: string}[]}}): string[] {
	return site.stats.log.map((entry) => entry.path);
}

test('a body over maxBodyBytes fails that request with ERR_BODY_TOO_LARGE; the crawl goes on', async (t) => {
	const site = await demoSite(t);
	const {summary, items, failed} = await crawl(t, {
		name: 'huge',
		// The default limit (10 MiB) against 20 MiB: once streamed (chunked), once declared up front.
		startUrls: [`${site.url}/bad/huge`, `${site.url}/bad/huge?declared=1`, `${site.url}/books/1`, `${site.url}/books/2`],
		routes: {default: async ({request, $, push}) => void (await push({url: request.url, title: $('h1').text()}))},
	});
	assert.equal(summary.state, 'finished');
	assert.deepEqual(items.map((item) => (item as {url: string}).url).sort(), [`${site.url}/books/1`, `${site.url}/books/2`]);
	assert.deepEqual(failed.map((entry) => [entry.url, entry.errorCode, entry.retryCount]).sort(), [
		[`${site.url}/bad/huge`, 'ERR_BODY_TOO_LARGE', 0],
		[`${site.url}/bad/huge?declared=1`, 'ERR_BODY_TOO_LARGE', 0],
	]);
	assert.equal(pathsOf(site).filter((path) => path.startsWith('/bad/huge')).length, 2, 'not retried: it would be as large again');
});

test('a redirect loop and too many redirects fail that request; a short chain is followed', async (t) => {
	const site = await demoSite(t);
	const finalUrls: string[] = [];
	const {summary, failed} = await crawl(t, {
		name: 'redirects',
		startUrls: [`${site.url}/bad/loop`, `${site.url}/bad/redirects?n=30`, `${site.url}/bad/redirects?n=3`],
		maxRedirects: 5,
		routes: {default: async ({response}) => void finalUrls.push(response.url)},
	});
	assert.equal(summary.state, 'finished');
	assert.deepEqual(finalUrls, [`${site.url}/bad/redirects?n=0`]);
	const codes = Object.fromEntries(failed.map((entry) => [new URL(entry.url).pathname + new URL(entry.url).search, entry.errorCode]));
	assert.deepEqual(codes, {'/bad/loop': 'ERR_REDIRECT_LOOP', '/bad/redirects?n=30': 'ERR_TOO_MANY_REDIRECTS'});
	// 1 + maxRedirects hops, then it stops: the chain of 30 is not followed to its end.
	assert.equal(pathsOf(site).filter((path) => path.startsWith('/bad/redirects?n=') && Number(path.split('=')[1]) > 3).length, 6);
});

test('a dead host (connection refused) is retried, then failed with ECONNREFUSED', async (t) => {
	const port = await closedPort();
	const {summary, failed} = await crawl(t, {
		name: 'dead-host',
		startUrls: [`http://127.0.0.1:${port}/`],
		retry: {maxRetries: 2, backoff: {baseMs: 10, capMs: 50}},
		routes: {default: async () => {}},
	});
	assert.equal(summary.state, 'finished');
	assert.equal(failed.length, 1);
	assert.equal(failed[0]!.errorCode, 'ECONNREFUSED');
	assert.equal(failed[0]!.retryCount, 2);
	assert.equal(summary.requests.retried, 2);
});

test('$ on a JSON response fails that request with ERR_NOT_HTML; json on invalid JSON with ERR_NOT_JSON; untouched, neither fails', async (t) => {
	const site = await demoSite(t);
	const {summary, items, failed} = await crawl(t, {
		name: 'not-html',
		startUrls: [
			{url: `${site.url}/bad/json`, label: 'cheerio'},
			{url: `${site.url}/bad/json?again`, label: 'json'},
			{url: `${site.url}/bad/json?body`, label: 'body'},
		],
		routes: {
			cheerio: async ({$, push}) => void (await push({title: $('title').text()})),
			json: async ({json, push}) => void (await push({json})),
			// Nothing is parsed that the handler does not touch.
			body: async ({body, push}) => void (await push({length: body.length})),
		},
	});
	assert.equal(summary.state, 'finished');
	assert.deepEqual(items, [{length: '{"items": [{"id": 1, "title": "Unterminated'.length}]);
	const byLabel = Object.fromEntries(failed.map((entry) => [entry.label, entry]));
	assert.equal(byLabel.cheerio?.errorCode, 'ERR_NOT_HTML');
	assert.match(byLabel.cheerio!.error, /application\/json.*not HTML/);
	assert.equal(byLabel.json?.errorCode, 'ERR_NOT_JSON');
	assert.equal(byLabel.cheerio!.retryCount, 0, 'not retried: the body will not become HTML');
	assert.equal(pathsOf(site).length, 3);
});

function closedPort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const {port} = server.address() as {port: number};
			server.close(() => resolve(port));
		});
	});
}
