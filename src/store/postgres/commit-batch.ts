// A batch of completions as the parameters of the one commit statement (statements.ts
// commitBatch): one array per field, items and new requests flattened in batch order.
import type {PreparedCompletion} from '../sqlite/serialize.js';
import {requestColumns} from './statements.js';

/**
 * Only the first completion of a request in a batch can apply: whatever its kind, it takes the
 * request out of flight, and every later one finds it not in flight (as the SQLite store, which
 * applies them one by one, does). So the later ones are dropped here, and the rest is
 * independent per request: one statement can apply it all.
 */
export function commitBatchParams(runId: number, completions: readonly PreparedCompletion[], owner: string | null): unknown[] {
	const seen = new Set<number>();
	const fields = {ids: [] as number[], kinds: [] as string[], status: [] as (number | null)[], retryAt: [] as (number | null)[]};
	const counts = {retry: [] as (number | null)[], relogin: [] as (number | null)[], rateLimit: [] as (number | null)[]};
	const errors = {code: [] as (string | null)[], message: [] as (string | null)[]};
	const itemRequest: number[] = [];
	const itemData: string[] = [];
	const parents: number[] = [];
	const enqueued: (readonly unknown[])[] = [];
	for (const completion of completions) {
		if (seen.has(completion.requestId)) continue;
		seen.add(completion.requestId);
		fields.ids.push(completion.requestId);
		fields.kinds.push(completion.kind);
		const c = completion;
		fields.status.push(c.kind === 'done' ? c.status : c.kind === 'failed' ? (c.status ?? null) : null);
		fields.retryAt.push(c.kind === 'retry' || c.kind === 'release' ? c.retryAt : null);
		counts.retry.push(c.kind === 'retry' || c.kind === 'failed' ? c.retryCount : null);
		counts.relogin.push(c.kind === 'retry' ? c.reloginCount : null);
		counts.rateLimit.push(c.kind === 'retry' ? c.rateLimitCount : null);
		errors.code.push(c.kind === 'failed' ? c.errorCode : null);
		errors.message.push(c.kind === 'failed' ? c.error : c.kind === 'retry' ? (c.error ?? null) : null);
		if (c.kind !== 'done') continue;
		for (const item of c.items) {
			itemRequest.push(c.requestId);
			itemData.push(item);
		}
		for (const row of c.enqueued) {
			parents.push(c.requestId);
			enqueued.push(row);
		}
	}
	return [
		runId,
		fields.ids,
		fields.kinds,
		fields.status,
		fields.retryAt,
		counts.retry,
		counts.relogin,
		counts.rateLimit,
		errors.code,
		errors.message,
		itemRequest,
		itemData,
		parents,
		runId,
		...requestColumns(enqueued),
		owner,
	];
}

/** Splits a batch by the ids the commit statement applied to: the first completion of each applied id counts, every other one was refused. */
export function fencedResult(completions: readonly {readonly requestId: number}[], appliedIds: ReadonlySet<number>): {applied: number; refused: number[]} {
	const counted = new Set<number>();
	const refused: number[] = [];
	for (const {requestId} of completions) {
		if (appliedIds.has(requestId) && !counted.has(requestId)) counted.add(requestId);
		else refused.push(requestId);
	}
	return {applied: counted.size, refused};
}
