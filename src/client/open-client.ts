// openClient(definition): a crawler's sessions as a plain HTTP client, for scripts and services
// that call an authenticated API a few times. Every call goes through the same session pool,
// host throttle and retry policy as a crawl (runtime/send-with-session.ts), and the sessions it
// logs in are saved, encrypted, in the crawler's store: a crawl and a client share them.
import {CrawljarError, redactUrl} from '../errors.js';
import type {CrawlerDefinition} from '../job/types.js';
import {mergeRetryOptions} from '../policy/retry-options.js';
import {resolveRequestUrl} from '../runtime/request-url.js';
import {sendWithSession} from '../runtime/send-with-session.js';
import {openSessionRuntime} from '../runtime/session-runtime.js';
import type {SessionSummary} from '../sessions/session-persistence.js';
import type {PoolStats} from '../sessions/session-pool.js';
import {encodeBody} from '../sessions/session-http.js';
import {
	CLIENT_REQUEST_DEFAULTS,
	checkOptions,
	clientOptionsSchema,
	clientRequestSchema,
	type ClientOptions,
	type ClientRequestOptions,
	type SearchParamsInput,
} from './client-options.js';
import {HttpStatusError, toClientResponse, withShortcuts, type ClientResponse, type ResponsePromise} from './client-response.js';

export interface Client {
	get(url: string, options?: ClientRequestOptions): ResponsePromise;
	post(url: string, options?: ClientRequestOptions): ResponsePromise;
	put(url: string, options?: ClientRequestOptions): ResponsePromise;
	patch(url: string, options?: ClientRequestOptions): ResponsePromise;
	delete(url: string, options?: ClientRequestOptions): ResponsePromise;
	request(method: string, url: string, options?: ClientRequestOptions): ResponsePromise;
	/** The pool's sessions, secrets redacted (as `crawljar sessions ls` shows them). */
	sessions(): SessionSummary[];
	/** Logins, re-logins, refreshes, 401s… since the client opened (and before, for loaded sessions). */
	stats(): PoolStats;
	/** Saves sessions and host cooldowns and closes the store (if the client opened it). Idempotent. */
	close(): Promise<void>;
}

const METHOD = /^[A-Za-z]+$/;

export async function openClient(definition: CrawlerDefinition, options: ClientOptions = {}): Promise<Client> {
	checkOptions<ClientOptions>(clientOptionsSchema, options, 'openClient() options');
	const runtime = await openSessionRuntime(definition, {
		...(options.storage === undefined ? {} : {storage: options.storage}),
		...(options.storeUrl === undefined ? {} : {storeUrl: options.storeUrl}),
		...(options.store === undefined ? {} : {store: options.store}),
		...(options.secretKey === undefined ? {} : {secretKey: options.secretKey}),
		...(options.log === undefined ? {} : {log: options.log}),
	});
	let isClosed = false;

	const call = async (method: string, url: string, callOptions: ClientRequestOptions): Promise<ClientResponse> => {
		if (isClosed) throw new CrawljarError('ERR_USAGE', `${method} ${redactUrl(String(url))}: the client is closed`);
		const target = resolveTarget(url, runtime.baseUrl, callOptions.searchParams, method);
		const {body, contentType} = encodeBody(callOptions);
		const headers: Record<string, string> = contentType ? {'content-type': contentType} : {};
		for (const [name, value] of Object.entries(callOptions.headers ?? {})) headers[name.toLowerCase()] = value;
		const retry = callOptions.retry ? mergeRetryOptions(runtime.defaultRetry, callOptions.retry) : runtime.defaultRetry;
		const sent = await sendWithSession(
			runtime,
			{url: target, method, headers, ...(body === undefined ? {} : {body})},
			{retry, transient: 'retry', ...(options.maxWaitMs === undefined ? {} : {maxWaitMs: options.maxWaitMs})},
		);
		const response = toClientResponse(sent.result, target, sent.sessionId);
		const {verdict} = sent;
		if (verdict.kind === 'fail' && (callOptions.throwHttpErrors ?? CLIENT_REQUEST_DEFAULTS.throwHttpErrors)) {
			const code = verdict.code === 'ERR_LOGGED_OUT' || verdict.code === 'ERR_RATE_LIMITED' ? verdict.code : 'ERR_HTTP_STATUS';
			throw new HttpStatusError(code, method, target, response.status, verdict.reason, response);
		}
		return response;
	};

	const request = (method: string, url: string, callOptions?: ClientRequestOptions): ResponsePromise => {
		const upper = String(method).toUpperCase();
		const promise = (async () => {
			if (!METHOD.test(upper)) throw new CrawljarError('ERR_USAGE', `request(): method: expected an HTTP method name`);
			const checked = checkOptions<ClientRequestOptions>(clientRequestSchema, callOptions, `${upper.toLowerCase()}() options`);
			return call(upper, url, checked);
		})();
		return withShortcuts(promise);
	};

	return {
		get: (url, callOptions) => request('GET', url, callOptions),
		post: (url, callOptions) => request('POST', url, callOptions),
		put: (url, callOptions) => request('PUT', url, callOptions),
		patch: (url, callOptions) => request('PATCH', url, callOptions),
		delete: (url, callOptions) => request('DELETE', url, callOptions),
		request,
		sessions: () => runtime.pool.list(),
		stats: () => runtime.pool.stats(),
		async close() {
			isClosed = true;
			await runtime.close();
		},
	};
}

/** The call's URL with `searchParams` set over its query. */
function resolveTarget(url: string, baseUrl: string, searchParams: SearchParamsInput | undefined, method: string): string {
	const target = resolveRequestUrl(url, baseUrl, `${method.toLowerCase()}()`);
	if (searchParams !== undefined) {
		const extra = typeof searchParams === 'string' || searchParams instanceof URLSearchParams ? new URLSearchParams(searchParams) : Object.entries(searchParams);
		for (const [name, value] of extra) target.searchParams.set(name, String(value));
	}
	return target.href;
}
