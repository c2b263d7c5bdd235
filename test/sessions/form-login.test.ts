import assert from 'node:assert/strict';
import {randomBytes} from 'node:crypto';
import {describe, test, type TestContext} from 'node:test';
import {CrawljarError} from '../../src/errors.js';
import {formLogin, type FormLoginOptions} from '../../src/sessions/login/form-login.js';
import {cookiesOf, html, loginContext, startServer} from './helpers.js';

const alice = {username: 'alice', password: 's3cret-pass'};
const fields: FormLoginOptions['fields'] = ({account}) => ({user: account.username, pass: account.password ?? ''});

interface Seen {
	posts: Array<{contentType: string | undefined; body: string; cookies: Record<string, string>}>;
	homeCookies: Array<Record<string, string>>;
}

/** A site with a search form before the login form, a CSRF token tied to a pre-login cookie, and a 303 after login. */
async function startLoginSite(t: TestContext, options: {enctype?: string; lockedStatus?: number} = {}): Promise<{url: string; seen: Seen}> {
	const seen: Seen = {posts: [], homeCookies: []};
	const csrfByPre = new Map<string, string>();
	const url = await startServer(t, (request, response, body) => {
		const path = new URL(request.url!, 'http://x').pathname;
		const cookies = cookiesOf(request);
		if (request.method === 'GET' && path === '/login') {
			const pre = randomBytes(6).toString('hex');
			const csrf = randomBytes(6).toString('hex');
			csrfByPre.set(pre, csrf);
			response.setHeader('set-cookie', `pre=${pre}; Path=/; HttpOnly`);
			response.setHeader('content-type', 'text/html');
			response.end(
				html(`
				<form id="search" action="/search" method="get"><input name="q" value=""><input type="hidden" name="hint" value="search"></form>
				<form id="login" action="/session" method="post"${options.enctype ? ` enctype="${options.enctype}"` : ''}>
					<input type="hidden" name="csrf" value="${csrf}">
					<input type="text" name="user"><input type="password" name="pass">
					<input type="checkbox" name="remember" value="yes" checked><input type="checkbox" name="spam" value="yes">
					<select name="lang"><option value="en">en</option><option value="fr" selected>fr</option></select>
					<input type="text" name="off" value="x" disabled>
					<button type="submit" name="go" value="1">Log in</button>
				</form>`),
			);
			return;
		}
		if (request.method === 'POST' && path === '/session') {
			seen.posts.push({contentType: request.headers['content-type'], body, cookies});
			const form = parseForm(request.headers['content-type'] ?? '', body);
			const isCsrfValid = csrfByPre.get(cookies.pre ?? '') === form.csrf;
			if (form.user === 'locked') {
				response.statusCode = options.lockedStatus ?? 422;
				response.end('locked');
			} else if (isCsrfValid && form.user === 'alice' && form.pass === alice.password) {
				response.statusCode = 303;
				response.setHeader('location', '/home');
				response.setHeader('set-cookie', ['sid=SID-ALICE-42; Path=/; HttpOnly; SameSite=Lax', 'pre=; Max-Age=0; Path=/']);
				response.end();
			} else {
				response.setHeader('content-type', 'text/html');
				response.end(html('<p>Wrong</p><form action="/session" method="post"><input name="user"><input type="password" name="pass"></form>'));
			}
			return;
		}
		if (path === '/home') {
			seen.homeCookies.push(cookies);
			response.setHeader('content-type', 'text/html');
			response.end(cookies.sid ? html('<h1 id="welcome">Hello alice</h1>') : html('<p>who?</p>'));
			return;
		}
		response.statusCode = 404;
		response.end();
	});
	return {url, seen};
}

function parseForm(contentType: string, body: string): Record<string, string> {
	if (contentType.startsWith('multipart/form-data')) {
		const boundary = /boundary=(.+)$/.exec(contentType)![1]!;
		const result: Record<string, string> = {};
		for (const part of body.split(`--${boundary}`)) {
			const match = /name="([^"]+)"\r\n\r\n([\s\S]*)\r\n$/.exec(part);
			if (match) result[match[1]!] = match[2]!;
		}
		return result;
	}
	return Object.fromEntries(new URLSearchParams(body));
}

function isLoginFailed(error: unknown, ...fragments: string[]): boolean {
	if (!(error instanceof CrawljarError) || error.code !== 'LOGIN_FAILED') return false;
	assert.ok(!error.message.includes(alice.password), 'the password must not be in the message');
	for (const fragment of fragments) assert.ok(error.message.includes(fragment), `"${error.message}" should include "${fragment}"`);
	return true;
}

describe('formLogin', () => {
	test('copies the CSRF input from the password form, submits it, follows the 303 and keeps the cookies', async (t) => {
		const {url, seen} = await startLoginSite(t);
		const context = loginContext(url, alice);
		await formLogin({url: '/login', fields}).login(context);

		assert.equal(seen.posts.length, 1);
		const post = seen.posts[0]!;
		assert.equal(post.contentType, 'application/x-www-form-urlencoded');
		const sent = Object.fromEntries(new URLSearchParams(post.body));
		assert.match(sent.csrf ?? '', /^[0-9a-f]{12}$/);
		assert.ok(post.cookies.pre, 'the pre-login cookie from the GET was sent with the POST');
		assert.deepEqual(
			{...sent, csrf: 'x'},
			{csrf: 'x', user: 'alice', pass: alice.password, remember: 'yes', lang: 'fr', go: '1'},
			'a browser would submit exactly these: no search-form field, no unchecked or disabled control',
		);
		assert.deepEqual(seen.homeCookies, [{sid: 'SID-ALICE-42'}], 'the redirect carried the new cookie, and the deleted one is gone');
		assert.ok(context.session.hasCookie('sid'));
		assert.ok(!context.session.hasCookie('pre'));
	});

	test('posts multipart/form-data when the form says so', async (t) => {
		const {url, seen} = await startLoginSite(t, {enctype: 'multipart/form-data'});
		await formLogin({url: '/login', fields}).login(loginContext(url, alice));
		assert.match(seen.posts[0]!.contentType ?? '', /^multipart\/form-data; boundary=/);
		assert.deepEqual(seen.homeCookies, [{sid: 'SID-ALICE-42'}]);
	});

	test('a wrong password fails with LOGIN_FAILED naming the account, not the password', async (t) => {
		const {url, seen} = await startLoginSite(t);
		await assert.rejects(
			formLogin({url: '/login', fields: () => ({user: 'alice', pass: 'wrong-pass'})}).login(loginContext(url, alice)),
			(error) => isLoginFailed(error, "'alice'", 'the login form came back: wrong credentials or a stale CSRF token') && !String(error).includes('wrong-pass'),
		);
		assert.equal(seen.posts.length, 1);
	});

	test('a 4xx answer fails with its status and path', async (t) => {
		const {url} = await startLoginSite(t);
		const locked = {username: 'locked', password: 'pw-locked'};
		await assert.rejects(formLogin({url: '/login', fields}).login(loginContext(url, locked)), (error) =>
			isLoginFailed(error, "'locked'", '422 from /session'),
		);
	});

	test('formSelector picks the form; a selector that matches nothing says so', async (t) => {
		const {url, seen} = await startLoginSite(t);
		await formLogin({url: '/login', fields, formSelector: 'form#login'}).login(loginContext(url, alice));
		assert.equal(seen.posts.length, 1);
		await assert.rejects(formLogin({url: '/login', fields, formSelector: 'form#nope'}).login(loginContext(url, alice)), (error) =>
			isLoginFailed(error, "no form matches 'form#nope' at /login"),
		);
	});

	test('success checks: cookie, urlNot, selector and a function', async (t) => {
		const {url} = await startLoginSite(t);
		const run = (success: FormLoginOptions['success'], account = alice) =>
			formLogin({url: '/login', fields, ...(success ? {success} : {})}).login(loginContext(url, account));
		await run({cookie: 'sid'});
		await run({urlNot: '/login'});
		await run({selector: '#welcome'});
		let seenStatus = 0;
		await run(({response, $}) => {
			seenStatus = response.status;
			return $('h1').text() === 'Hello alice';
		});
		assert.equal(seenStatus, 200);

		await assert.rejects(run({cookie: 'other'}), (error) => isLoginFailed(error, "the cookie 'other' was not set"));
		await assert.rejects(run({urlNot: '/home'}), (error) => isLoginFailed(error, 'still at /home'));
		await assert.rejects(run({selector: '#admin'}), (error) => isLoginFailed(error, "'#admin' is not on the page"));
		await assert.rejects(run(() => false), (error) => isLoginFailed(error, 'the success check returned false'));
	});

	test('refuses to post credentials over plain http to a remote host', async (t) => {
		const remoteAction = html(`<form action="http://crawljar.invalid/session" method="post"><input name="user"><input type="password" name="pass"></form>`);
		let posts = 0;
		const url = await startServer(t, (request, response) => {
			if (request.method === 'POST') posts++;
			response.setHeader('content-type', 'text/html');
			response.end(remoteAction);
		});
		await assert.rejects(formLogin({url: '/login', fields}).login(loginContext(url, alice)), (error) => {
			assert.ok(error instanceof CrawljarError && error.code === 'ERR_INSECURE_CREDENTIALS');
			assert.match(error.message, /'alice' over plain http to crawljar\.invalid: use https, or set allowInsecureLogin: true/);
			return true;
		});
		assert.equal(posts, 0);
	});
});
