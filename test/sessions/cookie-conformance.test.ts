import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {readFileSync} from 'node:fs';
import {inspect} from 'node:util';
import {fileURLToPath} from 'node:url';
import {describe, test} from 'node:test';
import {CookieJar} from 'tough-cookie';
import {toStoredSession} from '../../src/sessions/session-persistence.js';
import {Session} from '../../src/sessions/session.js';
import {testKey} from './helpers.js';

interface ParserCase {
	readonly test: string;
	readonly received: readonly string[];
	readonly 'sent-to'?: string;
	readonly sent: ReadonlyArray<{readonly name: string; readonly value: string}>;
}

// The http-state suite, 222 cases (test/fixtures/http-state, with its LICENSE).
const cases = JSON.parse(readFileSync(new URL('../fixtures/http-state/parser.json', import.meta.url), 'utf8')) as ParserCase[];
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

async function runFresh(script: string, input: unknown): Promise<string> {
	const child = spawn(process.execPath, ['--import', 'tsx', script], {cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe']});
	let stdout = '';
	let stderr = '';
	child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
	child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
	child.stdin.end(JSON.stringify(input));
	const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
	assert.equal(code, 0, stderr);
	return stdout;
}

describe('cookie conformance (http-state parser.json)', () => {
	test('every case survives encrypt → store → a fresh process → decrypt, and sends the expected Cookie header', async (t) => {
		assert.equal(cases.length, 222);
		const key = testKey();
		const now = Date.now();
		const prepared = cases.map((testCase) => {
			const from = `http://home.example.org:8888/cookie-parser?${testCase.test}`;
			const session = new Session(`${testCase.test}#1`, {username: testCase.test});
			// As fetchPage stores a response's Set-Cookie lines: a rejected one is dropped, not fatal.
			for (const line of testCase.received) session.jar.setCookieSync(line, from, {ignoreError: true});
			const url = new URL(testCase['sent-to'] ?? `/cookie-parser-result?${testCase.test}`, from).href;
			return {stored: toStoredSession(session, key, now), url};
		});
		const output = await runFresh('test/sessions/fixtures/load-sessions.ts', {keyHex: key.toString('hex'), now, cases: prepared});
		const headers = JSON.parse(output) as string[];

		const failures: string[] = [];
		cases.forEach((testCase, index) => {
			const expected = testCase.sent.map(({name, value}) => (name === '' ? value : `${name}=${value}`)).join('; ');
			if (headers[index] !== expected) failures.push(`${testCase.test}: got ${inspect(headers[index])}, expected ${inspect(expected)}`);
		});
		t.diagnostic(`http-state parser cases passing after a round trip: ${cases.length - failures.length}/${cases.length}`);
		assert.deepEqual(failures, []);
		assert.ok(cases.some((testCase) => testCase.sent.length === 0), 'sanity: some cases expect no cookie at all');
	});
});

describe('Session cookie API', () => {
	test('addCookie, cookieHeader and redactedCookieHeader', () => {
		const session = new Session('alice#1', {username: 'alice', password: 'hunter2-pw'});
		session.addCookie('auth=PRE-ISSUED-VALUE; Path=/; HttpOnly; SameSite=Strict', 'https://app.example.com/');
		session.addCookie('lang=en; Path=/docs', 'https://app.example.com/docs/');
		assert.equal(session.cookieHeader('https://app.example.com/docs/a'), 'lang=en; auth=PRE-ISSUED-VALUE', 'longer paths first (RFC 6265)');
		assert.equal(session.redactedCookieHeader('https://app.example.com/docs/a'), 'lang=…; auth=…');
		assert.equal(session.cookieHeader('https://other.example.com/'), '');
		assert.throws(() => session.addCookie('x=1; Domain=evil.test', 'https://app.example.com/'), (error) => {
			assert.equal((error as {code?: string}).code, 'ERR_USAGE');
			assert.ok(!String(error).includes('x=1'));
			return true;
		});
		const summary = session.cookies().find((cookie) => cookie.name === 'auth')!;
		assert.deepEqual({httpOnly: summary.httpOnly, sameSite: summary.sameSite, secure: summary.secure}, {httpOnly: true, sameSite: 'strict', secure: false});
		const printed = `${JSON.stringify(session)} ${inspect(session)}`;
		assert.ok(!printed.includes('hunter2-pw') && !printed.includes('PRE-ISSUED-VALUE'), printed);
	});

	test('Secure cookies go to https and loopback only, never to plain http elsewhere', () => {
		const session = new Session('alice#1', {username: 'alice'});
		session.addCookie('s=1; Secure; Path=/', 'https://example.com/');
		session.addCookie('p=2; Path=/', 'https://example.com/');
		session.addCookie('hp=2; Path=/', 'http://example.com/');
		assert.equal(session.cookieHeader('https://example.com/'), 's=1; p=2');
		// What https set stays on https: http://example.com is another origin.
		assert.equal(session.cookieHeader('http://example.com/'), 'hp=2');
		// As in browsers, loopback counts as a secure context (tough-cookie's allowSecureOnLocal).
		session.addCookie('ls=3; Secure; Path=/', 'http://127.0.0.1:8080/');
		assert.equal(session.cookieHeader('http://127.0.0.1:8080/'), 'ls=3');
		assert.equal(session.cookieHeader('http://localhost:8080/'), '');
	});

	test('a persisted cookie keeps its origin; one persisted without (an older crawljar) is dropped and the session logs in again', () => {
		const session = new Session('alice#1', {username: 'alice'});
		session.addCookie('sid=1; Path=/', 'http://127.0.0.1:8080/');
		session.markLoggedIn(Date.now());
		const {secret, meta} = session.serialize();
		const back = Session.deserialize('alice#1', {username: 'alice'}, secret, meta);
		assert.equal(back.state, 'ready');
		assert.equal(back.cookieHeader('http://127.0.0.1:8080/a'), 'sid=1');
		assert.equal(back.cookieHeader('http://127.0.0.1:9999/a'), '');

		const legacy = new CookieJar();
		legacy.setCookieSync('sid=1; Path=/', 'http://127.0.0.1:8080/');
		const old = Session.deserialize('alice#1', {username: 'alice'}, {...secret, jar: legacy.serializeSync()!}, meta);
		assert.equal(old.hasCookie('sid'), false);
		assert.equal(old.state, 'new');
	});

	test('the server deleting a login cookie is detected', () => {
		const session = new Session('alice#1', {username: 'alice'});
		session.addCookie('sid=1; Path=/', 'https://example.com/');
		session.markLoggedIn(Date.now());
		assert.equal(session.lostAuthCookie(['tracking']), false);
		assert.equal(session.lostAuthCookie(['sid']), true);
		assert.ok(session.authCookieNames.has('sid'));
		session.addCookie('consent=yes; Path=/', 'https://example.com/');
		session.setToken({accessToken: 'tok'});
		session.resetAuth();
		assert.equal(session.cookieHeader('https://example.com/'), 'consent=yes', 'a new login starts without the old login cookie');
		assert.equal(session.tokens, undefined);
		// Until the new login lands, a response to a request sent with the old cookie still means logged out.
		assert.equal(session.lostAuthCookie(['sid']), true);
		session.markLoggedIn(Date.now());
		assert.deepEqual([...session.authCookieNames], ['consent']);
	});
});
