// What crosses between the main thread and a handler thread: plain data only (structured clone).
import type {RequestInfo, ResponseInfo} from '../../job/types.js';
import type {NewRequest} from '../../store/store.js';

/** What a handler in a thread may read of its session: the live jar stays on the main thread. */
export interface SessionView {
	readonly id: string;
	readonly username: string;
	readonly account: Readonly<Record<string, unknown>> & {readonly username: string};
}

export interface PageJob {
	readonly type: 'page';
	readonly id: number;
	readonly request: RequestInfo;
	readonly response: ResponseInfo;
	readonly body: Uint8Array;
	readonly session: SessionView | undefined;
}

/** A handler's (or a predicate's) failure, as the policy needs it: see handlerFailureOf. */
export interface HandlerFailure {
	readonly code: string;
	readonly retryable: boolean;
	readonly message: string;
}

export interface PageReply {
	readonly type: 'page';
	readonly id: number;
	readonly loggedOut: boolean;
	readonly rateLimited: boolean;
	/** Absent when a predicate said the page is not a result (the handler did not run). */
	readonly handled?: {readonly items: unknown[]; readonly itemsJson: string[]; readonly enqueued: NewRequest[]};
	readonly failure?: HandlerFailure;
}

export type ThreadMessage =
	| {readonly type: 'ready'; readonly name: string}
	| {readonly type: 'load-failed'; readonly message: string}
	| {readonly type: 'log'; readonly level: 'info' | 'warn' | 'error'; readonly message: string}
	| PageReply;

export interface ThreadData {
	readonly file: string;
}
