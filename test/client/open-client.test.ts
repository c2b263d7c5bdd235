// openClient against the demo site: the token API with short-lived tokens and rotating refresh
// tokens behind a 429 limiter, and the form-login catalogue with sessions the server expires.
// Assertions are on what the server saw.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {expectedBook} from '../../demo/site/index.js';
import {isCrawljarError, openClient} from '../../src/index.js';
import {cooldownBreaches} from '../helpers/cooldown-check.js';
import {DEMO_ACCOUNT, demoSite, formCrawler, tempStorage, tokenCrawler} from '../sessions-integration/helpers.js';

test('openClient: one token login shared by concurrent calls, refreshes rotate, 429s are waited out, zero logins on the next open', async (t) => {
	const site = await demoSite(t, {books: 60, accessTokenTtlMs: 1_500, rateLimit: {perSecond: 8}});
	const storage = tempStorage(t);
	const definition = tokenCrawler(site, {hosts: {maxConcurrency: 3}});
	const api = await openClient(definition, {storage});
	const deadline = Date.now() + 4_000;
	const seen: number[] = [];
	// Three callers at once, for about four seconds: more than two token lifetimes, far over the rate limit.
	await Promise.all(
		[0, 1, 2].map(async (lane) => {
			for (let id = 1 + lane; Date.now() < deadline; id = ((id + 2) % 60) + 1) {
				const book = await api.get(`/api/books/${id}`).json<{id: number; title: string}>();
				assert.equal(book.title, expectedBook(id).title);
				seen.push(book.id);
			}
		}),
	);
	await api.close();
	assert.ok(seen.length >= 10, `few calls answered: ${seen.length}`);
	assert.equal(site.stats.tokenLogin, 1, 'one session, one login');
	assert.ok(site.stats.tokenRefresh >= 2, `tokens refreshed before they expired: ${site.stats.tokenRefresh}`);
	assert.equal(site.stats.refreshReuseRejected, 0, 'a rotated refresh token is never sent twice');
	assert.ok(site.stats.sent429 >= 1, 'the limiter answered 429');
	assert.deepEqual(cooldownBreaches(site.stats.log, 3 - 1), []);

	const loginsBefore = site.stats.tokenLogin;
	const again = await openClient(definition, {storage});
	const page = await again.get('/api/books', {searchParams: {page: 2}}).json<{items: Array<{id: number}>}>();
	await again.close();
	assert.equal(page.items[0]?.id, 21);
	assert.equal(site.stats.tokenLogin, loginsBefore, 'the stored session is reused: no login');
});

test('openClient: form-login sessions the server expires are logged in again once each; logins = sessions + expiries', async (t) => {
	const site = await demoSite(t, {books: 40, sessionMaxRequests: 7});
	const storage = tempStorage(t);
	const client = await openClient(formCrawler(site, {sessions: {perAccount: 2}}), {storage});
	const titles = await Promise.all(Array.from({length: 40}, (_, index) => client.get(expectedBook(index + 1).path).then((response) => response.$('h1').text().trim())));
	await client.close();
	assert.deepEqual(titles, Array.from({length: 40}, (_, index) => expectedBook(index + 1).title));
	assert.ok(site.stats.sessionsExpired >= 4, `the server expired sessions: ${site.stats.sessionsExpired}`);
	assert.equal(site.stats.loginSuccess, 2 + site.stats.sessionsExpired);
});

test('openClient: post/put/patch/delete send json, form and body; a 404 throws ERR_HTTP_STATUS unless throwHttpErrors is false', async (t) => {
	const site = await demoSite(t, {books: 5});
	const received: string[] = [];
	const definition = formCrawler(site, {name: 'client-methods'});
	const client = await openClient(definition, {storage: tempStorage(t)});
	t.after(() => client.close());
	// The demo site answers 405 to these methods on /catalogue: each is a definite answer, not retried.
	for (const [method, options] of [
		['post', {json: {title: 'x'}}],
		['put', {form: {title: 'y'}}],
		['patch', {body: 'z', headers: {'content-type': 'text/plain'}}],
		['delete', {}],
	] as const) {
		const response = await client[method]('/books/1', {...options, throwHttpErrors: false});
		received.push(`${method} ${response.status}`);
	}
	assert.deepEqual(received, ['post 405', 'put 405', 'patch 405', 'delete 405']);
	const methods = site.stats.log.filter((entry) => entry.path === '/books/1').map((entry) => entry.method);
	assert.deepEqual(methods, ['POST', 'PUT', 'PATCH', 'DELETE']);

	await assert.rejects(client.get('/books/999'), (error: unknown) => {
		assert.ok(isCrawljarError(error));
		assert.equal(error.code, 'ERR_HTTP_STATUS');
		assert.match(error.message, /GET http:\/\/127\.0\.0\.1:\d+\/books\/999: HTTP 404/);
		return true;
	});
	const missing = await client.get('/books/999', {throwHttpErrors: false});
	assert.equal(missing.status, 404);
	assert.equal(site.stats.loginSuccess, 1);
});

test('openClient: bad options name the field; wrong credentials fail LOGIN_FAILED without the password in the message', async (t) => {
	const site = await demoSite(t, {books: 5});
	const client = await openClient(formCrawler(site, {name: 'client-bad'}), {storage: tempStorage(t)});
	t.after(() => client.close());
	await assert.rejects(client.post('/x', {json: {}, form: {}}), /ERR_USAGE|json, form and body are alternatives/);
	await assert.rejects(client.get('/x', {headers: {a: 1 as unknown as string}}), (error: unknown) => isCrawljarError(error) && error.code === 'ERR_USAGE' && /headers: expected an object of string values/.test(error.message));
	await assert.rejects(client.get('/x', {retyr: {}} as never), /retyr: unknown option \(did you mean 'retry'\?\)/);
	await assert.rejects(client.get('ftp://example.com/'), /url: expected http or https/);
	await assert.rejects(openClient(formCrawler(site), {storge: 'x'} as never), /storge: unknown option \(did you mean 'storage'\?\)/);

	const secret = 'wrong-password-4242';
	const denied = await openClient(formCrawler(site, {name: 'client-denied', accounts: [{...DEMO_ACCOUNT, password: secret}]}), {storage: tempStorage(t)});
	t.after(() => denied.close());
	await assert.rejects(denied.get('/catalogue'), (error: unknown) => {
		assert.ok(isCrawljarError(error));
		assert.equal(error.code, 'LOGIN_FAILED');
		assert.ok(!error.message.includes(secret) && !JSON.stringify(error).includes(secret));
		return true;
	});
	assert.equal(site.stats.loginFailure, 1, 'a rejected password is not posted again');
});
