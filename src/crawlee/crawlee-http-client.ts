// Crawlee's HttpCrawler and CheerioCrawler send every navigation (and `sendRequest`) through an
// `httpClient`. This one sends them through crawljar's sessions: the session's cookie jar and
// tokens, a login when due, and the policy acted on in place — a logout re-logs-in that session
// (single-flight) and the request goes again, a 429 cools the host for every Crawlee worker and
// the request goes again after it — so Crawlee sees neither, spends no retry on them and retires
// no session. 5xx and network errors go back to Crawlee, which retries them with its own count.
// Type-only imports: importing this module never loads Crawlee.
import {Readable} from 'node:stream';
import type {BaseHttpClient, HttpRequest, HttpResponse, ResponseTypes, StreamingHttpResponse} from 'crawlee';
import {CrawljarError, redactUrl} from '../errors.js';
import type {FetchResult} from '../http/fetch.js';
import type {ResolvedRetryOptions} from '../policy/retry-options.js';
import {sendWithSession} from '../runtime/send-with-session.js';
import type {SessionRuntime} from '../runtime/session-runtime.js';

export interface CrawleeClientSettings {
	readonly retry: ResolvedRetryOptions;
	readonly maxWaitMs: number;
}

/** Headers the session owns (its jar, its tokens) or that the HTTP layer computes. */
const DROPPED_HEADERS = new Set(['cookie', 'host', 'content-length', 'connection', 'transfer-encoding']);

export function crawleeHttpClient(runtime: SessionRuntime, settings: CrawleeClientSettings): BaseHttpClient {
	const send = async (request: HttpRequest<keyof ResponseTypes>): Promise<FetchResult> => {
		const url = String(request.url);
		const method = (request.method ?? 'GET').toUpperCase();
		const body = request.body;
		if (body !== undefined && typeof body !== 'string' && !Buffer.isBuffer(body)) {
			throw new CrawljarError('ERR_USAGE', `${method} ${redactUrl(url)}: crawljar's Crawlee client sends string or Buffer bodies only`);
		}
		const sent = await sendWithSession(
			runtime,
			{url, method, headers: plainHeaders(request.headers), ...(body === undefined ? {} : {body})},
			{retry: settings.retry, transient: 'return', maxWaitMs: settings.maxWaitMs},
		);
		const {verdict} = sent;
		// Still logged out after the re-logins allowed, or still rate-limited after the waits allowed: a Crawlee failure.
		if (verdict.kind === 'fail' && (verdict.code === 'ERR_LOGGED_OUT' || verdict.code === 'ERR_RATE_LIMITED')) {
			throw new CrawljarError(verdict.code, `${method} ${redactUrl(url)}: ${verdict.reason}`);
		}
		return sent.result;
	};
	return {
		async stream(request): Promise<StreamingHttpResponse> {
			const result = await send(request);
			const progress = {percent: 1, transferred: result.body.length, total: result.body.length};
			return {
				...responseData(result),
				request,
				stream: Readable.from([result.body]),
				downloadProgress: progress,
				uploadProgress: {percent: 1, transferred: 0},
			};
		},
		async sendRequest<T extends keyof ResponseTypes = 'text'>(request: HttpRequest<T>): Promise<HttpResponse<T>> {
			const result = await send(request);
			const type = request.responseType ?? 'text';
			const text = () => result.body.toString(request.encoding ?? 'utf8');
			const body = type === 'buffer' ? result.body : type === 'json' ? JSON.parse(text()) : text();
			return {...responseData(result), request, body} as HttpResponse<T>;
		},
	};
}

function responseData(result: FetchResult) {
	return {
		url: result.url,
		redirectUrls: result.redirects.map((url) => new URL(url)),
		statusCode: result.status,
		headers: {...result.headers},
		trailers: {},
		complete: true,
	};
}

function plainHeaders(headers: HttpRequest['headers']): Record<string, string> {
	const plain: Record<string, string> = {};
	for (const [name, value] of Object.entries(headers ?? {})) {
		const lower = name.toLowerCase();
		if (value === undefined || DROPPED_HEADERS.has(lower)) continue;
		plain[lower] = Array.isArray(value) ? value.join(', ') : value;
	}
	return plain;
}
