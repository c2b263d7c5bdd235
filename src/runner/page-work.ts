// What crawljar does with a page the policy accepted: the page predicates (loggedOut,
// rateLimited), then the route's handler. The same code runs on the main thread and in a
// handler thread (threads/handler-thread.ts), so a handler behaves the same in both.
import {checkPagePredicate} from '../runtime/page-checks.js';
import {describeError, isCrawljarError} from '../errors.js';
import {isPermanentCode} from '../policy/judge.js';
import type {CrawlerDefinition, HandlerContext, Logger, RequestInfo, RouteHandler} from '../job/types.js';
import {createHandlerContext, type ParsedBody} from './context.js';
import type {HandlerFailure, PageReply} from './threads/messages.js';
import {DEFAULT_HANDLER_MS, withTimeLimit} from './time-limit.js';

export type PageOutcome = Omit<PageReply, 'type' | 'id'>;

export interface PageWorkDeps {
	readonly definition: CrawlerDefinition;
	readonly routes: ReadonlyMap<string, {readonly handler: RouteHandler}>;
	readonly log: Logger;
}

export async function handlePage(
	deps: PageWorkDeps,
	request: RequestInfo,
	parsed: ParsedBody,
	session: HandlerContext['session'],
	extra?: object,
): Promise<PageOutcome> {
	const {definition, log} = deps;
	// Only awaited when the definition has the predicate: each await is a turn of the microtask queue.
	const loggedOut = definition.loggedOut ? await checkPagePredicate(definition, 'loggedOut', request, parsed, log) : false;
	const rateLimited = definition.rateLimited ? await checkPagePredicate(definition, 'rateLimited', request, parsed, log) : false;
	if (loggedOut || rateLimited) return {loggedOut, rateLimited};
	const label = request.label ?? 'default';
	const route = deps.routes.get(label);
	if (!route) return {loggedOut, rateLimited, failure: {code: 'ERR_NO_ROUTE', retryable: false, message: `no route for label '${request.label}'`}};
	const {context, buffers} = createHandlerContext(request, parsed, session, log, {
		maxDepth: definition.maxDepth,
		crawlerName: definition.name,
		routes: deps.routes,
	});
	if (extra) Object.assign(context, extra);
	try {
		// Past the limit the handler is abandoned: what it pushes later stays in `buffers`, unread.
		await withTimeLimit(() => route.handler(context), definition.timeouts?.handlerMs ?? DEFAULT_HANDLER_MS, `the '${label}' handler`);
		return {loggedOut, rateLimited, handled: buffers};
	} catch (error) {
		return {loggedOut, rateLimited, failure: handlerFailureOf(error)};
	}
}

/**
 * A handler error for the policy: its own code when it is a CrawljarError (ERR_NOT_HTML…),
 * else ERR_HANDLER; `retryable` only when the handler said so (NonRetryableError, `retryable`).
 * The message is the handler's own text: what a user needs in `crawljar failed`.
 */
export function handlerFailureOf(error: unknown): HandlerFailure {
	const {code, message} = describeError(error);
	const own = (error as {retryable?: unknown} | undefined)?.retryable;
	const isPermanent = own === false || isPermanentCode(code);
	// A handler error is retried unless it is permanent: even under a network-looking code.
	return {code: isCrawljarError(error) ? code : 'ERR_HANDLER', retryable: !isPermanent, message: message.slice(0, 300)};
}
