// A handler thread: loads the crawler file itself (functions cannot be sent between threads),
// then runs page predicates and route handlers for the main thread, which keeps HTTP, sessions
// and the store. Several pages are handled at once: handlers are async, as on the main thread.
import {parentPort, workerData} from 'node:worker_threads';
import {CrawljarError} from '../../errors.js';
import {loadCrawlerFile} from '../../job/load.js';
import type {Logger, RouteHandler} from '../../job/types.js';
import {ParsedBody} from '../context.js';
import {handlePage, type PageWorkDeps} from '../page-work.js';
import type {PageJob, PageReply, SessionView, ThreadData, ThreadMessage} from './messages.js';

const port = parentPort!;
const send = (message: ThreadMessage): void => port.postMessage(message);

const log: Logger = {
	info: (message) => send({type: 'log', level: 'info', message}),
	warn: (message) => send({type: 'log', level: 'warn', message}),
	error: (message) => send({type: 'log', level: 'error', message}),
};

async function load(file: string): Promise<PageWorkDeps> {
	const {definition} = await loadCrawlerFile(file);
	const routes = new Map<string, {handler: RouteHandler}>();
	for (const [label, route] of Object.entries(definition.routes)) {
		routes.set(label, {handler: (typeof route === 'function' ? route : route.handler) as RouteHandler});
	}
	return {definition, routes, log};
}

/**
 * ctx.session in a thread: what identifies the session. What needs the live jar or tokens
 * (cookieHeader, setToken…) is on the main thread only; reading it fails with a clear error.
 */
function sessionProxy(view: SessionView): object {
	return new Proxy(view, {
		get(target, key) {
			if (typeof key === 'symbol' || key in target || key === 'then' || key === 'toJSON') return Reflect.get(target, key);
			throw new CrawljarError(
				'ERR_THREAD_SESSION',
				`ctx.session.${key} is not available to a handler in a thread (threads option): only id, username and account are; set threads: 0 to use the live session`,
			);
		},
	});
}

async function handle(deps: PageWorkDeps, job: PageJob): Promise<PageReply> {
	const body = Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength);
	const parsed = new ParsedBody({...job.response, body}, job.request.url);
	const session = job.session ? (sessionProxy(job.session) as never) : undefined;
	return {type: 'page', id: job.id, ...(await handlePage(deps, job.request, parsed, session))};
}

const {file} = workerData as ThreadData;
load(file).then(
	(deps) => {
		port.on('message', (job: PageJob) => {
			handle(deps, job).then(send, (error: unknown) =>
				// handlePage catches the handler's errors; this is a bug guard that answers anyway.
				send({type: 'page', id: job.id, loggedOut: false, rateLimited: false, failure: {code: 'ERR_HANDLER', retryable: true, message: String(error)}}),
			);
		});
		send({type: 'ready', name: deps.definition.name});
	},
	(error: unknown) => send({type: 'load-failed', message: error instanceof Error ? error.message : String(error)}),
);
