// The crawl engine end to end (issue 2, "What must hold" 3): routing, enqueue filters, dedupe,
// depth, the handler context and handler errors, against real servers on 127.0.0.1.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {NonRetryableError} from '../../src/errors.js';
import type {HandlerContext} from '../../src/job/types.js';
import {startServer as startTestServer} from '../sites/start-server.js';
import {counts, crawl, html} from './crawl.js';

/** The test server's origin. */
const startServer = async (...args: Parameters<typeof startTestServer>): Promise<string> => (await startTestServer(...args)).url;

test('the README contract crawler: headers on every request, routes by label, every book once', async (t) => {
	const seen: {path: string; userAgent: string | undefined; apiVersion: string | undefined}[] = [];
	const books = 45;
	const perPage = 20;
	const url = await startServer(t, (request, response) => {
		seen.push({path: request.url!, userAgent: request.headers['user-agent'], apiVersion: request.headers['x-api-version'] as string});
		const address = new URL(request.url!, 'http://x');
		response.setHeader('content-type', 'text/html');
		if (address.pathname === '/catalogue') {
			const page = Number(address.searchParams.get('page') ?? 1);
			const ids = Array.from({length: books}, (_, index) => index + 1).slice((page - 1) * perPage, page * perPage);
			const next = page * perPage < books ? `<a class="next" href="/catalogue?page=${page + 1}">next</a>` : '';
			response.end(html(`${ids.map((id) => `<a class="book" href="/books/${id}">b</a>`).join('')}${next}`));
		} else {
			response.end(html(`<h1>Book ${address.pathname.split('/').pop()}</h1>`));
		}
	});

	const {summary, items, failed} = await crawl(t, {
		name: 'books',
		startUrls: [`${url}/catalogue`],
		headers: {'user-agent': 'my-crawler/1.0', 'x-api-version': 'v2'},
		useHeaderGenerator: true,
		routes: {
			default: async ({enqueue}) => {
				await enqueue({selector: 'a.book', label: 'book'});
				await enqueue({selector: 'a.next'});
			},
			book: async ({request, $, push}) => {
				await push({url: request.url, title: $('h1').text()});
			},
		},
	});

	assert.equal(summary.state, 'finished');
	assert.deepEqual(failed, []);
	assert.equal(seen.length, books + 3, 'three catalogue pages and each book page, once');
	for (const request of seen) {
		assert.equal(request.userAgent, 'my-crawler/1.0', request.path);
		assert.equal(request.apiVersion, 'v2', request.path);
	}
	const expected = Array.from({length: books}, (_, index) => ({url: `${url}/books/${index + 1}`, title: `Book ${index + 1}`}));
	const byUrl = (a: {url: string}, b: {url: string}) => a.url.localeCompare(b.url);
	assert.deepEqual([...(items as {url: string}[])].sort(byUrl), expected.sort(byUrl));
	assert.equal(summary.items, books);
	assert.equal(summary.requests.done, books + 3);
});

test('routing: each label goes to its route, unlabelled to default; userData and depth flow to the handler', async (t) => {
	const url = await startServer(t, (request, response) => {
		response.setHeader('content-type', 'text/html');
		response.end(html(`<p>${request.url}</p>`));
	});
	const calls: {route: string; path: string; userData: unknown; depth: number; label: string | undefined}[] = [];
	const record = (route: string) => async ({request}: HandlerContext) => {
		calls.push({route, path: new URL(request.url).pathname, userData: request.userData, depth: request.depth, label: request.label});
	};
	await crawl(t, {
		name: 'routing',
		startUrls: [{url: `${url}/list`, label: 'list', userData: {from: 'start'}}],
		routes: {
			list: async (context) => {
				await record('list')(context);
				await context.enqueue({urls: ['/detail/1', `${url}/detail/2`], label: 'detail', userData: {kind: 'detail'}});
				await context.enqueue({urls: [{url: '/other', userData: {own: true}}], userData: {kind: 'plain'}});
			},
			detail: record('detail'),
			default: record('default'),
		},
	});
	const byPath = Object.fromEntries(calls.map((call) => [call.path, call]));
	assert.deepEqual(byPath['/list'], {route: 'list', path: '/list', userData: {from: 'start'}, depth: 0, label: 'list'});
	assert.deepEqual(byPath['/detail/1'], {route: 'detail', path: '/detail/1', userData: {kind: 'detail'}, depth: 1, label: 'detail'});
	assert.deepEqual(byPath['/detail/2'], {route: 'detail', path: '/detail/2', userData: {kind: 'detail'}, depth: 1, label: 'detail'});
	assert.deepEqual(byPath['/other'], {route: 'default', path: '/other', userData: {kind: 'plain', own: true}, depth: 1, label: undefined});
	assert.equal(calls.length, 4);
});

test('enqueue filters: selector, globs, regex, sameOrigin (default true, and false)', async (t) => {
	const otherSeen: string[] = [];
	const other = await startServer(t, (request, response) => {
		otherSeen.push(request.url!);
		response.setHeader('content-type', 'text/html');
		response.end(html('other origin'));
	});
	const seen: string[] = [];
	const url = await startServer(t, (request, response) => {
		seen.push(request.url!);
		response.setHeader('content-type', 'text/html');
		if (request.url === '/start') {
			response.end(
				html(`
				<a class="g" href="/keep/a/b">kept by glob</a>
				<a class="g" href="/drop/a">dropped by glob</a>
				<a class="r" href="/item-12">kept by regex</a>
				<a class="r" href="/item-x">dropped by regex</a>
				<a class="o" href="${other}/default-dropped">other origin, default</a>
				<a class="o2" href="${other}/allowed">other origin, sameOrigin false</a>
				<a class="n" href="mailto:someone@example.com">not http</a>
				<a class="n" href="javascript:void(0)">not http</a>
				<img class="n" src="/image-src">
				<span class="unused"><a href="/not-selected">not selected</a></span>`),
			);
		} else {
			response.end(html('leaf'));
		}
	});
	const counted: Record<string, number> = {};
	await crawl(t, {
		name: 'filters',
		startUrls: [{url: `${url}/start`, label: 'start'}],
		routes: {
			start: async ({enqueue}) => {
				counted.glob = await enqueue({selector: 'a.g', globs: [`${url}/keep/**`]});
				counted.regex = await enqueue({selector: 'a.r', regex: /\/item-\d+$/});
				counted.sameOrigin = await enqueue({selector: 'a.o'});
				counted.crossOrigin = await enqueue({selector: 'a.o2', sameOrigin: false});
				counted.notHttp = await enqueue({selector: '.n'});
			},
			default: async () => {},
		},
	});
	assert.deepEqual(counted, {glob: 1, regex: 1, sameOrigin: 0, crossOrigin: 1, notHttp: 1});
	assert.deepEqual(seen.sort(), ['/image-src', '/item-12', '/keep/a/b', '/start']);
	assert.deepEqual(otherSeen, ['/allowed']);
});

test('enqueue resolves relative links against the final URL after a redirect', async (t) => {
	const seen: string[] = [];
	const url = await startServer(t, (request, response) => {
		seen.push(request.url!);
		if (request.url === '/start') {
			response.statusCode = 302;
			response.setHeader('location', '/section/deep/page');
			return response.end();
		}
		response.setHeader('content-type', 'text/html');
		if (request.url === '/section/deep/page') return response.end(html('<a href="sibling">s</a><a href="../up">u</a>'));
		response.end(html('leaf'));
	});
	const finalUrls: string[] = [];
	await crawl(t, {
		name: 'relative',
		startUrls: [{url: `${url}/start`, label: 'start'}],
		routes: {
			start: async ({request, response, enqueue}) => {
				finalUrls.push(request.url, response.url);
				await enqueue({selector: 'a'});
			},
			default: async () => {},
		},
	});
	assert.deepEqual(finalUrls, [`${url}/start`, `${url}/section/deep/page`]);
	assert.deepEqual(seen.sort(), ['/section/deep/page', '/section/deep/sibling', '/section/up', '/start']);
});

test('dedupe: the fragment is dropped, the query kept, across pages', async (t) => {
	const seen: string[] = [];
	const url = await startServer(t, (request, response) => {
		seen.push(request.url!);
		response.setHeader('content-type', 'text/html');
		if (request.url === '/a' || request.url === '/b') {
			return response.end(html('<a href="/p#one">1</a><a href="/p#two">2</a><a href="/p">3</a><a href="/p?q=1">4</a><a href="/p?q=1#x">5</a><a href="/p?q=2">6</a>'));
		}
		response.end(html('leaf'));
	});
	await crawl(t, {
		name: 'dedupe',
		startUrls: [{url: `${url}/a`, label: 'hub'}, {url: `${url}/b`, label: 'hub'}, `${url}/a#again`],
		routes: {hub: async ({enqueue}) => void (await enqueue({selector: 'a'})), default: async () => {}},
	});
	assert.deepEqual(
		[...counts(seen)].sort(),
		[['/a', 1], ['/b', 1], ['/p', 1], ['/p?q=1', 1], ['/p?q=2', 1]],
		'each normalized URL fetched once: the start URL /a#again is /a',
	);
});

test('dedupe: a custom uniqueKey decides what counts as the same request', async (t) => {
	const seen: string[] = [];
	const url = await startServer(t, (request, response) => {
		seen.push(request.url!);
		response.setHeader('content-type', 'text/html');
		if (request.url === '/hub') return response.end(html('<a href="/item?session=1">1</a><a href="/item?session=2">2</a><a href="/other?session=3">3</a>'));
		response.end(html('leaf'));
	});
	await crawl(t, {
		name: 'unique-key',
		startUrls: [{url: `${url}/hub`, label: 'hub'}],
		routes: {
			hub: async ({enqueue}) => void (await enqueue({selector: 'a', uniqueKey: (link) => new URL(link).pathname})),
			default: async () => {},
		},
	});
	assert.deepEqual(seen.sort(), ['/hub', '/item?session=1', '/other?session=3']);
});

test('maxDepth: links deeper than the limit are not enqueued', async (t) => {
	const seen: string[] = [];
	const url = await startServer(t, (request, response) => {
		seen.push(request.url!);
		const level = Number(request.url!.split('/').pop());
		response.setHeader('content-type', 'text/html');
		response.end(html(`<a href="/d/${level + 1}">next</a>`));
	});
	const depths: number[] = [];
	await crawl(t, {
		name: 'depth',
		startUrls: [`${url}/d/0`],
		maxDepth: 3,
		routes: {
			default: async ({request, enqueue}) => {
				depths.push(request.depth);
				await enqueue({selector: 'a'});
			},
		},
	});
	assert.deepEqual(seen, ['/d/0', '/d/1', '/d/2', '/d/3']);
	assert.deepEqual(depths, [0, 1, 2, 3]);
});

test('handler context: retryCount counts failed attempts, response has the final url, status and headers, json is parsed on access', async (t) => {
	let apiHits = 0;
	const url = await startServer(t, (request, response) => {
		if (request.url === '/moved') {
			response.statusCode = 301;
			response.setHeader('location', '/api/data?x=1');
			return response.end();
		}
		apiHits++;
		response.setHeader('content-type', 'application/json');
		response.setHeader('x-served-by', 'test');
		response.end(JSON.stringify({hits: apiHits, nested: {ok: true}}));
	});
	const attempts: {retryCount: number; status: number; finalUrl: string; servedBy: unknown}[] = [];
	const {items, failed} = await crawl(t, {
		name: 'context',
		startUrls: [`${url}/moved`],
		routes: {
			default: async ({request, response, json, body, push}) => {
				attempts.push({retryCount: request.retryCount, status: response.status, finalUrl: response.url, servedBy: response.headers['x-served-by']});
				if (request.retryCount < 2) throw new Error(`flaky ${request.retryCount}`);
				await push({json, isBodyJson: body.startsWith('{')});
			},
		},
	});
	assert.deepEqual(attempts, [0, 1, 2].map((retryCount) => ({retryCount, status: 200, finalUrl: `${url}/api/data?x=1`, servedBy: 'test'})));
	assert.deepEqual(items, [{json: {hits: 3, nested: {ok: true}}, isBodyJson: true}]);
	assert.deepEqual(failed, []);
});

test('a handler that keeps throwing is retried up to maxRetries, then recorded failed with its error; the run goes on', async (t) => {
	const seen: string[] = [];
	const url = await startServer(t, (request, response) => {
		seen.push(request.url!);
		response.setHeader('content-type', 'text/html');
		response.end(html(`<h1>${request.url}</h1>`));
	});
	const {summary, items, failed} = await crawl(t, {
		name: 'throws',
		startUrls: [`${url}/ok-1`, `${url}/broken`, `${url}/ok-2`],
		retry: {maxRetries: 2, backoff: {baseMs: 10, capMs: 50}},
		routes: {
			default: async ({request, $, push}) => {
				if (request.url.endsWith('/broken')) throw new TypeError('cannot read the price of undefined');
				await push({title: $('h1').text()});
			},
		},
	});
	assert.equal(summary.state, 'finished');
	assert.equal(counts(seen).get('/broken'), 3, 'one attempt and two retries');
	assert.deepEqual(items.map((item) => (item as {title: string}).title).sort(), ['/ok-1', '/ok-2']);
	assert.equal(failed.length, 1);
	assert.equal(failed[0]!.url, `${url}/broken`);
	assert.equal(failed[0]!.errorCode, 'ERR_HANDLER');
	assert.equal(failed[0]!.retryCount, 2);
	assert.match(failed[0]!.error, /cannot read the price of undefined/);
	assert.deepEqual(summary.requests, {done: 2, failed: 1, retried: 2});
	assert.deepEqual(summary.topErrors.map((error) => [error.code, error.count]), [['ERR_HANDLER', 1]]);
});

test('NonRetryableError fails the request at once', async (t) => {
	const seen: string[] = [];
	const url = await startServer(t, (request, response) => {
		seen.push(request.url!);
		response.setHeader('content-type', 'text/html');
		response.end(html('gone'));
	});
	const {failed} = await crawl(t, {
		name: 'non-retryable',
		startUrls: [`${url}/gone`],
		retry: {maxRetries: 5, backoff: {baseMs: 10, capMs: 50}},
		routes: {
			default: async () => {
				throw new NonRetryableError('product was removed');
			},
		},
	});
	assert.deepEqual(seen, ['/gone']);
	assert.equal(failed.length, 1);
	assert.equal(failed[0]!.errorCode, 'ERR_HANDLER');
	assert.equal(failed[0]!.retryCount, 0);
	assert.match(failed[0]!.error, /product was removed/);
});

test('a non-serializable push() fails only that request; the others keep their items', async (t) => {
	const seen: string[] = [];
	const url = await startServer(t, (request, response) => {
		seen.push(request.url!);
		response.setHeader('content-type', 'text/html');
		response.end(html('x'));
	});
	const {summary, items, failed} = await crawl(t, {
		name: 'serializable',
		startUrls: [`${url}/circular`, `${url}/bigint`, `${url}/fine-1`, `${url}/fine-2`],
		concurrency: 1,
		routes: {
			default: async ({request, push}) => {
				const path = new URL(request.url).pathname;
				if (path === '/circular') {
					const item: Record<string, unknown> = {path};
					item.self = item;
					await push([{path: '/circular-ok-part'}, item]);
				} else if (path === '/bigint') {
					await push({path, big: 10n});
				} else {
					await push({path});
				}
			},
		},
	});
	assert.equal(summary.state, 'finished');
	assert.deepEqual(items, [{path: '/fine-1'}, {path: '/fine-2'}], 'nothing of a failed request is stored, not even its valid items');
	assert.deepEqual(failed.map((entry) => [new URL(entry.url).pathname, entry.errorCode]).sort(), [
		['/bigint', 'ERR_HANDLER'],
		['/circular', 'ERR_HANDLER'],
	]);
	for (const entry of failed) assert.match(entry.error, /not JSON-serializable/);
	assert.equal(seen.length, 4, 'not retried: the same item would fail again');
});
