// The definition's page predicates (`loggedOut`, `rateLimited`) for requests sent outside the
// crawl loop (openClient, crawljar/crawlee): same arguments, same time limit, and a predicate
// that throws or times out counts as false, as in a crawl.
import {describeError, redactUrl} from '../errors.js';
import type {CrawlerDefinition, Logger, RequestInfo} from '../job/types.js';
import type {ParsedBody} from '../runner/context.js';
import {DEFAULT_HANDLER_MS, withTimeLimit} from '../runner/time-limit.js';

export type PagePredicateName = 'loggedOut' | 'rateLimited';

export async function checkPagePredicate(
	definition: CrawlerDefinition,
	name: PagePredicateName,
	request: RequestInfo,
	parsed: ParsedBody,
	log: Logger,
): Promise<boolean> {
	const predicate = definition[name];
	if (!predicate || parsed.result.status >= 300) return false;
	try {
		const context = {
			request,
			response: {status: parsed.result.status, headers: parsed.result.headers, url: parsed.result.url},
			get body() {
				return parsed.text;
			},
			get $() {
				return parsed.$;
			},
		};
		const limitMs = definition.timeouts?.handlerMs ?? DEFAULT_HANDLER_MS;
		return Boolean(await withTimeLimit(() => predicate(context), limitMs, `the ${name} check`));
	} catch (error) {
		log.warn(`${name} check threw on ${redactUrl(request.url)} (treated as false): ${describeError(error).message}`);
		return false;
	}
}

/** The RequestInfo a predicate sees for a request that is not in the crawl's frontier. */
export function adHocRequestInfo(url: string, label?: string): RequestInfo {
	return {id: 0, url, uniqueKey: url, label, userData: {}, depth: 0, retryCount: 0};
}
