// Row shapes as SQLite returns them, and their mapping to the Store's records.
import type {FailedRequest, RequestState, RunRecord, RunState, StoredRequest, StoredSession} from '../store.js';

export interface RunRow {
	readonly id: number;
	readonly state: RunState;
	readonly started_at: number;
	readonly finished_at: number | null;
	readonly summary: string | null;
}

export interface RequestRow {
	readonly id: number;
	readonly run_id: number;
	readonly unique_key: string;
	readonly url: string;
	readonly method: string;
	readonly label: string | null;
	readonly user_data: string;
	readonly headers: string | null;
	readonly depth: number;
	readonly retry_count: number;
	readonly relogin_count: number;
	readonly ratelimit_count: number;
	readonly state: RequestState;
	readonly retry_at: number;
	readonly host: string;
}

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

export function toStoredRequest(row: RequestRow): StoredRequest {
	return {
		id: row.id,
		runId: row.run_id,
		url: row.url,
		uniqueKey: row.unique_key,
		method: row.method,
		label: row.label ?? undefined,
		userData: JSON.parse(row.user_data) as Record<string, unknown>,
		headers: row.headers === null ? undefined : (JSON.parse(row.headers) as Record<string, string>),
		depth: row.depth,
		retryCount: row.retry_count,
		reloginCount: row.relogin_count,
		rateLimitCount: row.ratelimit_count,
		host: row.host,
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
	};
}
