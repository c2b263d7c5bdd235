import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {setTimeout as delay} from 'node:timers/promises';
import {describe, test} from 'node:test';
import {CookieJar} from 'tough-cookie';
import {cookieHeader, TrackedCookieStore} from '../../src/http/cookie-header.js';
import {cookieOrigin, OriginCookieJar} from '../../src/http/cookie-origin.js';
import {fetchPage} from '../../src/http/fetch.js';
import {newJar} from '../../src/sessions/session.js';
import {startServer} from '../sites/start-server.js';

interface ParserCase {
	readonly test: string;
	readonly received: readonly string[];
	readonly 'sent-to'?: string;
}

const cases = JSON.parse(readFileSync(new URL('../fixtures/http-state/parser.json', import.meta.url), 'utf8')) as ParserCase[];

/** The header through the cache, asked twice (a miss, then a hit), and what tough-cookie itself says. */
function headers(jar: CookieJar, url: string): {first: string; second: string; reference: string} {
	const reference = jar.getCookieStringSync(url);
	return {first: cookieHeader(jar, url, new URL(url)), second: cookieHeader(jar, url, new URL(url)), reference};
}

describe('cookieHeader', () => {
	test('session jars use the tracked store', () => {
		assert.ok(newJar().store instanceof TrackedCookieStore);
	});

	test('gives what getCookieStringSync gives on every http-state parser case, on a miss and on a hit', () => {
		assert.equal(cases.length, 222);
		for (const testCase of cases) {
			const from = `http://home.example.org:8888/cookie-parser?${testCase.test}`;
			const jar = newJar();
			for (const line of testCase.received) jar.setCookieSync(line, from, {ignoreError: true});
			const url = new URL(testCase['sent-to'] ?? `/cookie-parser-result?${testCase.test}`, from).href;
			const {first, second, reference} = headers(jar, url);
			assert.equal(first, reference, testCase.test);
			assert.equal(second, reference, testCase.test);
		}
	});

	test('a write to the jar (set, replace, remove, remove all) shows in the next header', () => {
		const jar = newJar();
		const url = 'http://shop.test/books/1';
		jar.setCookieSync('sid=1; Path=/', url);
		assert.equal(headers(jar, url).second, 'sid=1');
		jar.setCookieSync('sid=2; Path=/', url);
		jar.setCookieSync('consent=yes; Path=/', url);
		assert.equal(headers(jar, url).second, 'sid=2; consent=yes');
		jar.store.removeCookie('shop.test', '/', 'sid', () => {});
		assert.equal(headers(jar, url).second, 'consent=yes');
		jar.removeAllCookiesSync();
		assert.equal(headers(jar, url).second, '');
	});

	test('scheme, host and path still decide: Secure, other hosts, a cookie with its own path', () => {
		const jar = newJar();
		jar.setCookieSync('sid=1; Path=/', 'https://shop.test/');
		jar.setCookieSync('secret=1; Path=/; Secure', 'https://shop.test/');
		assert.deepEqual(headers(jar, 'https://shop.test/a').second, 'sid=1; secret=1');
		assert.deepEqual(headers(jar, 'http://shop.test/a').second, '', 'https is another origin (and Secure would stay off http anyway)');
		assert.deepEqual(headers(jar, 'https://other.test/a').second, '');
		jar.setCookieSync('admin=1; Path=/admin', 'https://shop.test/admin/');
		for (const url of ['https://shop.test/admin/users', 'https://shop.test/books/1', 'https://shop.test/admin/x', 'https://shop.test/']) {
			const {first, second, reference} = headers(jar, url);
			assert.equal(first, reference, url);
			assert.equal(second, reference, url);
		}
		assert.equal(headers(jar, 'https://shop.test/admin/users').second, 'admin=1; sid=1; secret=1');
	});

	test('an expired cookie is not sent from the cache, and reads move lastAccessed as tough-cookie does', async () => {
		const jar = newJar();
		const url = 'http://shop.test/books/1';
		jar.setCookieSync('short=1; Path=/; Max-Age=1', url);
		jar.setCookieSync('sid=1; Path=/', url);
		assert.equal(cookieHeader(jar, url, new URL(url)), 'short=1; sid=1');
		const [before] = jar.getCookiesSync(url);
		const accessedBefore = before!.lastAccessed;
		await delay(50);
		assert.equal(cookieHeader(jar, url, new URL(url)), 'short=1; sid=1');
		assert.ok(before!.lastAccessed instanceof Date && accessedBefore instanceof Date && before!.lastAccessed > accessedBefore, 'a hit marks the cookies accessed');
		// Max-Age counts from the last access in tough-cookie: leave the jar untouched past it.
		await delay(1100);
		assert.equal(cookieHeader(jar, url, new URL(url)), 'sid=1');
		assert.equal(jar.getCookieStringSync(url), 'sid=1');
	});

	test('a jar with another store is asked every time', () => {
		const jar = new OriginCookieJar();
		const url = 'http://shop.test/';
		jar.setCookieSync('sid=1', url);
		assert.equal(cookieHeader(jar, url, new URL(url)), 'sid=1');
		jar.setCookieSync('sid=2', url);
		assert.equal(cookieHeader(jar, url, new URL(url)), 'sid=2');
	});

	test('a cookie goes to the origin that set it, port included; a Domain= cookie to its hosts on that scheme and port', () => {
		const jar = newJar();
		jar.setCookieSync('login=L; Path=/', 'http://127.0.0.1:8080/login');
		jar.setCookieSync('own=E; Path=/', 'http://127.0.0.1:9999/');
		jar.setCookieSync('wide=W; Path=/; Domain=shop.test', 'http://www.shop.test:8080/');
		const sent = (url: string) => headers(jar, url);
		assert.equal(sent('http://127.0.0.1:8080/a').second, 'login=L');
		assert.equal(sent('http://127.0.0.1:9999/a').second, 'own=E', 'the other port gets its own cookie, never the login cookie');
		assert.equal(sent('http://127.0.0.1/a').second, '');
		assert.equal(sent('https://127.0.0.1:8080/a').second, '', 'another scheme is another origin');
		assert.equal(sent('http://api.shop.test:8080/').second, 'wide=W');
		assert.equal(sent('http://shop.test:8080/').second, 'wide=W');
		assert.equal(sent('http://api.shop.test:8081/').second, '');
		assert.equal(sent('https://api.shop.test:8080/').second, '');
		// tough-cookie alone would send the login cookie to every port of the host.
		assert.equal(jar.getCookieStringSync('http://127.0.0.1:9999/a'), 'login=L; own=E');
	});

	test('a server cannot name another origin as the setter of its cookie; a cookie with no recorded origin is not sent', async (t) => {
		const {url} = await startServer(t, (_request, response) => {
			response.setHeader('set-cookie', 'forged=1; Path=/; crawljar-origin=http://127.0.0.1:1; Crawljar-Origin=http://127.0.0.1:2');
			response.end('ok');
		});
		const jar = newJar();
		await fetchPage(url, {jar, useHeaderGenerator: false});
		const [forged] = jar.getCookiesSync(url);
		assert.equal(cookieOrigin(forged!), new URL(url).origin);
		assert.deepEqual(forged!.extensions, [`crawljar-origin=${new URL(url).origin}`]);
		assert.equal(cookieHeader(jar, url, new URL(url)), 'forged=1');

		const plain = new CookieJar();
		plain.setCookieSync('legacy=1; Path=/', url);
		assert.equal(cookieHeader(plain, url, new URL(url)), '');
	});

	test('fetchPage sends a cookie the server set on the previous response, and stops sending a deleted one', async (t) => {
		const seen: Array<string | undefined> = [];
		const {url} = await startServer(t, (request, response) => {
			seen.push(request.headers.cookie);
			if (seen.length === 2) response.setHeader('set-cookie', 'sid=new; Path=/');
			if (seen.length === 4) response.setHeader('set-cookie', 'sid=; Path=/; Max-Age=0');
			response.end('ok');
		});
		const jar = newJar();
		jar.setCookieSync('sid=old; Path=/', url);
		for (let n = 0; n < 5; n++) await fetchPage(`${url}/page/${n}`, {jar});
		assert.deepEqual(seen, ['sid=old', 'sid=old', 'sid=new', 'sid=new', undefined]);
	});
});
