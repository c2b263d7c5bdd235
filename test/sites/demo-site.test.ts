import assert from 'node:assert/strict';
import {test} from 'node:test';
import * as cheerio from 'cheerio';
import {bookCount, expectedBook} from '../../demo/site/index.js';
import type {LogoutStyle} from '../../demo/site/index.js';
import {defaultUsers} from '../../demo/site/options.js';
import {TestClient, csrfOf} from './client.js';
import {startTestSite} from './demo.js';

test('GET / redirects to the catalogue, which redirects to the login page without a session', async (t) => {
	const site = await startTestSite(t);
	const client = new TestClient(site.url);
	const root = await client.request('/');
	assert.equal(root.status, 302);
	assert.equal(root.headers.get('location'), '/catalogue');
	const catalogue = await client.request('/catalogue?page=2');
	assert.equal(catalogue.status, 302);
	assert.equal(catalogue.headers.get('location'), `/login?next=${encodeURIComponent('/catalogue?page=2')}`);
	assert.equal(site.stats.loggedOut, 1);
	assert.equal(site.stats.requests, 2);
});

test('the login page has a search form before the login form, with CSRF and a password field', async (t) => {
	const site = await startTestSite(t);
	const client = new TestClient(site.url);
	const response = await client.request('/login');
	assert.equal(response.status, 200);
	assert.match(response.headers.getSetCookie()[0] ?? '', /^presession=[\w-]+; Path=\/; HttpOnly; SameSite=Lax$/);
	const $ = cheerio.load(await response.text());
	assert.deepEqual($('form').map((_, form) => $(form).attr('id')).get(), ['search', 'login']);
	assert.equal($('form#search input[type=password]').length, 0);
	assert.equal($('form#login').attr('method'), 'post');
	assert.equal($('form#login').attr('action'), '/login');
	assert.ok(($('form#login input[name=csrf]').attr('value') ?? '').length >= 16);
	assert.equal($('form#login input[name=password]').attr('type'), 'password');
	assert.equal($('form#login input[name=username]').length, 1);
	assert.equal(site.stats.loginPage, 1);
});

test('POST /login with CSRF and good credentials sets sid and opens the catalogue', async (t) => {
	const site = await startTestSite(t, {books: 45});
	const client = new TestClient(site.url);
	const login = await client.login();
	assert.equal(login.status, 303);
	assert.equal(login.headers.get('location'), '/catalogue');
	const sid = login.headers.getSetCookie().find((line) => line.startsWith('sid='));
	assert.match(sid ?? '', /^sid=[\w-]{16,}; Path=\/; HttpOnly; SameSite=Lax$/);

	const first = cheerio.load(await (await client.request('/catalogue')).text());
	assert.equal(first('a.book').length, 20);
	assert.equal(first('a.book').first().attr('href'), '/books/1');
	assert.equal(first('a.book').first().text(), expectedBook(1).title);
	assert.equal(first('a.next').attr('href'), '/catalogue?page=2');
	const last = cheerio.load(await (await client.request('/catalogue?page=3')).text());
	assert.equal(last('a.book').length, 5);
	assert.equal(last('a.next').length, 0);
	assert.equal((await client.request('/catalogue?page=4')).status, 404);
	assert.equal(site.stats.loginSuccess, 1);
	assert.equal(site.stats.sessionsCreated, 1);
	assert.equal(site.stats.catalogue, 3);
});

test('POST /login rejects a missing, stale or reused CSRF token with 403 and the form', async (t) => {
	const site = await startTestSite(t);
	const client = new TestClient(site.url);
	const stale = csrfOf(await (await client.request('/login')).text());
	const fresh = csrfOf(await (await client.request('/login')).text());
	assert.notEqual(stale, fresh);

	const withStale = await client.postForm('/login', {csrf: stale, username: 'demo', password: 'demo-password'});
	assert.equal(withStale.status, 403);
	assert.match(await withStale.text(), /<form id="login"/);
	// The rejected form came with a new token: the one read before is stale too now.
	assert.equal((await client.postForm('/login', {csrf: fresh, username: 'demo', password: 'demo-password'})).status, 403);

	const stranger = new TestClient(site.url);
	const token = csrfOf(await (await client.request('/login')).text());
	assert.equal((await stranger.postForm('/login', {csrf: token, username: 'demo', password: 'demo-password'})).status, 403);
	assert.equal((await client.postForm('/login', {username: 'demo', password: 'demo-password'})).status, 403);
	assert.equal(site.stats.csrfRejected, 4);
	assert.equal(site.stats.loginSuccess, 0);
	assert.ok(!client.cookies.has('sid'));
});

test('POST /login with a wrong password answers 200 with the form and an error', async (t) => {
	const site = await startTestSite(t, {users: {alice: 'secret'}});
	const client = new TestClient(site.url);
	const wrong = await client.login('alice', 'nope');
	assert.equal(wrong.status, 200);
	const $ = cheerio.load(await wrong.text());
	assert.equal($('p.error').text(), 'Invalid username or password.');
	assert.equal($('form#login input[name=username]').attr('value'), 'alice');
	assert.equal((await client.login('demo', 'demo-password')).status, 200, 'the default user is replaced by users');
	assert.equal((await client.login('alice', 'secret')).status, 303);
	assert.equal(site.stats.loginFailure, 2);
	assert.equal(site.stats.loginSuccess, 1);
});

test('login honours a same-site next and ignores an off-site one', async (t) => {
	const site = await startTestSite(t);
	const client = new TestClient(site.url);
	const page = await (await client.request('/login?next=%2Fbooks%2F5')).text();
	assert.match(page, /<input type="hidden" name="next" value="\/books\/5">/);
	const login = await client.postForm('/login', {csrf: csrfOf(page), next: '/books/5', username: 'demo', password: 'demo-password'});
	assert.equal(login.headers.get('location'), '/books/5');
	const again = await client.request('/login');
	const offsite = await client.postForm('/login?next=//evil.example/', {csrf: csrfOf(await again.text()), username: 'demo', password: 'demo-password'});
	assert.equal(offsite.headers.get('location'), '/catalogue');
});

test('default users: demo plus DEMO_USER/DEMO_PASSWORD when both are set', () => {
	assert.deepEqual(defaultUsers({}), {demo: 'demo-password'});
	assert.deepEqual(defaultUsers({DEMO_USER: 'bob'}), {demo: 'demo-password'});
	assert.deepEqual(defaultUsers({DEMO_USER: 'bob', DEMO_PASSWORD: 'pw'}), {demo: 'demo-password', bob: 'pw'});
});

const expiredAnswers: Record<LogoutStyle, (response: Response, html: string) => void> = {
	'401': (response) => assert.equal(response.status, 401),
	redirect(response) {
		assert.equal(response.status, 302);
		assert.equal(response.headers.get('location'), `/login?next=${encodeURIComponent('/books/3')}`);
	},
	soft(response, html) {
		assert.equal(response.status, 200);
		assert.match(html, /<title>Please log in<\/title>/);
		assert.match(html, /<form id="login"/);
	},
	'delete-cookie'(response, html) {
		assert.equal(response.status, 200);
		assert.ok(response.headers.getSetCookie().some((line) => /^sid=; Path=\/; Max-Age=0/.test(line)));
		assert.match(html, /<title>Logged out<\/title>/);
	},
};

for (const style of ['401', 'redirect', 'soft', 'delete-cookie'] as const) {
	test(`an expired session is answered with logoutStyle '${style}'`, async (t) => {
		const site = await startTestSite(t, {sessionMaxRequests: 2, logoutStyle: style});
		const client = new TestClient(site.url);
		await client.login();
		const sid = client.cookies.get('sid');
		assert.equal((await client.request('/books/1')).status, 200);
		assert.equal((await client.request('/books/2')).status, 200);
		const expired = await client.request('/books/3');
		expiredAnswers[style](expired, await expired.text());
		assert.equal(site.stats.sessionsExpired, 1);
		assert.equal(site.stats.loggedOut, 1);
		assert.equal(site.stats.sent401, style === '401' ? 1 : 0);
		// Expiry is server-side: presenting the same cookie again does not revive it.
		const again = await client.request('/books/3', {headers: {cookie: `sid=${sid}`}});
		expiredAnswers[style](again, await again.text());
		assert.equal(site.stats.loggedOut, 2);
	});
}

test('sessionTtlMs expires a session by time', async (t) => {
	const site = await startTestSite(t, {sessionTtlMs: 150, logoutStyle: '401'});
	const client = new TestClient(site.url);
	await client.login();
	assert.equal((await client.request('/books/1')).status, 200);
	await new Promise((resolve) => setTimeout(resolve, 250));
	assert.equal((await client.request('/books/1')).status, 401);
	assert.equal(site.stats.sessionsExpired, 1);
});

test('staleCookieRequests counts an old sid sent after the same client logged in again', async (t) => {
	const site = await startTestSite(t, {logoutStyle: '401'});
	const client = new TestClient(site.url);
	await client.login();
	const oldSid = client.cookies.get('sid');
	assert.equal(site.expireSessions(), 1);
	assert.equal((await client.request('/books/1')).status, 401);
	assert.equal(site.stats.staleCookieRequests, 0, 'expired but not yet replaced');
	await client.login();
	assert.notEqual(client.cookies.get('sid'), oldSid);
	assert.equal((await client.request('/books/1')).status, 200);
	assert.equal((await client.request('/books/1', {headers: {cookie: `sid=${oldSid}`}})).status, 401);
	assert.equal((await client.request('/books/2', {headers: {cookie: `sid=${oldSid}`}})).status, 401);
	assert.equal(site.stats.staleCookieRequests, 2);
	assert.equal((await client.request('/books/1', {headers: {cookie: 'sid=never-issued'}})).status, 401);
	assert.equal(site.stats.staleCookieRequests, 2);
});

test('logout ends the session and deletes the cookie', async (t) => {
	const site = await startTestSite(t, {logoutStyle: '401'});
	const client = new TestClient(site.url);
	await client.login();
	const sid = client.cookies.get('sid');
	const logout = await client.request('/logout');
	assert.equal(logout.status, 303);
	assert.ok(!client.cookies.has('sid'));
	assert.equal((await client.request('/catalogue', {headers: {cookie: `sid=${sid}`}})).status, 401);
	assert.equal(site.stats.logout, 1);
});

test('book pages carry exactly what expectedBook says, padded to pageBytes, deterministically', async (t) => {
	const site = await startTestSite(t, {requireLogin: false, books: 400, pageBytes: 10_000});
	const other = await startTestSite(t, {requireLogin: false, books: 400, pageBytes: 10_000});
	const ids = [1, 2, 3, 7, 100, 399, 400];
	for (let id = 1; id <= 400 && ids.length < 12; id++) if (expectedBook(id).stock === 0) ids.push(id);
	assert.ok(ids.length > 7, 'some books are out of stock');
	for (const id of ids) {
		const html = await (await fetch(`${site.url}/books/${id}`)).text();
		assert.equal(html, await (await fetch(`${other.url}/books/${id}`)).text());
		assert.ok(Math.abs(Buffer.byteLength(html) - 10_000) < 300, `page ${id} is ${Buffer.byteLength(html)} bytes`);
		const $ = cheerio.load(html);
		const book = expectedBook(id);
		assert.equal($('h1').text(), book.title);
		assert.equal($('p.price').text(), book.priceText);
		assert.equal(Number($('p.price').text().replace('£', '')), book.price);
		assert.equal($('p.stock').text(), book.stockText);
		assert.equal(Number($('span.rating').attr('data-stars')), book.rating);
		assert.equal($('a.category').text(), book.category);
		assert.equal($('a.category').attr('href'), `/categories/${book.categorySlug}`);
		const related = $('a.book.related').map((_, link) => $(link).attr('href')).get();
		assert.ok(related.length >= 10 && related.every((href) => /^\/books\/([1-9]\d*)$/.test(href)));
	}
	assert.ok([...Array.from({length: 400}, (_, index) => expectedBook(index + 1).title)].some((title) => title.includes('&')));
	assert.equal((await fetch(`${site.url}/books/401`)).status, 404);
	assert.equal(site.stats.book, ids.length + 1);
	assert.equal(bookCount(), 300);
	assert.equal(bookCount({books: 5000}), 5000);
	assert.equal(site.bookCount, 400);
});

test('category and search pages list books with the same markup', async (t) => {
	const site = await startTestSite(t, {requireLogin: false, books: 200});
	const book = expectedBook(17);
	const $ = cheerio.load(await (await fetch(`${site.url}/categories/${book.categorySlug}`)).text());
	const hrefs = $('a.book').map((_, link) => $(link).attr('href')).get();
	assert.ok(hrefs.length > 0 && hrefs.every((href) => expectedBook(Number(href.split('/')[2])).category === book.category));
	const search = cheerio.load(await (await fetch(`${site.url}/search?q=${encodeURIComponent(book.title)}`)).text());
	assert.deepEqual(search('a.book').map((_, link) => search(link).attr('href')).get(), ['/books/17']);
	assert.equal((await fetch(`${site.url}/categories/nope`)).status, 404);
});

test('stats.log records method, path, cookie and authorization presence, and status', async (t) => {
	const site = await startTestSite(t);
	await fetch(`${site.url}/catalogue`, {redirect: 'manual', headers: {cookie: 'a=1'}});
	await fetch(`${site.url}/api/books`, {headers: {authorization: 'Bearer nope'}});
	await fetch(`${site.url}/nowhere`);
	assert.deepEqual(site.stats.log.map(({method, path, hasCookie, hasAuthorization, status}) => ({method, path, hasCookie, hasAuthorization, status})), [
		{method: 'GET', path: '/catalogue', hasCookie: true, hasAuthorization: false, status: 302},
		{method: 'GET', path: '/api/books', hasCookie: false, hasAuthorization: true, status: 401},
		{method: 'GET', path: '/nowhere', hasCookie: false, hasAuthorization: false, status: 404},
	]);
	assert.deepEqual(site.stats.statuses, {302: 1, 401: 1, 404: 1});
	site.resetStats();
	assert.equal(site.stats.requests, 0);
	assert.equal(site.stats.log.length, 0);
});

test('startDemoSite rejects invalid options', async () => {
	await assert.rejects(() => startTestSite(undefined, {perPage: 0}), /perPage: expected an integer >= 1, received 0/);
	await assert.rejects(() => startTestSite(undefined, {logoutStyle: 'nope' as LogoutStyle}), /logoutStyle/);
});
