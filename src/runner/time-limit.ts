// A time limit for user code (route handlers, the loggedOut/rateLimited predicates). A promise
// cannot be cancelled: past the limit it is abandoned, the caller goes on, and whatever the
// abandoned code does later (push, enqueue, a late throw) lands in buffers nobody reads.
import {CrawljarError} from '../errors.js';

/** @default for `timeouts.handlerMs` */
export const DEFAULT_HANDLER_MS = 60_000;

export class HandlerTimeoutError extends CrawljarError {
	override name = 'HandlerTimeoutError';
	/** Retryable: the next attempt may well be faster (a slow page, a busy machine). */
	readonly retryable = true;

	constructor(what: string, limitMs: number) {
		super('ERR_HANDLER_TIMEOUT', `${what} did not settle within ${limitMs} ms (timeouts.handlerMs)`);
	}
}

/**
 * Settles like `work()`, or rejects with HandlerTimeoutError after `limitMs`. The timer is
 * unref'd: it must not keep a process alive after its run has ended (the engine's own timers
 * keep the event loop alive while a run goes, and its stop grace period is a ref'd timer).
 * A late rejection of the abandoned promise is swallowed (it would be an unhandled rejection).
 */
export function withTimeLimit<T>(work: () => T | PromiseLike<T>, limitMs: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const running = Promise.resolve().then(work);
	const expired = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new HandlerTimeoutError(what, limitMs)), limitMs);
		timer.unref();
	});
	running.catch(() => {});
	return Promise.race([running, expired]).finally(() => clearTimeout(timer));
}
