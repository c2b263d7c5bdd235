// Jar → browser → jar keeps every attribute: domain (host-only or not), path, expiry, Secure,
// HttpOnly, SameSite — through the conversion alone, and through a real Chromium context.
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {chromium} from 'playwright-core';
import {browserCookiesFor, putBrowserCookies, toBrowserCookie, type BrowserCookie} from '../../src/browser/cookie-convert.js';
import {chromiumArgs} from '../../src/browser/launch-browser.js';
import {Session} from '../../src/sessions/session.js';
import {chromiumOrSkip} from '../helpers/browser.js';

const ORIGIN = 'https://app.example.com';
const LINES = [
	'strict=1; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=3600',
	'lax=2; Path=/docs; SameSite=Lax; Expires=Fri, 07 Aug 2099 08:04:19 GMT',
	'none=3; Path=/; Secure; SameSite=None',
	'wide=4; Domain=example.com; Path=/',
];

/** Chromium caps a cookie's lifetime at 400 days, and treats a cookie without SameSite as Lax. */
const BROWSER_MAX_AGE_S = 400 * 24 * 3600;

function attributes(session: Session, asBrowserSees = false) {
	const cap = asBrowserSees ? Math.round(Date.now() / 1000) + BROWSER_MAX_AGE_S : Infinity;
	return session
		.cookies()
		.map(({name, domain, path, secure, httpOnly, sameSite, expiresAt}) => ({name, domain, path, secure, httpOnly, sameSite: sameSite ?? 'lax', expires: expiresAt === undefined ? undefined : Math.min(Math.round(expiresAt / 1000), cap)}))
		.sort((a, b) => a.name.localeCompare(b.name));
}

function sessionWithCookies(): Session {
	const session = new Session('a#1', {username: 'a'});
	for (const line of LINES) session.addCookie(line, `${ORIGIN}/docs/`);
	return session;
}

describe('cookie attributes jar ⇄ browser', () => {
	test('toBrowserCookie / putBrowserCookies keep every attribute and the sending rules', () => {
		const session = sessionWithCookies();
		const browserCookies = browserCookiesFor(session.cookies().length ? (session.jar.getCookiesSync(`${ORIGIN}/docs/`) ?? []) : []);
		const byName = new Map(browserCookies.map((cookie) => [cookie.name, cookie]));
		assert.equal(byName.get('wide')?.domain, '.example.com', 'a Domain= cookie gets a leading dot');
		assert.equal(byName.get('strict')?.domain, 'app.example.com', 'a host-only cookie gets none');
		assert.equal(byName.get('strict')?.sameSite, 'Strict');
		assert.equal(byName.get('none')?.sameSite, 'None');
		assert.equal(byName.get('lax')?.expires, Date.UTC(2099, 7, 7, 8, 4, 19) / 1000);
		assert.equal(byName.get('none')?.expires, -1, 'a session cookie');
		const back = new Session('a#2', {username: 'a'});
		assert.equal(putBrowserCookies(back.jar, browserCookies, [ORIGIN]), 0);
		assert.deepEqual(attributes(back), attributes(session));
		for (const url of [`${ORIGIN}/docs/x`, `${ORIGIN}/`, 'https://www.example.com/', 'http://app.example.com/']) {
			assert.equal(back.cookieHeader(url), session.cookieHeader(url), url);
		}
		const expired = session.jar.getCookiesSync(`${ORIGIN}/docs/`)[0]!;
		expired.expires = new Date(Date.now() - 1000);
		expired.maxAge = null;
		assert.equal(toBrowserCookie(expired), undefined, 'an expired cookie is not handed to the browser');
	});

	test('through a real Chromium context', {timeout: 60_000}, async (t) => {
		const executablePath = chromiumOrSkip(t);
		if (!executablePath) return;
		const session = sessionWithCookies();
		const browser = await chromium.launch({executablePath, headless: true, args: chromiumArgs()});
		try {
			const context = await browser.newContext();
			await context.addCookies(browserCookiesFor(session.jar.getCookiesSync(`${ORIGIN}/docs/`)));
			const back = new Session('a#2', {username: 'a'});
			putBrowserCookies(back.jar, (await context.cookies()) as BrowserCookie[], [ORIGIN]);
			const seen = attributes(back, true);
			const expected = attributes(session, true);
			// The cap counts from the moment Chromium got the cookie: a second or two of slack.
			for (const [index, cookie] of seen.entries()) {
				const want = expected[index]!;
				assert.ok(cookie.expires === want.expires || Math.abs((cookie.expires ?? 0) - (want.expires ?? 0)) <= 5, `${cookie.name} expiry`);
				assert.deepEqual({...cookie, expires: 0}, {...want, expires: 0});
			}
			assert.equal(seen.length, expected.length);
		} finally {
			await browser.close();
		}
	});
});
