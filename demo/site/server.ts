// Wires the demo site: one node:http server, a route table, stats, an optional rate limiter.
import {createServer} from 'node:http';
import type {AddressInfo} from 'node:net';
import type {IncomingMessage, ServerResponse} from 'node:http';
import {apiRoutes} from './api.js';
import {badRoutes} from './bad.js';
import {idsByCategory} from './books.js';
import {catalogueRoutes} from './catalogue.js';
import {BodyTooLargeError, parseCookies, sendHtml, sendJson} from './http-util.js';
import type {Route} from './http-util.js';
import {browserDemoRoutes, createBrowserDemoStats, type BrowserDemoStats} from './browser-pages.js';
import {loginRoutes} from './login.js';
import {resolveOptions} from './options.js';
import type {DemoSiteOptions} from './options.js';
import {RateLimiter} from './rate-limit.js';
import {SessionStore} from './sessions.js';
import type {SiteState} from './state.js';
import {countStatus, createStats, logRequest, resetStats} from './stats.js';
import type {DemoLogEntry, DemoStats} from './stats.js';
import {TokenStore} from './tokens.js';

export interface DemoSite {
	/** Origin, e.g. `http://127.0.0.1:40123` (no trailing slash). */
	readonly url: string;
	readonly port: number;
	/** Live counters: read them after requests complete. */
	readonly stats: DemoStats;
	/** What the browser-login pages saw (demo/site/browser-pages.ts). */
	readonly browserStats: BrowserDemoStats;
	/** Number of books served (ids 1 to bookCount). */
	readonly bookCount: number;
	/** Zero the counters and clear the log, in place. */
	resetStats(): void;
	/** Expire every active form-login session now; returns how many. */
	expireSessions(): number;
	/** Stops listening and ends every connection, hanging ones included. */
	close(): Promise<void>;
}

export async function startDemoSite(options: DemoSiteOptions = {}): Promise<DemoSite> {
	const resolved = resolveOptions(options);
	const state: SiteState = {
		options: resolved,
		stats: createStats(),
		sessions: new SessionStore({maxRequests: resolved.sessionMaxRequests, ttlMs: resolved.sessionTtlMs}),
		tokens: new TokenStore(resolved.accessTokenTtlMs),
		byCategory: idsByCategory(resolved.books),
	};
	const browserStats = createBrowserDemoStats();
	const routes = [...catalogueRoutes(state), ...loginRoutes(state), ...apiRoutes(state), ...badRoutes(), ...browserDemoRoutes(resolved.users, browserStats)];
	const limiter = resolved.rateLimit && new RateLimiter(resolved.rateLimit.perSecond);
	const retryAfter = resolved.rateLimit?.retryAfter ?? false;

	const server = createServer((request, response) => {
		const entry: DemoLogEntry = {
			at: Date.now(),
			method: request.method ?? 'GET',
			path: request.url ?? '/',
			hasCookie: request.headers.cookie !== undefined,
			hasAuthorization: request.headers.authorization !== undefined,
			status: 0,
		};
		logRequest(state.stats, entry);
		if (limiter && !limiter.take(request.socket.remoteAddress ?? '')) {
			if (retryAfter) response.setHeader('retry-after', '1');
			sendHtml(response, 429, '<!doctype html><title>Too many requests</title><p>Slow down.</p>');
			return record(state.stats, entry, response);
		}
		void dispatch(routes, request, response).then(
			() => record(state.stats, entry, response),
			(error: unknown) => {
				if (!response.headersSent && error instanceof BodyTooLargeError) sendHtml(response, 413, 'Payload too large');
				else if (!response.headersSent) sendHtml(response, 500, 'Internal server error');
				else response.destroy();
				record(state.stats, entry, response);
			},
		);
	});
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(resolved.port, '127.0.0.1', () => resolve());
	});
	const {port} = server.address() as AddressInfo;
	let closing: Promise<void> | undefined;
	return {
		url: `http://127.0.0.1:${port}`,
		port,
		stats: state.stats,
		browserStats,
		bookCount: resolved.books,
		resetStats: () => resetStats(state.stats),
		expireSessions() {
			const count = state.sessions.expireAll();
			state.stats.sessionsExpired += count;
			return count;
		},
		close() {
			closing ??= new Promise<void>((resolve) => {
				server.close(() => resolve());
				server.closeAllConnections();
			});
			return closing;
		},
	};
}

async function dispatch(routes: readonly Route[], request: IncomingMessage, response: ServerResponse): Promise<void> {
	// Concatenated, not resolved against a base: a request for `//host/x` must stay a path here.
	const url = new URL(`http://127.0.0.1${request.url?.startsWith('/') ? request.url : '/'}`);
	const method = request.method === 'HEAD' ? 'GET' : (request.method ?? 'GET');
	const allowed = new Set<string>();
	for (const route of routes) {
		const match = route.pattern.exec(url.pathname);
		if (!match) continue;
		const methods = route.method.split('|');
		if (!methods.includes(method)) {
			for (const each of methods) allowed.add(each);
			continue;
		}
		const cookies = parseCookies(request.headers.cookie);
		await route.handler({request, response, url, cookies, params: match.slice(1)});
		return;
	}
	if (allowed.size > 0) {
		response.setHeader('allow', [...allowed].join(', '));
		sendHtml(response, 405, '<!doctype html><title>Method not allowed</title>');
	} else if (url.pathname.startsWith('/api/')) {
		sendJson(response, 404, {error: 'not_found'});
	} else {
		sendHtml(response, 404, '<!doctype html><title>Not found</title><h1>Not found</h1>');
	}
}

/**
 * Counted as soon as the handler has answered, not on 'finish': a test that has its response
 * in hand must already see the count.
 */
function record(stats: DemoStats, entry: DemoLogEntry, response: ServerResponse): void {
	if (!response.headersSent) return;
	entry.status = response.statusCode;
	countStatus(stats, response.statusCode);
}
