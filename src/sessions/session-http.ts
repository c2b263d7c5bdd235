// An HTTP client bound to one session, for login steps: every call goes through fetchPage with
// the session's jar (cookies kept across calls and redirect hops), the crawler's default headers
// and the session's extra headers. Credentials in a body never go over plain http to a remote host.
import type {CheerioAPI} from 'cheerio';
// slim: htmlparser2 only (what `xml: {xmlMode: false}` parses with anyway), without the parse5
// and undici that the full entry loads: ~130 ms less to start a process or a handler thread.
import {load} from 'cheerio/slim';
import {CrawljarError, redactUrl} from '../errors.js';
import {fetchPage, withoutBodyHeaders, type FetchOptions, type FetchResult} from '../http/fetch.js';
import type {Session} from './session.js';

/** The fetch settings the crawler applies to every request (login requests included). */
export type FetchDefaults = Pick<FetchOptions, 'headers' | 'timeouts' | 'maxBodyBytes' | 'maxRedirects' | 'useHeaderGenerator' | 'ignoreTlsErrors'>;

export interface HttpResponse {
	readonly status: number;
	/** The final URL, after redirects. */
	readonly url: string;
	readonly headers: Readonly<Record<string, string | string[] | undefined>>;
	readonly redirects: readonly string[];
	/** The body decoded as UTF-8. */
	readonly body: string;
	json<T = unknown>(): T;
	/** Cheerio, parsed on first access. */
	readonly $: CheerioAPI;
}

export interface HttpRequestOptions {
	readonly headers?: Readonly<Record<string, string>>;
}

export interface HttpPostOptions extends HttpRequestOptions {
	/** Sent as application/x-www-form-urlencoded. */
	readonly form?: Readonly<Record<string, string>>;
	/** Sent as application/json. */
	readonly json?: unknown;
	/** Sent as is (set content-type yourself). */
	readonly body?: string | Buffer;
}

export interface SessionHttp {
	get(url: string, options?: HttpRequestOptions): Promise<HttpResponse>;
	post(url: string, options?: HttpPostOptions): Promise<HttpResponse>;
	request(method: string, url: string, options?: HttpPostOptions): Promise<HttpResponse>;
}

/** A hop of a redirect chain to send again by itself: the URL and the method it was sent with. */
export interface RedirectHop {
	readonly url: string;
	readonly method: string;
}

/**
 * Sends one login request: the pool passes one that takes a host-throttle slot around `send`
 * and judges the outcome (session-logins.ts); it may throw to make the login wait and go again.
 * `resendHop`, when given, sends one hop of the request's redirect chain again by itself (with
 * the same session, headers and, for a 307/308, body).
 */
export type LoginRequestSender = (
	url: string,
	method: string,
	send: () => Promise<FetchResult>,
	resendHop?: (hop: RedirectHop) => Promise<FetchResult>,
) => Promise<FetchResult>;

export interface SessionHttpOptions {
	/** Relative URLs resolve against it (the crawler's first start URL). */
	readonly baseUrl: string;
	readonly fetchDefaults: FetchDefaults;
	/** Headers sent to the first URL's origin only (Authorization…), e.g. from a token already held. */
	readonly credentialHeaders?: Readonly<Record<string, string>>;
	/** Allow a request body over plain http to a non-loopback host. @default false */
	readonly allowInsecureLogin?: boolean;
	/** @default sends at once, unthrottled and unjudged */
	readonly send?: LoginRequestSender;
}

export function createSessionHttp(session: Session, options: SessionHttpOptions): SessionHttp {
	const request = async (method: string, url: string, init: HttpPostOptions = {}): Promise<HttpResponse> => {
		const target = new URL(url, options.baseUrl).href;
		const {body, contentType} = encodeBody(init);
		if (body !== undefined) assertSecureTransport(target, session.username, options.allowInsecureLogin ?? false);
		const headers: Record<string, string> = {...options.fetchDefaults.headers, ...session.headers};
		if (contentType) headers['content-type'] = contentType;
		Object.assign(headers, lowerKeys(init.headers ?? {}));
		const sendTo = (to: string, hopMethod: string, hopBody: string | Buffer | undefined) => {
			if (hopBody !== undefined && to !== target) assertSecureTransport(to, session.username, options.allowInsecureLogin ?? false);
			// Credential headers go to the first URL's origin only, as on a redirect.
			const sameOrigin = new URL(to).origin === new URL(target).origin;
			return fetchPage(to, {
				...options.fetchDefaults,
				method: hopMethod,
				headers: hopBody === undefined && body !== undefined ? withoutBodyHeaders(headers) : headers,
				...(options.credentialHeaders && sameOrigin ? {credentialHeaders: options.credentialHeaders} : {}),
				...(hopBody === undefined ? {} : {body: hopBody}),
				jar: session.jar,
				sessionToken: session.sessionToken,
			});
		};
		const send = () => sendTo(target, method, body);
		// A hop a 303 (or a 301/302 after a POST) turned into a GET goes without the body.
		const resendHop = (hop: RedirectHop) => sendTo(hop.url, hop.method, hop.method === 'GET' || hop.method === 'HEAD' ? undefined : body);
		const result = options.send ? await options.send(target, method.toUpperCase(), send, resendHop) : await send();
		return toHttpResponse(result.status, result.url, result.headers, result.redirects, result.body.toString('utf8'));
	};
	return {
		get: (url, init) => request('GET', url, init),
		post: (url, init) => request('POST', url, init),
		request,
	};
}

export function toHttpResponse(
	status: number,
	url: string,
	headers: Readonly<Record<string, string | string[] | undefined>>,
	redirects: readonly string[],
	body: string,
): HttpResponse {
	let $: CheerioAPI | undefined;
	return {
		status,
		url,
		headers,
		redirects,
		body,
		json<T>(): T {
			try {
				return JSON.parse(body) as T;
			} catch (error) {
				throw new CrawljarError('ERR_NOT_JSON', `expected JSON from ${redactUrl(url)} (status ${status})`, {cause: error});
			}
		},
		get $() {
			$ ??= load(body, {xml: {xmlMode: false}});
			return $;
		},
	};
}

export function encodeBody(init: HttpPostOptions): {body: string | Buffer | undefined; contentType: string | undefined} {
	if (init.form) return {body: new URLSearchParams(init.form).toString(), contentType: 'application/x-www-form-urlencoded'};
	if (init.json !== undefined) return {body: JSON.stringify(init.json), contentType: 'application/json'};
	return {body: init.body, contentType: undefined};
}

function lowerKeys(headers: Readonly<Record<string, string>>): Record<string, string> {
	return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

/** Loopback is the one place plain http cannot be sniffed on the way (issue 3 item 6). */
export function isLoopbackHost(hostname: string): boolean {
	const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
	return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Throws ERR_INSECURE_CREDENTIALS before credentials would go over plain http to a remote host. */
export function assertSecureTransport(url: string, username: string, allowInsecureLogin: boolean): void {
	const parsed = new URL(url);
	if (allowInsecureLogin || parsed.protocol === 'https:' || isLoopbackHost(parsed.hostname)) return;
	throw new CrawljarError(
		'ERR_INSECURE_CREDENTIALS',
		`refusing to send the credentials of account '${username}' over plain http to ${parsed.host}: use https, or set allowInsecureLogin: true if you accept the risk`,
	);
}

