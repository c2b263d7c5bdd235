// A POST answered by a 302 or 303 is followed as a GET without a body, and so without the
// headers that describe one: a GET that says `Content-Type: application/x-www-form-urlencoded`
// and `Content-Length: 0` is what no browser sends (some servers and WAFs refuse it). A 307
// keeps the method, the body and its headers.
import assert from 'node:assert/strict';
import type {IncomingHttpHeaders} from 'node:http';
import {test} from 'node:test';
import {fetchPage} from '../../src/http/fetch.js';
import {startServer} from '../sites/start-server.js';

interface Seen {
	readonly method: string;
	readonly path: string;
	readonly headers: IncomingHttpHeaders;
	readonly body: string;
}

async function startLoginSite(t: Parameters<typeof startServer>[0]) {
	const seen: Seen[] = [];
	const site = await startServer(t, (request, response) => {
		let body = '';
		request.on('data', (chunk: Buffer) => (body += chunk.toString()));
		request.on('end', () => {
			const path = request.url ?? '/';
			seen.push({method: request.method ?? '', path, headers: request.headers, body});
			const status = {'/login-302': 302, '/login-303': 303, '/login-307': 307}[path];
			if (status) {
				response.writeHead(status, {location: '/home'});
				return response.end();
			}
			response.end('home');
		});
	});
	return {...site, seen};
}

for (const status of [302, 303]) {
	test(`POST answered ${status}: the GET that follows has no body headers, the other headers stay`, async (t) => {
		const site = await startLoginSite(t);
		const result = await fetchPage(`${site.url}/login-${status}`, {
			method: 'POST',
			body: 'username=u&password=p',
			headers: {'content-type': 'application/x-www-form-urlencoded', 'x-custom': 'kept', 'Content-Language': 'en'},
			useHeaderGenerator: false,
		});
		assert.equal(result.status, 200);
		assert.equal(result.method, 'GET');
		const [post, get] = site.seen;
		assert.equal(post?.method, 'POST');
		assert.equal(post?.headers['content-type'], 'application/x-www-form-urlencoded');
		assert.equal(post?.body, 'username=u&password=p');
		assert.equal(get?.method, 'GET');
		assert.equal(get?.path, '/home');
		assert.equal(get?.body, '');
		for (const name of ['content-type', 'content-length', 'content-language', 'transfer-encoding']) {
			assert.equal(get?.headers[name], undefined, `${name} is not sent with the GET`);
		}
		assert.equal(get?.headers['x-custom'], 'kept');
	});
}

test('POST answered 307: the method, the body and its content-type go to the next hop', async (t) => {
	const site = await startLoginSite(t);
	const result = await fetchPage(`${site.url}/login-307`, {
		method: 'POST',
		body: 'a=1',
		headers: {'content-type': 'application/x-www-form-urlencoded'},
		useHeaderGenerator: false,
	});
	assert.equal(result.method, 'POST');
	const hop = site.seen[1];
	assert.equal(hop?.method, 'POST');
	assert.equal(hop?.body, 'a=1');
	assert.equal(hop?.headers['content-type'], 'application/x-www-form-urlencoded');
});

test('a GET has no Content-Length (got-scraping adds `Content-Length: 0`); a POST keeps its length; header casing stays got-scraping\'s', async (t) => {
	const raw: string[][] = [];
	const site = await startServer(t, (request, response) => {
		raw.push(request.rawHeaders);
		request.resume();
		request.on('end', () => response.end('ok'));
	});
	await fetchPage(`${site.url}/page`);
	await fetchPage(`${site.url}/form`, {method: 'POST', body: 'a=1', headers: {'content-type': 'application/x-www-form-urlencoded'}});
	await fetchPage(`${site.url}/empty`, {method: 'POST', body: ''});
	const names = (index: number) => raw[index]!.filter((_, i) => i % 2 === 0);
	const value = (index: number, name: string) => raw[index]![raw[index]!.findIndex((each, i) => i % 2 === 0 && each.toLowerCase() === name) + 1];
	assert.ok(!names(0).some((name) => /^(content-length|transfer-encoding)$/i.test(name)), `GET headers: ${names(0).join(', ')}`);
	assert.ok(names(0).includes('User-Agent'), 'browser-like casing (got-scraping) is kept');
	assert.equal(value(1, 'content-length'), '3');
	assert.equal(value(2, 'content-length'), '0', 'an empty POST body is still framed');
});
