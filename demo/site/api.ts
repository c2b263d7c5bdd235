// The JSON API: token login and refresh, and the books behind a Bearer token.
import type {ServerResponse} from 'node:http';
import {expectedBook} from './books.js';
import {intParam, readBody, sendJson} from './http-util.js';
import type {RequestContext, Route} from './http-util.js';
import type {SiteState} from './state.js';

export function apiRoutes(state: SiteState): Route[] {
	const {options, stats, tokens} = state;

	/** The signed-in user, or undefined once a 401 has been sent. */
	function authorize({request, response}: RequestContext): string | undefined {
		const check = tokens.check(request.headers.authorization);
		if (check.kind === 'valid') {
			stats.apiRequests++;
			return check.user;
		}
		if (check.kind === 'expired') {
			if (check.isStale) stats.staleTokenRequests++;
			response.setHeader('www-authenticate', 'Bearer error="invalid_token", error_description="The access token expired"');
			sendJson(response, 401, {error: 'token_expired'});
			return undefined;
		}
		response.setHeader('www-authenticate', check.kind === 'missing' ? 'Bearer' : 'Bearer error="invalid_token"');
		sendJson(response, 401, {error: check.kind === 'missing' ? 'missing_token' : 'invalid_token'});
		return undefined;
	}

	return [
		{
			method: 'POST',
			pattern: /^\/api\/auth\/login$/,
			async handler(context) {
				const body = await readJson(context);
				if (!body) return;
				const {username, password} = body;
				if (typeof username !== 'string' || options.users.get(username) !== password) {
					stats.tokenLoginFailure++;
					sendJson(context.response, 401, {error: 'invalid_credentials'});
					return;
				}
				stats.tokenLogin++;
				sendJson(context.response, 200, {data: tokens.login(username)});
			},
		},
		{
			method: 'POST',
			pattern: /^\/api\/auth\/refresh$/,
			async handler(context) {
				const body = await readJson(context);
				if (!body) return;
				const result = tokens.refresh(typeof body['refresh_token'] === 'string' ? body['refresh_token'] : '');
				if (result.kind === 'rotated') {
					stats.tokenRefresh++;
					sendJson(context.response, 200, {data: result.tokens});
					return;
				}
				if (result.kind === 'reused') stats.refreshReuseRejected++;
				const error = {reused: 'refresh_token_reused', revoked: 'refresh_token_revoked', unknown: 'invalid_refresh_token'};
				sendJson(context.response, 401, {error: error[result.kind]});
			},
		},
		{
			method: 'GET',
			pattern: /^\/api\/books$/,
			handler(context) {
				if (!authorize(context)) return;
				const page = intParam(context.url, 'page', 1);
				const first = (page - 1) * options.perPage + 1;
				const last = Math.min(options.books, page * options.perPage);
				const items = [];
				for (let id = first; id <= last; id++) {
					const {title, price} = expectedBook(id);
					items.push({id, title, price});
				}
				sendJson(context.response, 200, {items, next: last < options.books ? `/api/books?page=${page + 1}` : null});
			},
		},
		{
			method: 'GET',
			pattern: /^\/api\/books\/(\d+)$/,
			handler(context) {
				if (!authorize(context)) return;
				const id = Number(context.params[0]);
				if (!(id >= 1 && id <= options.books)) return notFoundJson(context.response);
				const {title, price, stock, rating, category} = expectedBook(id);
				sendJson(context.response, 200, {id, title, price, stock, rating, category});
			},
		},
	];
}

async function readJson({request, response}: RequestContext): Promise<Record<string, unknown> | undefined> {
	try {
		const value: unknown = JSON.parse(await readBody(request));
		if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
	} catch (error) {
		if (!(error instanceof SyntaxError)) throw error;
	}
	sendJson(response, 400, {error: 'invalid_request'});
	return undefined;
}

export function notFoundJson(response: ServerResponse): void {
	sendJson(response, 404, {error: 'not_found'});
}
