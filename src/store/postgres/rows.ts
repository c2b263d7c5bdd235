// Row shapes as pg returns them (int8 parsed to numbers, see connection.ts) and their mapping to
// the Store's records. Runs, failed requests and sessions share SQLite's row shapes (rows.ts there).
import type {StoredRequest} from '../store.js';

export interface LeasedPgRow {
	readonly id: number;
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
	readonly retry_at: number;
	readonly host: string;
}

export function toLeasedRequest(row: LeasedPgRow, runId: number): StoredRequest {
	return {
		id: row.id,
		runId,
		url: row.url,
		uniqueKey: row.unique_key,
		method: row.method,
		label: row.label ?? undefined,
		// '{}' is what almost every request stores: skip the parser for it.
		userData: row.user_data === '{}' ? {} : (JSON.parse(row.user_data) as Record<string, unknown>),
		headers: row.headers === null ? undefined : (JSON.parse(row.headers) as Record<string, string>),
		depth: row.depth,
		retryCount: row.retry_count,
		reloginCount: row.relogin_count,
		rateLimitCount: row.ratelimit_count,
		host: row.host,
	};
}
