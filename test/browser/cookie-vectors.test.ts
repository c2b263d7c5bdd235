// Browser cookies → the session's jar, against the http-state parser vectors (222 cases, see
// test/fixtures/http-state): Chromium receives each case's Set-Cookie lines from a real server,
// then visits the case's "sent-to" URL; the Cookie header the server saw from the browser must be
// exactly the one the session sends there after its jar got the browser's cookies. (The vectors'
// own expectations are RFC 6265's; where Chromium differs from them, the jar must follow the browser.)
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {createServer as createNetServer, type AddressInfo} from 'node:net';
import {describe, test} from 'node:test';
import {chromium} from 'playwright-core';
import {chromiumArgs} from '../../src/browser/launch-browser.js';
import {putBrowserCookies, type BrowserCookie} from '../../src/browser/cookie-convert.js';
import {Session} from '../../src/sessions/session.js';
import {chromiumDescendants, chromiumOrSkip} from '../helpers/browser.js';

interface ParserCase {
	readonly test: string;
	readonly received: readonly string[];
	readonly 'sent-to'?: string;
	readonly sent: ReadonlyArray<{readonly name: string; readonly value: string}>;
}

const cases = JSON.parse(readFileSync(new URL('../fixtures/http-state/parser.json', import.meta.url), 'utf8')) as ParserCase[];

describe('browser cookies into the jar (http-state vectors)', () => {
	test('for every case the session sends what Chromium sent', {timeout: 240_000}, async (t) => {
		const executablePath = chromiumOrSkip(t);
		if (!executablePath) return;
		const byCase = new Map<string, ParserCase>(cases.map((testCase) => [testCase.test, testCase]));
		const seen = new Map<string, string>();
		// A raw socket server: some vectors' Set-Cookie lines hold bytes node:http refuses to send.
		const server = createNetServer((socket) => {
			let head = '';
			socket.on('data', (chunk: Buffer) => {
				// UTF-8: what Chromium sends non-ASCII cookie bytes as (and what the vectors hold).
				head += chunk.toString('utf8');
				if (!head.includes('\r\n\r\n')) return;
				const [requestLine = '', ...lines] = head.split('\r\n');
				const url = new URL(requestLine.split(' ')[1] ?? '/', 'http://x');
				const name = url.search.slice(1);
				const setCookies: string[] = [];
				if (url.pathname === '/cookie-parser') setCookies.push(...(byCase.get(name)?.received ?? []));
				else seen.set(name, lines.find((line) => /^cookie:/i.test(line))?.replace(/^cookie:\s*/i, '') ?? '');
				const body = '<!doctype html><title>ok</title>';
				const headers = ['HTTP/1.1 200 OK', 'content-type: text/html', `content-length: ${body.length}`, 'connection: close', ...setCookies.map((line) => `set-cookie: ${line}`)];
				socket.end(Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body}`, 'utf8'));
			});
			socket.on('error', () => {});
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
		const {port} = server.address() as AddressInfo;
		const browser = await chromium.launch({
			executablePath,
			headless: true,
			// The vectors' hosts (home.example.org, sibling.example.org…) all reach the local server.
			args: [...chromiumArgs(), '--host-resolver-rules=MAP *.example.org 127.0.0.1, MAP example.org 127.0.0.1'],
		});
		const failures: string[] = [];
		let matchingVectors = 0;
		const refusedByBrowser: string[] = [];
		const matchingRulesDiffer: string[] = [];
		try {
			// One context and page for all cases, its cookies cleared between them (a new context per case is ~10× slower).
			let context = await browser.newContext();
			let page = await context.newPage();
			for (const testCase of cases) {
				const from = `http://home.example.org:${port}/cookie-parser?${testCase.test}`;
				const sentTo = new URL((testCase['sent-to'] ?? `/cookie-parser-result?${testCase.test}`).replace(':8888', `:${port}`), from).href;
				await context.clearCookies();
				try {
					// Once more on a failure: a navigation can be aborted on a busy machine; a refusal stays one.
					await page.goto(from).catch(() => page.goto(from));
				} catch (error) {
					t.diagnostic(`${testCase.test}: ${String(error).split('\n')[0]}`);
					// Chromium refuses some responses outright (bytes it does not accept in a header): no cookie to convert.
					refusedByBrowser.push(testCase.test);
					// The refused navigation leaves the page mid-error: the next case gets a new one.
					await context.close();
					context = await browser.newContext();
					page = await context.newPage();
					continue;
				}
				await page.goto(sentTo);
				const browserSent = seen.get(new URL(sentTo).search.slice(1)) ?? '';
				const session = new Session(`${testCase.test}#1`, {username: testCase.test});
				putBrowserCookies(session.jar, (await context.cookies()) as BrowserCookie[], [new URL(from).origin]);
				const jarSends = session.cookieHeader(sentTo);
				// The jar's own RFC 6265 matching (tough-cookie) differs from Chromium's in a rare case
				// (a %-encoded request path): then the jar given the Set-Cookie lines directly differs the same way.
				const direct = new Session(`${testCase.test}#2`, {username: testCase.test});
				for (const line of testCase.received) direct.jar.setCookieSync(line, from, {ignoreError: true});
				if (jarSends !== browserSent && jarSends === direct.cookieHeader(sentTo)) matchingRulesDiffer.push(testCase.test);
				else if (jarSends !== browserSent) failures.push(`${testCase.test}: the browser sent ${JSON.stringify(browserSent)}, the jar sends ${JSON.stringify(jarSends)}`);
				const expected = testCase.sent.map(({name, value}) => (name === '' ? value : `${name}=${value}`)).join('; ');
				if (jarSends === expected) matchingVectors++;
			}
		} finally {
			await browser.close();
		}
		t.diagnostic(`jar = browser in ${cases.length - refusedByBrowser.length - failures.length - matchingRulesDiffer.length}/${cases.length - refusedByBrowser.length} cases, ${matchingRulesDiffer.length} where tough-cookie matches paths unlike Chromium (${matchingRulesDiffer.join(', ')}) (Chromium refused the response of ${refusedByBrowser.length}: ${refusedByBrowser.join(', ')}); both also match the RFC 6265 expectation in ${matchingVectors}`);
		assert.deepEqual(failures, []);
		assert.ok(seen.size >= cases.length - refusedByBrowser.length, 'every case reached the server');
		assert.ok(matchingRulesDiffer.length <= 2, `tough-cookie and Chromium match alike but for a rare case (${matchingRulesDiffer.join(', ')})`);
		assert.ok(refusedByBrowser.length < 10, `Chromium refused few responses (${refusedByBrowser.length})`);
		assert.ok(cases.filter((testCase) => testCase.sent.length > 0).length > 100, 'sanity: most cases send a cookie');
		assert.ok(matchingVectors > 150, `the conversion keeps the vectors' behaviour where Chromium has it (${matchingVectors})`);
		assert.deepEqual(chromiumDescendants(), [], 'no Chromium process is left');
	});
});
