import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {request as httpRequest, Agent} from 'node:http';
import {createInterface} from 'node:readline';
import {fileURLToPath} from 'node:url';
import {test} from 'node:test';
import {expectedBook, HUGE_BODY_BYTES} from '../../demo/site/index.js';
import {postJson} from './client.js';
import {startTestSite} from './demo.js';
import {startServer} from './start-server.js';

interface Tokens {
	access_token: string;
	refresh_token: string;
	expires_in: number;
}

async function tokenLogin(url: string): Promise<Tokens> {
	const response = await postJson(`${url}/api/auth/login`, {username: 'demo', password: 'demo-password'});
	assert.equal(response.status, 200);
	return ((await response.json()) as {data: Tokens}).data;
}

const bearer = (token: string): RequestInit => ({headers: {authorization: `Bearer ${token}`}});

test('token login returns a JWT whose payload carries exp; the books API pages with next', async (t) => {
	const site = await startTestSite(t, {books: 45, accessTokenTtlMs: 30_000});
	const before = Date.now();
	const tokens = await tokenLogin(site.url);
	assert.equal(tokens.expires_in, 30);
	const [header, payload, signature] = tokens.access_token.split('.');
	assert.deepEqual(JSON.parse(Buffer.from(header ?? '', 'base64url').toString()), {alg: 'HS256', typ: 'JWT'});
	const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as {exp: number; sub: string};
	assert.equal(claims.sub, 'demo');
	assert.ok(claims.exp >= Math.floor(before / 1000) + 29 && claims.exp <= Math.ceil(Date.now() / 1000) + 30);
	assert.match(signature ?? '', /^[\w-]{43}$/);

	const first = (await (await fetch(`${site.url}/api/books`, bearer(tokens.access_token))).json()) as {items: Array<{id: number; title: string; price: number}>; next: string | null};
	assert.equal(first.items.length, 20);
	assert.deepEqual(first.items[0], {id: 1, title: expectedBook(1).title, price: expectedBook(1).price});
	assert.equal(first.next, '/api/books?page=2');
	const last = (await (await fetch(`${site.url}/api/books?page=3`, bearer(tokens.access_token))).json()) as {items: unknown[]; next: string | null};
	assert.equal(last.items.length, 5);
	assert.equal(last.next, null);
	const book = await (await fetch(`${site.url}/api/books/7`, bearer(tokens.access_token))).json();
	const {title, price, stock, rating, category} = expectedBook(7);
	assert.deepEqual(book, {id: 7, title, price, stock, rating, category});
	assert.equal((await fetch(`${site.url}/api/books/46`, bearer(tokens.access_token))).status, 404);
	assert.equal(site.stats.tokenLogin, 1);
	assert.equal(site.stats.apiRequests, 4);
});

test('the token API rejects bad credentials, a missing token and an unknown one', async (t) => {
	const site = await startTestSite(t);
	const wrong = await postJson(`${site.url}/api/auth/login`, {username: 'demo', password: 'x'});
	assert.equal(wrong.status, 401);
	assert.deepEqual(await wrong.json(), {error: 'invalid_credentials'});
	const missing = await fetch(`${site.url}/api/books`);
	assert.equal(missing.status, 401);
	assert.equal(missing.headers.get('www-authenticate'), 'Bearer');
	assert.deepEqual(await missing.json(), {error: 'missing_token'});
	assert.deepEqual(await (await fetch(`${site.url}/api/books`, bearer('a.b.c'))).json(), {error: 'invalid_token'});
	const malformed = await fetch(`${site.url}/api/auth/login`, {method: 'POST', body: '{nope'});
	assert.equal(malformed.status, 400);
	assert.equal(site.stats.tokenLoginFailure, 1);
	assert.equal(site.stats.sent401, 3);
});

test('an expired access token gets 401 token_expired; stale ones are counted after a refresh', async (t) => {
	const site = await startTestSite(t, {accessTokenTtlMs: 100});
	const tokens = await tokenLogin(site.url);
	assert.equal((await fetch(`${site.url}/api/books`, bearer(tokens.access_token))).status, 200);
	await new Promise((resolve) => setTimeout(resolve, 150));
	const expired = await fetch(`${site.url}/api/books`, bearer(tokens.access_token));
	assert.equal(expired.status, 401);
	assert.deepEqual(await expired.json(), {error: 'token_expired'});
	assert.equal(site.stats.staleTokenRequests, 0, 'no newer token existed yet');
	const refreshed = await postJson(`${site.url}/api/auth/refresh`, {refresh_token: tokens.refresh_token});
	const next = ((await refreshed.json()) as {data: Tokens}).data;
	assert.equal((await fetch(`${site.url}/api/books`, bearer(next.access_token))).status, 200);
	assert.equal((await fetch(`${site.url}/api/books`, bearer(tokens.access_token))).status, 401);
	assert.equal(site.stats.staleTokenRequests, 1);
});

test('refresh rotates both tokens; reusing a rotated refresh token revokes the family', async (t) => {
	const site = await startTestSite(t);
	const first = await tokenLogin(site.url);
	const rotated = await postJson(`${site.url}/api/auth/refresh`, {refresh_token: first.refresh_token});
	assert.equal(rotated.status, 200);
	const second = ((await rotated.json()) as {data: Tokens}).data;
	assert.notEqual(second.access_token, first.access_token);
	assert.notEqual(second.refresh_token, first.refresh_token);
	assert.equal((await fetch(`${site.url}/api/books/1`, bearer(second.access_token))).status, 200);

	const reused = await postJson(`${site.url}/api/auth/refresh`, {refresh_token: first.refresh_token});
	assert.equal(reused.status, 401);
	assert.deepEqual(await reused.json(), {error: 'refresh_token_reused'});
	const revoked = await postJson(`${site.url}/api/auth/refresh`, {refresh_token: second.refresh_token});
	assert.deepEqual(await revoked.json(), {error: 'refresh_token_revoked'});
	assert.deepEqual(await (await fetch(`${site.url}/api/books/1`, bearer(second.access_token))).json(), {error: 'invalid_token'});
	assert.deepEqual(await (await postJson(`${site.url}/api/auth/refresh`, {refresh_token: 'nope'})).json(), {error: 'invalid_refresh_token'});
	// Another login is a new family, untouched by the revocation.
	const other = await tokenLogin(site.url);
	assert.equal((await fetch(`${site.url}/api/books/1`, bearer(other.access_token))).status, 200);
	assert.equal(site.stats.tokenRefresh, 1);
	assert.equal(site.stats.refreshReuseRejected, 1);
});

test('the rate limiter answers 429 past perSecond, with Retry-After unless disabled', async (t) => {
	for (const retryAfter of [true, false]) {
		const site = await startTestSite(t, {requireLogin: false, rateLimit: {perSecond: 5, retryAfter}});
		const responses = await Promise.all(Array.from({length: 8}, () => fetch(`${site.url}/books/1`)));
		const limited = responses.filter((response) => response.status === 429);
		// Generous bound: on a slow machine the one-second window might roll over mid-burst.
		assert.ok(limited.length >= 1 && limited.length <= 3, `${limited.length} limited`);
		assert.equal(responses.filter((response) => response.status === 200).length, 8 - limited.length);
		assert.equal(limited[0]?.headers.get('retry-after'), retryAfter ? '1' : null);
		assert.equal(site.stats.sent429, limited.length);
		await Promise.all(responses.map((response) => response.arrayBuffer()));
	}
});

test('bad endpoints: huge body, redirect loop and chain, broken cookies, JSON and binary', async (t) => {
	const site = await startTestSite(t);
	const huge = await fetch(`${site.url}/bad/huge`);
	assert.equal(huge.headers.get('content-length'), null);
	assert.equal((await huge.arrayBuffer()).byteLength, HUGE_BODY_BYTES);
	const declared = await fetch(`${site.url}/bad/huge?declared=1`);
	assert.equal(declared.headers.get('content-length'), String(HUGE_BODY_BYTES));
	await declared.body?.cancel();

	const loopA = await fetch(`${site.url}/bad/loop`, {redirect: 'manual'});
	assert.equal(loopA.headers.get('location'), '/bad/loop/b');
	const loopB = await fetch(`${site.url}/bad/loop/b`, {redirect: 'manual'});
	assert.equal(loopB.headers.get('location'), '/bad/loop');
	let hops = 0;
	for (let path = '/bad/redirects'; ; hops++) {
		const response = await fetch(site.url + path, {redirect: 'manual'});
		if (response.status !== 302) break;
		path = response.headers.get('location') ?? '';
	}
	assert.equal(hops, 30);

	const cookies = (await fetch(`${site.url}/bad/cookie`)).headers.getSetCookie();
	assert.ok(cookies.includes('=;;;'));
	assert.ok(cookies.some((line) => line.includes('Domain=example.com')));
	assert.ok(cookies.some((line) => line.length > 10 * 1024));
	const json = await fetch(`${site.url}/bad/json`);
	assert.match(json.headers.get('content-type') ?? '', /^application\/json/);
	await assert.rejects(json.json(), SyntaxError);
	const binary = await fetch(`${site.url}/bad/binary`);
	assert.equal(binary.headers.get('content-type'), 'application/octet-stream');
	assert.equal((await binary.arrayBuffer()).byteLength, 64 * 1024);
	const out = await fetch(`${site.url}/redirect-out?to=${encodeURIComponent('http://other.invalid/x')}`, {redirect: 'manual'});
	assert.equal(out.status, 302);
	assert.equal(out.headers.get('location'), 'http://other.invalid/x');
});

test('bad endpoints: /bad/reset drops the socket, /bad/hang never answers yet close() ends it', async (t) => {
	const site = await startTestSite(t);
	await assert.rejects(fetch(`${site.url}/bad/reset`));
	const agent = new Agent({keepAlive: true});
	const hanging = new Promise<string>((resolve) => {
		httpRequest(`${site.url}/bad/hang`, {agent}, () => resolve('answered')).on('error', () => resolve('closed')).end();
	});
	await new Promise((resolve) => setTimeout(resolve, 100));
	assert.equal(site.stats.log.at(-1)?.path, '/bad/hang');
	assert.equal(site.stats.log.at(-1)?.status, 0);
	await site.close();
	assert.equal(await hanging, 'closed');
	agent.destroy();
});

test('serve.ts prints the URL as one JSON line and stops on SIGTERM', async () => {
	const serve = fileURLToPath(new URL('../../demo/site/serve.ts', import.meta.url));
	const child = spawn(process.execPath, ['--import', 'tsx', serve, '--books', '50', '--page-bytes', '5000', '--port', '0', '--logout-style', '401'], {
		stdio: ['ignore', 'pipe', 'inherit'],
	});
	const line = await new Promise<string>((resolve) => createInterface({input: child.stdout}).once('line', resolve));
	const {url} = JSON.parse(line) as {url: string};
	assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
	assert.equal((await fetch(`${url}/catalogue`)).status, 401);
	const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
	child.kill('SIGTERM');
	assert.equal(await exited, 0);
});

test('startServer serves on 127.0.0.1 and close() also ends idle keep-alive connections', async (t) => {
	const seen: string[] = [];
	const server = await startServer(t, (request, response) => {
		seen.push(request.url ?? '');
		response.end('ok');
	});
	assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
	const agent = new Agent({keepAlive: true});
	const body = await new Promise<string>((resolve, reject) => {
		httpRequest(`${server.url}/x`, {agent}, (response) => {
			response.setEncoding('utf8');
			let text = '';
			response.on('data', (chunk: string) => (text += chunk));
			response.on('end', () => resolve(text));
		}).on('error', reject).end();
	});
	assert.equal(body, 'ok');
	const started = Date.now();
	await server.close();
	assert.ok(Date.now() - started < 2_000, 'close() did not wait for the keep-alive timeout');
	assert.deepEqual(seen, ['/x']);
	agent.destroy();
});
