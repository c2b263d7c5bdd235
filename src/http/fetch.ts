// One HTTP exchange through got-scraping, nothing more: no retries, no status judgement.
// Redirects are followed here, by hand, so that every hop gets its own Cookie header from the
// session's jar, credentials never cross to another origin, loops are caught and the caller
// sees every hop (redirect-to-login detection needs them).
import {Cookie, type CookieJar} from 'tough-cookie';
import {CrawljarError, redactUrl} from '../errors.js';
import {isSamePage} from '../util/same-page.js';
import {CERTIFICATE_HINT, isCertificateCode} from './certificate-codes.js';
import {cookieHeader} from './cookie-header.js';
import {FETCH_DEFAULTS} from './fetch-defaults.js';
import {loadGotClient} from './got-client.js';
import {stampOrigin} from './cookie-origin.js';
import {ACCEPT_ENCODING, decodeBody} from './decode-body.js';

export interface FetchTimeouts {
	/** @default 10_000 */
	readonly connectMs?: number;
	/** Time to the response headers once the request is sent. @default 30_000 */
	readonly responseMs?: number;
	/** The whole exchange, body included. @default 60_000 */
	readonly totalMs?: number;
}

export interface FetchOptions {
	readonly method?: string;
	readonly headers?: Readonly<Record<string, string>>;
	/** Headers sent only to the first URL's origin (Authorization, …); dropped on cross-origin redirects. */
	readonly credentialHeaders?: Readonly<Record<string, string>>;
	readonly body?: string | Buffer;
	/**
	 * Every hop sends the cookies of this jar that tough-cookie's rules allow AND that the hop's
	 * origin set (host-only), or its scheme and port (Domain=): see cookie-origin.ts.
	 */
	readonly jar?: CookieJar;
	/** got-scraping caches generated browser headers per token: pass one object per session. */
	readonly sessionToken?: object;
	/** @default 10 * 1024 * 1024 */
	readonly maxBodyBytes?: number;
	/** @default 10 */
	readonly maxRedirects?: number;
	/** @default true */
	readonly followRedirects?: boolean;
	/**
	 * Do not follow a redirect to this page (origin + path): the session's login page. The hop is
	 * still listed in `redirects`; fetching the form would only cost a request and could spoil
	 * the CSRF token of a re-login running at the same time.
	 */
	readonly stopRedirectAt?: string;
	readonly timeouts?: FetchTimeouts;
	/** got-scraping's browser-like header generation. @default true */
	readonly useHeaderGenerator?: boolean;
	/** Accept a TLS certificate that does not verify (self-signed, expired, wrong host). @default false */
	readonly ignoreTlsErrors?: boolean;
}

export interface FetchResult {
	/** The final URL, after redirects. */
	readonly url: string;
	readonly status: number;
	readonly headers: Readonly<Record<string, string | string[] | undefined>>;
	readonly body: Buffer;
	/** Each URL redirected to, in order (the final URL last). */
	readonly redirects: readonly string[];
	/**
	 * The method of the last request sent: a 303, or a 301/302 after a POST, made it a GET.
	 * Absent when a browser made the request.
	 */
	readonly method?: string;
	/** Names of cookies any hop deleted (Max-Age<=0 or an Expires in the past). */
	readonly deletedCookies: readonly string[];
	/** Set-Cookie lines the jar rejected (malformed, wrong domain): ignored, reported. */
	readonly rejectedCookies: number;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const DEFAULT_MAX_BODY = FETCH_DEFAULTS.maxBodyBytes;

export async function fetchPage(url: string, options: FetchOptions = {}): Promise<FetchResult> {
	const maxRedirects = options.maxRedirects ?? FETCH_DEFAULTS.maxRedirects;
	let parsed = new URL(url);
	const firstOrigin = parsed.origin;
	let method = (options.method ?? 'GET').toUpperCase();
	let body = options.body;
	let current = url;
	const redirects: string[] = [];
	const visited = new Set<string>();
	const deletedCookies: string[] = [];
	let rejectedCookies = 0;
	const deadline = Date.now() + (options.timeouts?.totalMs ?? FETCH_DEFAULTS.timeouts.totalMs);

	// A redirect that turned a POST into a GET sends no body, so neither the headers that describe
	// one (as browsers do: the Fetch standard's request-body-header names).
	let isBodyDropped = false;

	for (;;) {
		const headers: Record<string, string> = isBodyDropped ? withoutBodyHeaders(options.headers) : {...options.headers};
		if (parsed.origin === firstOrigin) Object.assign(headers, options.credentialHeaders);
		if (options.jar) {
			const cookie = cookieHeader(options.jar, current, parsed);
			if (cookie) headers.cookie = cookie;
		}
		const response = await exchange(current, method, headers, body, options, deadline);
		if (options.jar && response.headers['set-cookie']) {
			rejectedCookies += storeCookies(options.jar, current, response.headers['set-cookie'], deletedCookies);
		}
		const location = response.headers.location;
		const isRedirect = options.followRedirects !== false && REDIRECT_STATUSES.has(response.statusCode) && typeof location === 'string';
		const next = isRedirect ? resolveLocation(location, current) : undefined;
		const isStopped = next !== undefined && options.stopRedirectAt !== undefined && isSamePage(next, options.stopRedirectAt);
		if (isStopped) redirects.push(next);
		if (next === undefined || isStopped) {
			return {url: current, status: response.statusCode, headers: response.headers, body: response.rawBody, redirects, method, deletedCookies, rejectedCookies};
		}
		// 303 always, and 301/302 after a POST, turn into a GET without a body (as browsers do).
		const nextMethod = response.statusCode === 303 || ((response.statusCode === 301 || response.statusCode === 302) && method === 'POST') ? 'GET' : method;
		// A hop is a loop only when the same request (method and URL) was already sent: a POST
		// answered by a redirect to its own URL, followed as a GET, is Post/Redirect/Get.
		visited.add(`${method} ${current}`);
		if (visited.has(`${nextMethod} ${next}`)) {
			throw new CrawljarError('ERR_REDIRECT_LOOP', `Redirect loop at ${redactUrl(next)} (from ${redactUrl(url)})`);
		}
		if (redirects.length >= maxRedirects) {
			throw new CrawljarError('ERR_TOO_MANY_REDIRECTS', `More than ${maxRedirects} redirects from ${redactUrl(url)}`);
		}
		if (nextMethod !== method) {
			method = nextMethod;
			body = undefined;
			isBodyDropped = true;
		}
		redirects.push(next);
		current = next;
		parsed = new URL(next);
	}
}

const BODY_HEADERS = new Set(['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location']);

/** The headers without those that describe a body: for a request that no longer has one. */
export function withoutBodyHeaders(headers: Readonly<Record<string, string>> | undefined): Record<string, string> {
	const kept: Record<string, string> = {};
	for (const name in headers) if (!BODY_HEADERS.has(name.toLowerCase())) kept[name] = headers[name]!;
	return kept;
}

function resolveLocation(location: string, base: string): string {
	try {
		return new URL(location, base).href;
	} catch {
		throw new CrawljarError('ERR_NETWORK', `Invalid redirect location from ${redactUrl(base)}`);
	}
}

interface RawResponse {
	statusCode: number;
	headers: Record<string, string | string[] | undefined>;
	rawBody: Buffer;
}

async function exchange(
	url: string,
	method: string,
	headers: Record<string, string>,
	body: string | Buffer | undefined,
	options: FetchOptions,
	deadline: number,
): Promise<RawResponse> {
	const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
	let tooLarge = false;
	const gotClient = await loadGotClient();
	const remainingMs = Math.max(1, deadline - Date.now());
	// decompress, redirects, retries, responseType: set once in loadGotClient.
	const request = gotClient({
		url,
		method: method as 'GET',
		headers: hasHeader(headers, 'accept-encoding') ? headers : {...headers, 'accept-encoding': ACCEPT_ENCODING},
		...(body === undefined ? {} : {body}),
		...(options.sessionToken ? {sessionToken: options.sessionToken} : {}),
		useHeaderGenerator: options.useHeaderGenerator ?? FETCH_DEFAULTS.useHeaderGenerator,
		...(options.ignoreTlsErrors ? {https: {rejectUnauthorized: false}} : {}),
		timeout: {
			connect: options.timeouts?.connectMs ?? FETCH_DEFAULTS.timeouts.connectMs,
			response: options.timeouts?.responseMs ?? FETCH_DEFAULTS.timeouts.responseMs,
			request: remainingMs,
		},
	});
	// got has no body limit: stop the download as soon as the declared or received (still encoded)
	// size is too big; decodeBody then bounds the decoded size.
	request.on('downloadProgress', (progress: {transferred: number; total?: number}) => {
		if (progress.transferred > maxBodyBytes || (progress.total ?? 0) > maxBodyBytes) {
			tooLarge = true;
			request.cancel();
		}
	});
	try {
		const response = await request;
		const headers = response.headers;
		const encoding = headers['content-encoding'];
		const decoded = await decodeBody(response.rawBody ?? Buffer.alloc(0), encoding, maxBodyBytes, url);
		// As got did: a decoded body no longer has the encoding (nor its length).
		if (decoded.decoded && encoding !== undefined) {
			delete headers['content-encoding'];
			delete headers['content-length'];
		}
		return {statusCode: response.statusCode, headers, rawBody: decoded.body};
	} catch (error) {
		if (error instanceof CrawljarError) throw error;
		if (tooLarge) {
			throw new CrawljarError('ERR_BODY_TOO_LARGE', `Body over maxBodyBytes (${maxBodyBytes}) at ${redactUrl(url)}`);
		}
		throw toFetchError(error, url);
	}
}

function hasHeader(headers: Record<string, string>, lowerName: string): boolean {
	for (const name in headers) if (name.toLowerCase() === lowerName) return true;
	return false;
}

const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT']);

/** Keeps the network code (ECONNREFUSED, ETIMEDOUT…) the retry policy classifies on. */
function toFetchError(error: unknown, url: string): CrawljarError {
	const raw = error as {code?: string; name?: string; message?: string};
	const networkCode = typeof raw.code === 'string' ? raw.code : 'ERR_NETWORK';
	const isTimeout = TIMEOUT_CODES.has(networkCode) || raw.name === 'TimeoutError';
	const hint = isCertificateCode(networkCode) ? `: ${CERTIFICATE_HINT}` : '';
	const wrapped = new CrawljarError(
		isTimeout ? 'ERR_TIMEOUT' : 'ERR_NETWORK',
		`${networkCode}: ${raw.message ?? 'request failed'} (${redactUrl(url)})${hint}`.replace(url, redactUrl(url)),
		{cause: error},
	);
	Object.defineProperty(wrapped, 'networkCode', {value: networkCode, enumerable: false});
	return wrapped;
}

export function networkCodeOf(error: unknown): string | undefined {
	return (error as {networkCode?: string} | undefined)?.networkCode;
}

function storeCookies(
	jar: CookieJar,
	url: string,
	setCookie: string | string[] | undefined,
	deleted: string[],
): number {
	if (!setCookie) return 0;
	const lines = Array.isArray(setCookie) ? setCookie : [setCookie];
	let rejected = 0;
	for (const line of lines) {
		if (isDeletion(line)) {
			const name = line.slice(0, line.indexOf('=')).trim();
			if (name) deleted.push(name);
		}
		try {
			// Parsed here to record the origin that set it, whatever the jar (cookie-origin.ts).
			const parsed = Cookie.parse(line);
			// ignoreError: a malformed or foreign-domain cookie is dropped, the request goes on.
			const stored = parsed ? jar.setCookieSync(stampOrigin(parsed, url), url, {ignoreError: true}) : undefined;
			if (!stored && !isDeletion(line)) rejected++;
		} catch {
			rejected++;
		}
	}
	return rejected;
}

function isDeletion(line: string): boolean {
	const maxAge = /;\s*max-age\s*=\s*(-?\d+)/i.exec(line);
	if (maxAge) return Number(maxAge[1]) <= 0;
	const expires = /;\s*expires\s*=\s*([^;]+)/i.exec(line);
	if (expires) {
		const when = Date.parse(expires[1]!);
		return Number.isFinite(when) && when < Date.now();
	}
	return false;
}
