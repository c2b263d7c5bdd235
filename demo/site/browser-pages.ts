// Pages that need a browser or more than one step (issue 11), in their own file:
//   /app/login      a login form rendered by script; its CSRF token comes from an XHR, its
//                   session cookie `app_sid` is HttpOnly + SameSite=Lax
//   /app/catalogue  a list rendered by script from /app/api/catalogue (needs app_sid)
//   /spa/           an SPA: logs in over JSON, keeps a JWT in localStorage, calls /spa/api/* with it
//   /2fa/login      a two-step form login (user name, then password) and a TOTP code
// Counters in BrowserDemoStats say what the server saw: logins, cookies, Authorization headers.
import {randomBytes} from 'node:crypto';
import {TOTP, Secret} from 'otpauth';
import {escapeHtml} from './html.js';
import {addCookie, readBody, redirect, sendHtml, sendJson} from './http-util.js';
import type {RequestContext, Route} from './http-util.js';

/** Every demo user's TOTP secret (base32) for the two-step login. */
export const DEMO_TOTP_SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
export const APP_COOKIE = 'app_sid';
export const TWO_FACTOR_COOKIE = 'tf_sid';
export const SCRIPT_ITEMS = 12;

export interface BrowserDemoStats {
	appLogins: number;
	spaLogins: number;
	twoFactorLogins: number;
	/** TOTP codes refused because that user had already used them. */
	reusedCodes: number;
	wrongCodes: number;
	/** Requests for /app/* pages and API, with the cookie names they carried. */
	appCookieNames: string[][];
	/** Bearer tokens received on /spa/api/books. */
	spaAuthorizations: string[];
	csrfRejected: number;
}

export function createBrowserDemoStats(): BrowserDemoStats {
	return {appLogins: 0, spaLogins: 0, twoFactorLogins: 0, reusedCodes: 0, wrongCodes: 0, appCookieNames: [], spaAuthorizations: [], csrfRejected: 0};
}

const page = (title: string, body: string, script = ''): string =>
	`<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body>${body}${script ? `<script>${script}</script>` : ''}</body></html>`;

// The form exists only after the script has fetched the CSRF token: no HTML form to parse.
const APP_LOGIN_SCRIPT = `
(async () => {
  const {csrf} = await (await fetch('/app/api/csrf')).json();
  const root = document.getElementById('root');
  root.innerHTML = '<form id="login"><input id="email" name="email"><input id="password" type="password"><button type="submit">Log in</button></form><p id="error"></p>';
  document.getElementById('login').addEventListener('submit', async (event) => {
    event.preventDefault();
    const response = await fetch('/app/api/login', {method: 'POST', headers: {'content-type': 'application/json', 'x-csrf-token': csrf},
      body: JSON.stringify({username: document.getElementById('email').value, password: document.getElementById('password').value})});
    if (response.ok) location.href = '/app/dashboard';
    else document.getElementById('error').textContent = 'Invalid username or password.';
  });
})();`;

const APP_CATALOGUE_SCRIPT = `
(async () => {
  const items = await (await fetch('/app/api/catalogue')).json();
  document.getElementById('list').innerHTML = items.map((item) => '<li class="item"><a href="/app/item/' + item.id + '">' + item.title + '</a></li>').join('');
})();`;

const SPA_SCRIPT = `
const root = document.getElementById('root');
async function show() {
  const token = localStorage.getItem('auth_token');
  if (!token) {
    root.innerHTML = '<form id="login"><input id="user"><input id="pass" type="password"><button>Sign in</button></form>';
    document.getElementById('login').addEventListener('submit', async (event) => {
      event.preventDefault();
      const response = await fetch('/spa/api/login', {method: 'POST', headers: {'content-type': 'application/json'},
        body: JSON.stringify({username: document.getElementById('user').value, password: document.getElementById('pass').value})});
      if (!response.ok) return;
      localStorage.setItem('auth_token', (await response.json()).token);
      show();
    });
    return;
  }
  const me = await (await fetch('/spa/api/me', {headers: {authorization: 'Bearer ' + token}})).json();
  root.innerHTML = '<h1 id="welcome">Hello ' + me.user + '</h1>';
}
show();`;

export function browserDemoRoutes(users: ReadonlyMap<string, string>, stats: BrowserDemoStats): Route[] {
	const csrfByVisitor = new Map<string, string>();
	const appSessions = new Map<string, string>();
	const spaTokens = new Map<string, string>();
	/** Two-step logins in progress: step token → user (and whether the password was right). */
	const steps = new Map<string, {user: string; passwordOk: boolean}>();
	const twoFactorSessions = new Map<string, string>();
	const usedCodes = new Map<string, Set<string>>();
	const totp = new TOTP({secret: Secret.fromBase32(DEMO_TOTP_SECRET), algorithm: 'SHA1', digits: 6, period: 30});
	const token = () => randomBytes(12).toString('hex');

	const appUser = (context: RequestContext): string | undefined => {
		stats.appCookieNames.push([...context.cookies.keys()]);
		return appSessions.get(context.cookies.get(APP_COOKIE) ?? '');
	};
	const twoFactorUser = (context: RequestContext) => twoFactorSessions.get(context.cookies.get(TWO_FACTOR_COOKIE) ?? '');
	const stepForm = (action: string, id: string, fields: string, hidden: Record<string, string> = {}) =>
		`<form id="${id}" method="post" action="${action}">${Object.entries(hidden)
			.map(([name, value]) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`)
			.join('')}${fields}<button type="submit">Next</button></form>`;

	return [
		{method: 'GET', pattern: /^\/app\/login$/, handler: ({response}) => sendHtml(response, 200, page('App login', '<div id="root">Loading…</div>', APP_LOGIN_SCRIPT))},
		{
			method: 'GET',
			pattern: /^\/app\/api\/csrf$/,
			handler(context) {
				const visitor = context.cookies.get('app_pre') ?? token();
				const csrf = token();
				csrfByVisitor.set(visitor, csrf);
				addCookie(context.response, `app_pre=${visitor}; Path=/app; HttpOnly; SameSite=Strict`);
				sendJson(context.response, 200, {csrf});
			},
		},
		{
			method: 'POST',
			pattern: /^\/app\/api\/login$/,
			async handler(context) {
				const body = JSON.parse((await readBody(context.request)) || '{}') as {username?: string; password?: string};
				const expected = csrfByVisitor.get(context.cookies.get('app_pre') ?? '');
				if (!expected || context.request.headers['x-csrf-token'] !== expected) {
					stats.csrfRejected++;
					return sendJson(context.response, 403, {error: 'csrf'});
				}
				if (!body.username || users.get(body.username) !== body.password) return sendJson(context.response, 401, {error: 'credentials'});
				const sid = token();
				appSessions.set(sid, body.username);
				stats.appLogins++;
				addCookie(context.response, `${APP_COOKIE}=${sid}; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600`);
				sendJson(context.response, 200, {ok: true});
			},
		},
		{
			method: 'GET',
			pattern: /^\/app\/(dashboard|item\/(\d+))$/,
			handler(context) {
				const user = appUser(context);
				if (!user) return redirect(context.response, 302, '/app/login');
				const id = context.url.pathname.split('/')[3];
				sendHtml(context.response, 200, page(id ? `Item ${id}` : 'Dashboard', id ? `<h1 class="item-title">Item ${id}</h1>` : `<h1>Welcome ${escapeHtml(user)}</h1><a href="/app/catalogue">Catalogue</a>`));
			},
		},
		{
			method: 'GET',
			pattern: /^\/app\/catalogue$/,
			handler(context) {
				if (!appUser(context)) return redirect(context.response, 302, '/app/login');
				sendHtml(context.response, 200, page('Catalogue', '<h1>Catalogue</h1><ul id="list"></ul>', APP_CATALOGUE_SCRIPT));
			},
		},
		{
			method: 'GET',
			pattern: /^\/app\/api\/catalogue$/,
			handler(context) {
				if (!appUser(context)) return sendJson(context.response, 401, {error: 'login'});
				sendJson(context.response, 200, Array.from({length: SCRIPT_ITEMS}, (_, index) => ({id: index + 1, title: `Scripted item ${index + 1}`})));
			},
		},
		{method: 'GET', pattern: /^\/spa\/$/, handler: ({response}) => sendHtml(response, 200, page('SPA', '<div id="root"></div>', SPA_SCRIPT))},
		{
			method: 'POST',
			pattern: /^\/spa\/api\/login$/,
			async handler(context) {
				const body = JSON.parse((await readBody(context.request)) || '{}') as {username?: string; password?: string};
				if (!body.username || users.get(body.username) !== body.password) return sendJson(context.response, 401, {error: 'credentials'});
				const payload = Buffer.from(JSON.stringify({sub: body.username, exp: Math.floor(Date.now() / 1000) + 3600})).toString('base64url');
				const jwt = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.${token()}`;
				spaTokens.set(jwt, body.username);
				stats.spaLogins++;
				sendJson(context.response, 200, {token: jwt});
			},
		},
		{
			method: 'GET',
			pattern: /^\/spa\/api\/(me|books)$/,
			handler(context) {
				const bearer = /^Bearer (.+)$/.exec(context.request.headers.authorization ?? '')?.[1];
				const user = bearer ? spaTokens.get(bearer) : undefined;
				if (context.url.pathname.endsWith('/books') && bearer) stats.spaAuthorizations.push(bearer);
				if (!user) return sendJson(context.response, 401, {error: 'token'});
				if (context.url.pathname.endsWith('/me')) return sendJson(context.response, 200, {user});
				const pageNumber = Number(context.url.searchParams.get('page') ?? '1');
				sendJson(context.response, 200, {page: pageNumber, books: [1, 2, 3].map((n) => ({id: (pageNumber - 1) * 3 + n})), next: pageNumber < 3 ? pageNumber + 1 : null});
			},
		},
		{method: 'GET', pattern: /^\/2fa\/login$/, handler: ({response}) => sendHtml(response, 200, page('Sign in', stepForm('/2fa/login', 'user', '<input name="username">')))},
		{
			method: 'POST',
			pattern: /^\/2fa\/login$/,
			async handler(context) {
				const form = new URLSearchParams(await readBody(context.request));
				const step = token();
				steps.set(step, {user: form.get('username') ?? '', passwordOk: false});
				sendHtml(context.response, 200, page('Password', stepForm('/2fa/password', 'password', '<input type="password" name="password">', {step})));
			},
		},
		{
			method: 'POST',
			pattern: /^\/2fa\/password$/,
			async handler(context) {
				const form = new URLSearchParams(await readBody(context.request));
				const state = steps.get(form.get('step') ?? '');
				if (!state) return sendHtml(context.response, 400, page('Expired', '<p>Start again.</p>'));
				state.passwordOk = users.get(state.user) === form.get('password');
				// The code is asked either way: the site does not tell which step was wrong.
				sendHtml(context.response, 200, page('Code', stepForm('/2fa/otp', 'otp', '<input name="code" id="code" inputmode="numeric">', {step: form.get('step') ?? ''})));
			},
		},
		{
			method: 'POST',
			pattern: /^\/2fa\/otp$/,
			async handler(context) {
				const form = new URLSearchParams(await readBody(context.request));
				const state = steps.get(form.get('step') ?? '');
				steps.delete(form.get('step') ?? '');
				const code = form.get('code') ?? '';
				const used = usedCodes.get(state?.user ?? '') ?? new Set<string>();
				if (state && used.has(code)) stats.reusedCodes++;
				const isCodeOk = !used.has(code) && totp.validate({token: code, window: 1}) !== null;
				if (!isCodeOk && !used.has(code)) stats.wrongCodes++;
				if (!state || !state.passwordOk || !isCodeOk) {
					return sendHtml(context.response, 200, page('Sign in', `<p class="error">Sign-in failed.</p>${stepForm('/2fa/login', 'user', '<input name="username">')}`));
				}
				used.add(code);
				usedCodes.set(state.user, used);
				const sid = token();
				twoFactorSessions.set(sid, state.user);
				stats.twoFactorLogins++;
				addCookie(context.response, `${TWO_FACTOR_COOKIE}=${sid}; Path=/; HttpOnly; SameSite=Lax`);
				redirect(context.response, 303, '/2fa/home');
			},
		},
		{
			method: 'GET',
			pattern: /^\/2fa\/home$/,
			handler(context) {
				const user = twoFactorUser(context);
				if (!user) return redirect(context.response, 302, '/2fa/login');
				sendHtml(context.response, 200, page('Home', `<h1 id="home">Signed in as ${escapeHtml(user)}</h1>`));
			},
		},
	];
}
