// What an openClient() call resolves with, and the error a failed call throws.
import type {CheerioAPI} from 'cheerio';
import {CrawljarError, redactUrl} from '../errors.js';
import type {FetchResult} from '../http/fetch.js';
import {ParsedBody} from '../runner/context.js';

export interface ClientResponse {
	readonly status: number;
	/** The final URL, after redirects. */
	readonly url: string;
	readonly headers: Readonly<Record<string, string | string[] | undefined>>;
	/** Each URL redirected to, in order. */
	readonly redirects: readonly string[];
	/** The raw (decoded) body. */
	readonly body: Buffer;
	/** Which session sent it (`alice#1`). */
	readonly sessionId: string;
	/** The body as UTF-8 text. */
	text(): string;
	/** The body parsed as JSON; throws ERR_NOT_JSON. */
	json<T = unknown>(): T;
	/** Cheerio over the body, parsed on first use; throws ERR_NOT_HTML on a non-HTML body. */
	readonly $: CheerioAPI;
}

/** A call's promise, with ky's shortcuts: `await api.get('/me').json()`. */
export interface ResponsePromise extends Promise<ClientResponse> {
	json<T = unknown>(): Promise<T>;
	text(): Promise<string>;
}

export function toClientResponse(result: FetchResult, requestUrl: string, sessionId: string): ClientResponse {
	const parsed = new ParsedBody(result, requestUrl);
	return {
		status: result.status,
		url: result.url,
		headers: result.headers,
		redirects: result.redirects,
		body: result.body,
		sessionId,
		text: () => parsed.text,
		json: <T>() => parsed.json as T,
		get $() {
			return parsed.$;
		},
	};
}

export function withShortcuts(promise: Promise<ClientResponse>): ResponsePromise {
	return Object.assign(promise, {
		json: <T>() => promise.then((response) => response.json<T>()),
		text: () => promise.then((response) => response.text()),
	});
}

/**
 * A response the policy gave up on: ERR_HTTP_STATUS (a 4xx/5xx), ERR_LOGGED_OUT (still logged out
 * after the re-logins allowed), ERR_RATE_LIMITED (still rate-limited after the waits allowed).
 * The response rides along, non-enumerable (it may hold secrets).
 */
export class HttpStatusError extends CrawljarError {
	override name = 'HttpStatusError';
	declare readonly response: ClientResponse;

	constructor(
		code: 'ERR_HTTP_STATUS' | 'ERR_LOGGED_OUT' | 'ERR_RATE_LIMITED',
		method: string,
		url: string,
		readonly status: number,
		reason: string,
		response: ClientResponse,
	) {
		super(code, `${method} ${redactUrl(url)}: ${reason}`);
		Object.defineProperty(this, 'response', {value: response, enumerable: false});
	}
}
