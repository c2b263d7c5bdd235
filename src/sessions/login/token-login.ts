// Token login (issue 3 item 2): POST JSON credentials, read the tokens by path, send the access
// token as `Authorization: Bearer …`, renew it shortly before it expires (or after a 401) with
// the refresh token. A rotated refresh token replaces the old one; the pool persists the session
// before the new tokens are used, so a crash right after a rotation loses nothing.
import {CrawljarError} from '../../errors.js';
import type {Account, Session} from '../session.js';
import type {HttpResponse} from '../session-http.js';
import {invalidLoginStrategy, loginFailed, type LoginContext, type LoginStrategy} from './login-strategy.js';
import {readPath, reconcileWithJwt, resolveExpiresAt} from './token-expiry.js';
import {TOKEN_LOGIN_DEFAULTS, tokenLoginOptionsSchema, type TokenLoginOptions, type TokenPaths} from './token-login-options.js';

export type {TokenLoginOptions, TokenPaths, TokenRefreshOptions} from './token-login-options.js';


export function tokenLogin(options: TokenLoginOptions): LoginStrategy {
	// Called while the crawler file is imported: bad options must not throw here, where the error
	// could not name the file. They travel on the strategy; the definition check reports them.
	const invalid = invalidLoginStrategy('token', tokenLoginOptionsSchema, options);
	if (invalid) return invalid;
	const header = (options.header ?? TOKEN_LOGIN_DEFAULTS.header).toLowerCase();
	const scheme = options.scheme ?? TOKEN_LOGIN_DEFAULTS.scheme;
	const skewMs = options.refreshSkewMs ?? TOKEN_LOGIN_DEFAULTS.refreshSkewMs;
	const refresh = options.refresh;
	// One warning per login step, not one per session or per refresh.
	const expiry = {hasWarned: false};
	return {
		kind: 'token',
		options,
		...(options.allowInsecureLogin === undefined ? {} : {allowInsecureLogin: options.allowInsecureLogin}),
		async login(context) {
			const response = await post(context, options.url, options.body({account: context.account}), options.headers);
			if (response.status >= 400) throw loginFailed(context.account, `${response.status} from ${pathOf(response.url)}`);
			storeTokens(context, response, options, undefined, (reason) => loginFailed(context.account, reason), expiry);
		},
		...(refresh
			? {
					async refresh(context: LoginContext) {
						const refreshToken = context.session.tokens?.refreshToken;
						const fail = (reason: string) =>
							new CrawljarError('LOGIN_FAILED', `token refresh failed for account '${context.account.username}': ${reason}`);
						if (!refreshToken) throw fail('no refresh token');
						const response = await post(context, refresh.url, refresh.body({refreshToken, account: context.account}), options.headers);
						if (response.status >= 400) throw fail(`${response.status} from ${pathOf(response.url)}`);
						const paths: TokenPaths = {
							accessToken: refresh.accessToken ?? options.accessToken,
							...pick('refreshToken', refresh.refreshToken ?? options.refreshToken),
							...pick('expiresIn', refresh.expiresIn ?? options.expiresIn),
						};
						storeTokens(context, response, {...options, ...paths}, refreshToken, fail, expiry);
					},
				}
			: {}),
		needsRefresh(session: Session, now: number): boolean {
			const tokens = session.tokens;
			if (!tokens) return true;
			if (tokens.expiresAt === undefined) return false;
			// A token living 2 s with a 30 s skew would be renewed forever: cap at half its life.
			const lifetimeMs = tokens.obtainedAt === undefined ? Infinity : tokens.expiresAt - tokens.obtainedAt;
			return now >= tokens.expiresAt - Math.min(skewMs, lifetimeMs / 2);
		},
		credentialHeaders(session: Session): Record<string, string> {
			const token = session.tokens?.accessToken;
			if (token === undefined) return {};
			return {[header]: scheme ? `${scheme} ${token}` : token};
		},
	};
}

async function post(context: LoginContext, url: string, body: unknown, headers: TokenLoginOptions['headers']): Promise<HttpResponse> {
	return context.http.post(url, {json: body, headers: {accept: 'application/json', ...headers}});
}

function storeTokens(
	context: LoginContext,
	response: HttpResponse,
	options: TokenPaths & {readonly accessToken: string; readonly expiresInUnit?: 's' | 'ms'},
	previousRefreshToken: string | undefined,
	fail: (reason: string) => Error,
	expiry: {hasWarned: boolean},
): void {
	let body: unknown;
	try {
		body = JSON.parse(response.body);
	} catch {
		throw fail(`the response from ${pathOf(response.url)} is not JSON`);
	}
	const accessToken = readPath(body, options.accessToken);
	if (typeof accessToken !== 'string' || accessToken === '') {
		throw fail(`no access token at '${options.accessToken}' in the response from ${pathOf(response.url)}`);
	}
	const rawRefresh = options.refreshToken === undefined ? undefined : readPath(body, options.refreshToken);
	const refreshToken = typeof rawRefresh === 'string' && rawRefresh !== '' ? rawRefresh : previousRefreshToken;
	const now = context.now();
	const rawExpiry = options.expiresIn === undefined ? undefined : readPath(body, options.expiresIn);
	const read = resolveExpiresAt(rawExpiry, accessToken, now, options.expiresInUnit);
	const {expiresAt, overridden} = reconcileWithJwt(read, accessToken, now);
	if (overridden && !expiry.hasWarned) {
		expiry.hasWarned = true;
		context.log?.warn(
			`token login: '${options.expiresIn}' gives a lifetime of ${formatMs(overridden.readMs)} but the access token's JWT exp says ${formatMs(overridden.jwtMs)}: using exp (check expiresInUnit: '${options.expiresInUnit ?? 's'}')`,
		);
	}
	context.session.setToken({accessToken, refreshToken, expiresAt}, now);
}

function pick<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
	return value === undefined ? {} : ({[key]: value} as Record<K, string>);
}

function formatMs(ms: number): string {
	return ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms)} ms`;
}

function pathOf(url: string): string {
	return new URL(url).pathname;
}
