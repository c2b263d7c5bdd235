// Route handlers in worker threads (the `threads` option): the main thread fetches, judges and
// commits; a thread parses the page and runs the predicates and the handler. A thread whose
// event loop is stuck (a handler in an endless loop) is restarted, its pages retried: on the
// main thread such a handler would stop the whole crawl.
import {availableParallelism} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {Worker} from 'node:worker_threads';
import type {FetchResult} from '../../http/fetch.js';
import type {Logger, RequestInfo} from '../../job/types.js';
import type {Session} from '../../sessions/session.js';
import type {PageOutcome} from '../page-work.js';
import type {PageJob, SessionView, ThreadData, ThreadMessage} from './messages.js';

export type ThreadsOption = number | 'auto';

/** 'auto': one thread per core beyond the main thread's, at most 4 (past that the main thread is the limit); none on one core. */
export function threadCount(option: ThreadsOption | undefined): number {
	if (option === undefined) return 0;
	if (option === 'auto') return Math.max(0, Math.min(availableParallelism() - 1, 4));
	return option;
}

/** The thread's entry beside this file: .ts under tsx (tests, `npm run demo`), .js when built. */
const ENTRY = new URL(`./handler-thread${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url);
/** Resolved from here: the thread's own resolution starts from the working directory, which may have no tsx. */
const TSX_API = ENTRY.pathname.endsWith('.ts') ? import.meta.resolve('tsx/esm/api') : undefined;

/** A thread does not inherit the tsx loader of `node --import tsx`: the .ts entry registers it first. */
function newThread(data: ThreadData): Worker {
	if (!TSX_API) return new Worker(ENTRY, {workerData: data});
	const bootstrap = `import(${JSON.stringify(TSX_API)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(ENTRY.href)}); })`;
	return new Worker(bootstrap, {eval: true, workerData: data});
}

/** Restarts of crashed or stuck threads in a row (no page answered between them) before the run goes on without threads. */
const MAX_RESTARTS = 10;

interface Pending {
	readonly resolve: (outcome: PageOutcome) => void;
	readonly timer: NodeJS.Timeout;
}

interface Thread {
	readonly worker: Worker;
	/** false: the crawler file did not load in the thread. */
	readonly ready: Promise<boolean>;
	readonly pending: Map<number, Pending>;
	gone: boolean;
	/** It loaded the crawler file (a 'ready' message). */
	isReady: boolean;
}

export interface HandlerThreadsOptions {
	readonly file: string;
	readonly count: number;
	readonly crawlerName: string;
	/** timeouts.handlerMs: a page whose thread has not answered in 3× this (two predicates and the handler) + 5 s is stuck. */
	readonly handlerMs: number;
	readonly log: Logger;
}

export class HandlerThreads {
	readonly #options: HandlerThreadsOptions;
	readonly #threads: Thread[] = [];
	readonly #views = new WeakMap<Session, SessionView>();
	#nextId = 1;
	#restarts = 0;
	#isClosed = false;
	#warnedInline = false;

	constructor(options: HandlerThreadsOptions) {
		this.#options = options;
		for (let index = 0; index < options.count; index++) this.#threads.push(this.#spawn());
	}

	/**
	 * The page's predicates and handler, run in the least busy thread; undefined when no thread can
	 * take it (the crawler file did not load there, or too many restarts): the caller runs it inline.
	 */
	async handle(request: RequestInfo, result: FetchResult, session: Session | undefined): Promise<PageOutcome | undefined> {
		const thread = await this.#pick();
		if (!thread) return undefined;
		const id = this.#nextId++;
		const job: PageJob = {
			type: 'page',
			id,
			request,
			response: {status: result.status, headers: result.headers, url: result.url},
			body: result.body,
			session: session ? this.#viewOf(session) : undefined,
		};
		return new Promise<PageOutcome>((resolve) => {
			const limitMs = 3 * this.#options.handlerMs + 5_000;
			const timer = setTimeout(() => this.#stuck(thread, limitMs), limitMs);
			timer.unref();
			thread.pending.set(id, {resolve, timer});
			thread.worker.postMessage(job);
		});
	}

	async close(): Promise<void> {
		this.#isClosed = true;
		await Promise.all(this.#threads.map((thread) => this.#end(thread, {code: 'ERR_STOPPED', retryable: true, message: 'the run ended'})));
	}

	async #pick(): Promise<Thread | undefined> {
		for (;;) {
			const live = this.#threads.filter((thread) => !thread.gone);
			if (live.length === 0 || this.#isClosed) return this.#inline();
			let best = live[0]!;
			for (const thread of live) if (thread.pending.size < best.pending.size) best = thread;
			if ((await best.ready) && !best.gone) return best;
			// It did not start, or ended meanwhile: it is gone now, so the next turn picks another.
		}
	}

	#inline(): undefined {
		if (!this.#warnedInline && !this.#isClosed) {
			this.#warnedInline = true;
			this.#options.log.warn('handler threads unavailable: route handlers run on the main thread from now on');
		}
		return undefined;
	}

	#spawn(): Thread {
		const {file, crawlerName, log} = this.#options;
		const worker = newThread({file});
		let setReady!: (ok: boolean) => void;
		const thread: Thread = {worker, ready: new Promise<boolean>((resolve) => (setReady = resolve)), pending: new Map(), gone: false, isReady: false};
		// A thread that ends before it is ready would end the same way again: it is not replaced.
		const failedToStart = (message: string): void => {
			if (thread.gone) return;
			log.warn(`handler thread: ${message}`);
			void this.#end(thread, {code: 'ERR_HANDLER', retryable: true, message: 'the handler thread did not start'});
			this.#drop(thread);
			setReady(false);
		};
		worker.on('message', (message: ThreadMessage) => {
			switch (message.type) {
				case 'ready':
					if (message.name !== crawlerName) return failedToStart(`${file} exports crawler '${message.name}', not '${crawlerName}'`);
					thread.isReady = true;
					return setReady(true);
				case 'load-failed':
					return failedToStart(message.message);
				case 'log':
					return log[message.level](message.message);
				case 'page': {
					const pending = thread.pending.get(message.id);
					if (!pending) return;
					thread.pending.delete(message.id);
					clearTimeout(pending.timer);
					this.#restarts = 0;
					const {type: _type, id: _id, ...outcome} = message;
					return pending.resolve(outcome);
				}
			}
		});
		// An uncaught error in the thread (a handler's stray rejected promise) ends it: its pages are retried.
		worker.on('error', (error) => {
			if (!thread.isReady) return failedToStart(error.message);
			log.warn(`handler thread crashed: ${error.message}`);
			this.#replace(thread, `the handler thread crashed: ${error.message.slice(0, 200)}`);
		});
		worker.on('exit', () => {
			if (!thread.isReady) return failedToStart('exited before it was ready');
			if (!thread.gone) this.#replace(thread, 'the handler thread exited');
		});
		return thread;
	}

	#stuck(thread: Thread, limitMs: number): void {
		if (thread.gone) return;
		this.#options.log.warn(`a handler thread did not answer in ${limitMs} ms (a handler that never yields?): restarted, its ${thread.pending.size} page(s) retried`);
		this.#replace(thread, `the handler thread did not answer within ${limitMs} ms (timeouts.handlerMs)`, 'ERR_HANDLER_TIMEOUT');
	}

	#replace(thread: Thread, message: string, code = 'ERR_HANDLER'): void {
		if (thread.gone) return;
		void this.#end(thread, {code, retryable: true, message});
		const index = this.#threads.indexOf(thread);
		if (index < 0) return;
		if (this.#isClosed || ++this.#restarts > MAX_RESTARTS) this.#threads.splice(index, 1);
		else this.#threads[index] = this.#spawn();
	}

	#drop(thread: Thread): void {
		const index = this.#threads.indexOf(thread);
		if (index >= 0) this.#threads.splice(index, 1);
	}

	/** Ends a thread; each page it had is answered with `failure` (the policy retries it). */
	async #end(thread: Thread, failure: {code: string; retryable: boolean; message: string}): Promise<void> {
		thread.gone = true;
		for (const pending of thread.pending.values()) {
			clearTimeout(pending.timer);
			pending.resolve({loggedOut: false, rateLimited: false, failure});
		}
		thread.pending.clear();
		await thread.worker.terminate();
	}

	#viewOf(session: Session): SessionView {
		let view = this.#views.get(session);
		if (!view) {
			// Plain values only: an account may hold what cannot cross threads.
			const account = Object.fromEntries(Object.entries(session.account).filter(([, value]) => ['string', 'number', 'boolean'].includes(typeof value)));
			view = {id: session.id, username: session.username, account: {...account, username: session.username}};
			this.#views.set(session, view);
		}
		return view;
	}
}
