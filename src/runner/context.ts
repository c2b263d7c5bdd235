// The handler context: lazy `$` and `json`, and buffers for push/enqueue that the runner
// commits atomically with the request's "done" mark.
import type {CheerioAPI} from 'cheerio';
// slim: htmlparser2 only (what `xml: {xmlMode: false}` parses with anyway), without the parse5
// and undici that the full entry loads: ~130 ms less to start a process or a handler thread.
import {load} from 'cheerio/slim';
import {CrawljarError, NonRetryableError, redactUrl} from '../errors.js';
import type {FetchResult} from '../http/fetch.js';
import type {EnqueueOptions, HandlerContext, Logger, RequestInfo, ResponseInfo, StartRequest} from '../job/types.js';
import type {Session} from '../sessions/session.js';
import type {NewRequest} from '../store/store.js';
import {globToRegExp, normalizeUrl, resolveHttpUrl} from './urls.js';

export interface ContextLimits {
	readonly maxDepth: number | undefined;
	readonly crawlerName: string;
	/** The crawler's route labels: enqueue() refuses a label none handles. */
	readonly routes: ReadonlyMap<string, unknown>;
}

/**
 * enqueue() with a label no route handles (a typo such as 'isue'): fails the handler at once,
 * not retried, instead of storing requests that would each be fetched and then fail.
 */
export class NoRouteError extends CrawljarError {
	override name = 'NoRouteError';
	readonly retryable = false;

	constructor(label: string | undefined, routes: Iterable<string>) {
		const known = [...routes].map((name) => `'${name}'`).join(', ');
		super(
			'ERR_NO_ROUTE',
			label === undefined
				? `enqueue() without a label needs a \`default\` route (routes: ${known})`
				: `enqueue(): no route for label '${label}' (routes: ${known})`,
		);
	}
}

/** What a handler sees of a response (a handler thread gets only this of the FetchResult). */
export type PageResponse = Pick<FetchResult, 'url' | 'status' | 'headers' | 'body'>;

/** Parsed views of a response body, each computed once, on first use. */
export class ParsedBody {
	#text: string | undefined;
	#cheerio: CheerioAPI | undefined;
	#json: {value: unknown} | undefined;

	constructor(
		readonly result: PageResponse,
		readonly requestUrl: string,
	) {}

	get text(): string {
		this.#text ??= this.result.body.toString('utf8');
		return this.#text;
	}

	get contentType(): string {
		const value = this.result.headers['content-type'];
		return (Array.isArray(value) ? value[0] : value)?.toLowerCase() ?? '';
	}

	get isHtml(): boolean {
		const type = this.contentType;
		if (type) return type.includes('html') || type.includes('xml');
		return this.text.trimStart().startsWith('<');
	}

	get $(): CheerioAPI {
		if (!this.#cheerio) {
			if (!this.isHtml) {
				throw new CrawljarError(
					'ERR_NOT_HTML',
					`${redactUrl(this.result.url)} is ${this.contentType || 'not HTML'}, not HTML: use ctx.json or ctx.body`,
				);
			}
			// htmlparser2 instead of parse5: ~2x faster on plain HTML (see DESIGN.md measurements).
			this.#cheerio = load(this.text, {xml: {xmlMode: false, decodeEntities: true}, baseURI: this.result.url});
		}
		return this.#cheerio;
	}

	get json(): unknown {
		if (!this.#json) {
			try {
				this.#json = {value: JSON.parse(this.text)};
			} catch (error) {
				throw new CrawljarError('ERR_NOT_JSON', `${redactUrl(this.result.url)}: body is not valid JSON`, {cause: error});
			}
		}
		return this.#json.value;
	}
}

export interface ContextBuffers {
	readonly items: unknown[];
	/** JSON of each item, serialized once when pushed (the store writes it as is). */
	readonly itemsJson: string[];
	readonly enqueued: NewRequest[];
}

export function createHandlerContext(
	request: RequestInfo,
	parsed: ParsedBody,
	session: Session | undefined,
	log: Logger,
	limits: ContextLimits,
): {context: HandlerContext; buffers: ContextBuffers} {
	const buffers: ContextBuffers = {items: [], itemsJson: [], enqueued: []};
	const response: ResponseInfo = {
		status: parsed.result.status,
		headers: parsed.result.headers,
		url: parsed.result.url,
	};
	const context: HandlerContext = {
		request,
		response,
		get body() {
			return parsed.text;
		},
		rawBody: parsed.result.body,
		get $() {
			return parsed.$;
		},
		get json() {
			return parsed.json;
		},
		async push(item) {
			const items = Array.isArray(item) ? (item as unknown[]) : [item];
			// Checked here so only this request fails, not the whole commit batch it would join.
			const jsons = items.map((entry) => serialize(entry, request.url));
			buffers.items.push(...items);
			buffers.itemsJson.push(...jsons);
		},
		async enqueue(options) {
			// The label is checked even when no link matched: the typo must show on the first page.
			if (options.label !== undefined && !limits.routes.has(options.label)) throw new NoRouteError(options.label, limits.routes.keys());
			const added = collectLinks(options, parsed, request, limits);
			const unrouted = added.find((link) => !limits.routes.has(link.label ?? 'default'));
			if (unrouted) throw new NoRouteError(unrouted.label, limits.routes.keys());
			buffers.enqueued.push(...added);
			return added.length;
		},
		session,
		log,
		crawler: {name: limits.crawlerName},
	};
	return {context, buffers};
}

/** The item's JSON; throws a NonRetryableError for what the store could not write. */
function serialize(item: unknown, url: string): string {
	let json: string | undefined;
	try {
		json = JSON.stringify(item);
	} catch (error) {
		throw new NonRetryableError(`push(): item is not JSON-serializable (${(error as Error).message}) at ${redactUrl(url)}`);
	}
	if (json === undefined) throw new NonRetryableError(`push(): ${typeof item} is not a storable item at ${redactUrl(url)}`);
	return json;
}

function collectLinks(options: EnqueueOptions, parsed: ParsedBody, request: RequestInfo, limits: ContextLimits): NewRequest[] {
	const depth = request.depth + 1;
	if (limits.maxDepth !== undefined && depth > limits.maxDepth) return [];
	const base = parsed.result.url;
	const candidates: StartRequest[] = [];
	if (options.selector) {
		const $ = parsed.$;
		$(options.selector).each((_, element) => {
			const href = $(element).attr('href') ?? $(element).attr('src');
			if (href) candidates.push({url: href});
		});
	}
	for (const entry of options.urls ?? []) candidates.push(typeof entry === 'string' ? {url: entry} : entry);

	const baseOrigin = new URL(base).origin;
	const globs = options.globs?.map(globToRegExp);
	const regexes = options.regex === undefined ? undefined : Array.isArray(options.regex) ? options.regex : [options.regex];
	const seen = new Set<string>();
	const accepted: NewRequest[] = [];
	for (const candidate of candidates) {
		const url = resolveHttpUrl(candidate.url, base);
		if (!url) continue;
		if (options.sameOrigin !== false && new URL(url).origin !== baseOrigin) continue;
		if (globs && !globs.some((glob) => glob.test(url))) continue;
		if (regexes && !regexes.some((regex: RegExp) => regex.test(url))) continue;
		const uniqueKey = candidate.uniqueKey ?? options.uniqueKey?.(url) ?? normalizeUrl(url);
		if (seen.has(uniqueKey)) continue;
		seen.add(uniqueKey);
		const headers = candidate.headers ?? options.headers;
		accepted.push({
			url,
			uniqueKey,
			label: candidate.label ?? options.label,
			userData: {...options.userData, ...candidate.userData},
			...(headers ? {headers} : {}),
			depth,
		});
	}
	return accepted;
}
