// Turns the store's inputs into bind-ready rows BEFORE any transaction starts, so a value that
// cannot be stored (a BigInt, a cycle, undefined) fails the call early with ERR_STORAGE and
// never leaves a half-applied batch or an open transaction behind.
import {CrawljarError, redactUrl} from '../../errors.js';
import type {Completion, NewRequest, StoredSession} from '../store.js';

/** Bind order of the `insertRequest` statement after run_id. */
export type RequestInsert = readonly [
	uniqueKey: string,
	url: string,
	method: string,
	label: string | null,
	userData: string,
	headers: string | null,
	depth: number,
	host: string,
];

export interface PreparedDone {
	readonly kind: 'done';
	readonly requestId: number;
	readonly status: number | null;
	readonly items: readonly string[];
	readonly enqueued: readonly RequestInsert[];
}

export type PreparedCompletion = PreparedDone | Exclude<Completion, {kind: 'done'}>;

/** `what` names the value in the error; a function when building that name costs (it is a hot path). */
export function toJson(value: unknown, what: string | (() => string)): string {
	let json: string | undefined;
	try {
		json = JSON.stringify(value);
	} catch (error) {
		const detail = error instanceof Error ? error.message : String(error);
		throw new CrawljarError('ERR_STORAGE', `${name(what)} cannot be stored as JSON: ${detail}`, {cause: error});
	}
	// JSON.stringify returns undefined for undefined, functions and symbols.
	if (json === undefined) throw new CrawljarError('ERR_STORAGE', `${name(what)} cannot be stored as JSON: it is ${typeof value}`);
	return json;
}

function name(what: string | (() => string)): string {
	return typeof what === 'string' ? what : what();
}

export function prepareRequest(request: NewRequest): RequestInsert {
	return [
		request.uniqueKey,
		request.url,
		request.method ?? 'GET',
		request.label ?? null,
		request.userData === undefined ? '{}' : toJson(request.userData, () => `userData of ${redactUrl(request.url)}`),
		request.headers === undefined ? null : toJson(request.headers, () => `headers of ${redactUrl(request.url)}`),
		request.depth,
		hostOf(request.url),
	];
}

export function prepareCompletions(completions: readonly Completion[]): PreparedCompletion[] {
	return completions.map((completion): PreparedCompletion => {
		if (completion.kind !== 'done') return completion;
		const {requestId} = completion;
		return {
			kind: 'done',
			requestId,
			status: completion.status ?? null,
			items:
				completion.itemsJson?.length === completion.items.length
					? completion.itemsJson
					: completion.items.map((item, index) => toJson(item, () => `Item ${index} of request ${requestId}`)),
			enqueued: completion.enqueued.map(prepareRequest),
		};
	});
}

/** hostname:port as URL.host gives it (the port only when not the scheme's default). */
function hostOf(url: string): string {
	try {
		return new URL(url).host;
	} catch {
		return '';
	}
}

/** A session's columns, in statement order: id, account, state, meta (JSON), secret, updated_at. */
export function sessionRowValues(session: StoredSession): [string, string, string, string, string, number] {
	const meta = toJson(session.meta, `Metadata of session ${session.id}`);
	return [session.id, session.account, session.state, meta, session.secret, session.updatedAt];
}
