// Row shapes as SQLite returns them, and their mapping to the Store's records.
import type {FailedRequest, RunRecord, RunState, StoredRequest, StoredSession} from '../store.js';

export interface RunRow {
	readonly id: number;
	readonly state: RunState;
	readonly started_at: number;
	readonly finished_at: number | null;
	readonly summary: string | null;
}

/** A leased request as the lease statement returns it (raw mode: one array per row, in this order). */
export type LeasedRow = readonly [
	id: number,
	uniqueKey: string,
	url: string,
	method: string,
	label: string | null,
	userData: string,
	headers: string | null,
	depth: number,
	retryCount: number,
	reloginCount: number,
	rateLimitCount: number,
	retryAt: number,
	host: string,
];

export interface FailedRow {
	readonly id: number;
	readonly url: string;
	readonly label: string | null;
	readonly status: number | null;
	readonly error_code: string | null;
	readonly error: string | null;
	readonly retry_count: number;
}

export interface SessionRow {
	readonly id: string;
	readonly account: string;
	readonly state: string;
	readonly meta: string;
	readonly secret: string;
	readonly updated_at: number;
	readonly version: number;
	readonly change_seq: number;
}

export function toRunRecord(row: RunRow): RunRecord {
	return {
		id: row.id,
		state: row.state,
		startedAt: row.started_at,
		finishedAt: row.finished_at ?? undefined,
		summary: row.summary === null ? undefined : (JSON.parse(row.summary) as unknown),
	};
}

export function toStoredRequest(row: LeasedRow, runId: number): StoredRequest {
	const [id, uniqueKey, url, method, label, userData, headers, depth, retryCount, reloginCount, rateLimitCount, , host] = row;
	return {
		id,
		runId,
		url,
		uniqueKey,
		method,
		label: label ?? undefined,
		// '{}' is what almost every request stores: skip the parser for it.
		userData: userData === '{}' ? {} : (JSON.parse(userData) as Record<string, unknown>),
		headers: headers === null ? undefined : (JSON.parse(headers) as Record<string, string>),
		depth,
		retryCount,
		reloginCount,
		rateLimitCount,
		host,
	};
}

export function toFailedRequest(row: FailedRow): FailedRequest {
	return {
		id: row.id,
		url: row.url,
		label: row.label ?? undefined,
		status: row.status ?? undefined,
		errorCode: row.error_code ?? '',
		error: row.error ?? '',
		retryCount: row.retry_count,
	};
}

export function toStoredSession(row: SessionRow): StoredSession {
	return {
		id: row.id,
		account: row.account,
		state: row.state,
		meta: JSON.parse(row.meta) as Record<string, unknown>,
		secret: row.secret,
		updatedAt: row.updated_at,
		version: row.version,
	};
}
