// Form login with CSRF, logout, and the guard that answers a missing or expired session
// in the configured `logoutStyle`.
import {escapeHtml, layout, loginForm} from './html.js';
import {addCookie, readBody, redirect, sendHtml, sessionCookie} from './http-util.js';
import type {RequestContext, Route} from './http-util.js';
import type {SiteState} from './state.js';

export const SESSION_COOKIE = 'sid';
/** Set by GET /login before any session exists; the CSRF token is bound to it. */
export const VISITOR_COOKIE = 'presession';

const deleteSession = `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax`;

interface FormPage {
	readonly status: number;
	readonly title?: string;
	readonly next?: string | undefined;
	readonly error?: string | undefined;
	readonly username?: string | undefined;
}

/** Renders the login form with a fresh CSRF token, setting the pre-session cookie if needed. */
export function renderLoginForm(state: SiteState, context: RequestContext, page: FormPage): void {
	const {sessions} = state;
	let visitor = context.cookies.get(VISITOR_COOKIE);
	if (!sessions.hasVisitor(visitor)) {
		visitor = sessions.newVisitor();
		addCookie(context.response, sessionCookie(VISITOR_COOKIE, visitor));
	}
	const form = loginForm({csrf: sessions.issueCsrf(visitor), next: page.next, error: page.error, username: page.username});
	sendHtml(context.response, page.status, layout(page.title ?? 'Log in', form));
}

export function loginRoutes(state: SiteState): Route[] {
	const {stats, sessions, options} = state;
	const renderForm = (context: RequestContext, page: FormPage): void => renderLoginForm(state, context, page);

	async function postLogin(context: RequestContext): Promise<void> {
		const form = new URLSearchParams(await readBody(context.request));
		const next = safeNext(form.get('next') ?? context.url.searchParams.get('next'));
		const username = form.get('username') ?? '';
		if (!sessions.consumeCsrf(context.cookies.get(VISITOR_COOKIE), form.get('csrf'))) {
			stats.csrfRejected++;
			renderForm(context, {status: 403, next, username, error: 'The form expired. Please try again.'});
			return;
		}
		if (!options.users.has(username) || options.users.get(username) !== form.get('password')) {
			stats.loginFailure++;
			renderForm(context, {status: 200, next, username, error: 'Invalid username or password.'});
			return;
		}
		const visitor = context.cookies.get(VISITOR_COOKIE);
		const session = sessions.create(username, visitor, context.cookies.get(SESSION_COOKIE));
		stats.loginSuccess++;
		stats.sessionsCreated++;
		addCookie(context.response, sessionCookie(SESSION_COOKIE, session.id));
		redirect(context.response, 303, next ?? '/catalogue');
	}

	return [
		{
			method: 'GET',
			pattern: /^\/login$/,
			handler(context) {
				stats.loginPage++;
				renderForm(context, {status: 200, next: safeNext(context.url.searchParams.get('next'))});
			},
		},
		{method: 'POST', pattern: /^\/login$/, handler: postLogin},
		{
			method: 'GET|POST',
			pattern: /^\/logout$/,
			handler(context) {
				stats.logout++;
				sessions.logout(context.cookies.get(SESSION_COOKIE));
				addCookie(context.response, deleteSession);
				redirect(context.response, 303, '/login');
			},
		},
	];
}

export interface Viewer {
	/** Undefined when the page is public and nobody is logged in. */
	readonly user: string | undefined;
}

/**
 * Lets a protected page through (one authenticated request counted against the session) or
 * answers the request itself, per `logoutStyle`, and returns undefined.
 */
export function requireSession(state: SiteState, context: RequestContext): Viewer | undefined {
	const {stats, sessions, options} = state;
	const check = sessions.use(context.cookies.get(SESSION_COOKIE));
	if (check.kind === 'valid') return {user: check.session.user};
	if (check.kind === 'invalid') {
		if (check.isStale) stats.staleCookieRequests++;
		if (check.hasJustExpired) stats.sessionsExpired++;
	}
	if (!options.requireLogin) return {user: undefined};
	stats.loggedOut++;
	const {response, url} = context;
	const next = url.pathname + url.search;
	switch (options.logoutStyle) {
		case '401': {
			sendHtml(response, 401, layout('Unauthorized', '<h1>Unauthorized</h1>\n<p><a href="/login">Log in</a> to see the catalogue.</p>'));
			return undefined;
		}
		case 'redirect': {
			redirect(response, 302, `/login?next=${encodeURIComponent(next)}`);
			return undefined;
		}
		case 'soft': {
			// A 200 that is really a login page: only the page content tells the crawler.
			renderLoginForm(state, context, {status: 200, title: 'Please log in', next});
			return undefined;
		}
		case 'delete-cookie': {
			addCookie(response, deleteSession);
			const body = `<h1>Logged out</h1>\n<p class="logged-out">Your session has ended.</p>\n<p><a href="/login?next=${escapeHtml(encodeURIComponent(next))}">Log in again</a></p>`;
			sendHtml(response, 200, layout('Logged out', body));
			return undefined;
		}
	}
}

/** Only same-site paths: `next` must never become an open redirect. */
function safeNext(next: string | null): string | undefined {
	return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : undefined;
}
