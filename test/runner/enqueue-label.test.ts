// enqueue() with a label no route handles fails that handler at once (issue 9 item 3): before,
// the 20 links of the page were stored, each fetched, each failed `no route for label 'isue'`.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {startServer} from '../sites/start-server.js';
import {crawl, html} from './crawl.js';

const links = Array.from({length: 20}, (_, index) => `<a class="issue" href="/issues/${index + 1}">#${index + 1}</a>`).join('');

test("enqueue({label: 'isue'}) with no such route fails the handler at once, naming the label; no link is stored or fetched", async (t) => {
	const seen: string[] = [];
	const site = await startServer(t, (request, response) => {
		seen.push(request.url ?? '');
		response.setHeader('content-type', 'text/html');
		response.end(html(request.url === '/' ? links : '<h1>issue</h1>'));
	});
	let handlerError: unknown;
	const {summary, failed, items} = await crawl(t, {
		name: 'typo-label',
		startUrls: [`${site.url}/`],
		routes: {
			default: async ({enqueue}) => {
				try {
					await enqueue({selector: 'a.issue', label: 'isue'});
				} catch (error) {
					handlerError = error;
					throw error;
				}
			},
			issue: async ({push, request}) => void (await push({url: request.url})),
		},
	});
	assert.equal(summary.state, 'finished');
	assert.deepEqual(seen, ['/'], 'the page is fetched once (not retried) and none of its links');
	assert.deepEqual(items, []);
	assert.equal((handlerError as {code?: string}).code, 'ERR_NO_ROUTE');
	assert.match((handlerError as Error).message, /no route for label 'isue' \(routes: 'default', 'issue'\)/);
	assert.deepEqual(
		failed.map((entry) => [entry.url, entry.errorCode, entry.retryCount]),
		[[`${site.url}/`, 'ERR_NO_ROUTE', 0]],
	);
	assert.match(failed[0]!.error, /'isue'/);
});

test('enqueue() without a label and without a default route fails at once; per-URL labels are checked too', async (t) => {
	const seen: string[] = [];
	const site = await startServer(t, (request, response) => {
		seen.push(request.url ?? '');
		response.setHeader('content-type', 'text/html');
		response.end(html(links));
	});
	const {failed} = await crawl(t, {
		name: 'no-default',
		startUrls: [
			{url: `${site.url}/a`, label: 'list'},
			{url: `${site.url}/b`, label: 'urls'},
			{url: `${site.url}/c`, label: 'fine'},
		],
		routes: {
			list: async ({enqueue}) => void (await enqueue({selector: 'a.issue'})),
			urls: async ({enqueue}) => void (await enqueue({urls: [{url: '/issues/1', label: 'list'}, {url: '/issues/2', label: 'lst'}]})),
			// A label that exists: links are stored and fetched as usual.
			fine: async ({enqueue, request}) => {
				if (request.url.endsWith('/c')) await enqueue({urls: ['/issues/3'], label: 'fine'});
			},
		},
	});
	assert.deepEqual(
		failed.map((entry) => [new URL(entry.url).pathname, entry.errorCode, entry.retryCount]).sort(),
		[
			['/a', 'ERR_NO_ROUTE', 0],
			['/b', 'ERR_NO_ROUTE', 0],
		],
	);
	assert.match(failed.find((entry) => entry.url.endsWith('/a'))!.error, /without a label needs a `default` route/);
	assert.match(failed.find((entry) => entry.url.endsWith('/b'))!.error, /no route for label 'lst'/);
	assert.deepEqual(seen.sort(), ['/a', '/b', '/c', '/issues/3']);
});
