// Every statement the store runs, prepared once per connection.
import type Database from 'better-sqlite3';
import type {RequestState} from '../store.js';
import type {FailedRow, RunRow, SessionRow} from './rows.js';

/** Rows per page when streaming items: bounded memory, and the connection is free between pages. */
export const itemPageSize = 1000;

/** @internal */
export type Statements = ReturnType<typeof prepareStatements>;

/** @internal Declarations are stripped: better-sqlite3's statement type cannot be named in a .d.ts. */
export function prepareStatements(db: Database.Database) {
	return {
		createRun: db.prepare<[startedAt: number], RunRow>(
			`INSERT INTO runs (state, started_at) VALUES ('running', ?) RETURNING *`,
		),
		latestRun: db.prepare<[], RunRow>(`SELECT * FROM runs ORDER BY id DESC LIMIT 1`),
		listRuns: db.prepare<[limit: number], RunRow>(`SELECT * FROM runs ORDER BY id DESC LIMIT ?`),
		setRunState: db.prepare<[state: string, finishedAt: number | null, summary: string | null, id: number]>(
			`UPDATE runs SET state = ?, finished_at = ?, summary = coalesce(?, summary) WHERE id = ?`,
		),

		insertRequest: db.prepare<[runId: number, ...row: unknown[]]>(
			`INSERT INTO requests (run_id, unique_key, url, method, label, user_data, headers, depth, host)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (run_id, unique_key) DO NOTHING`,
		),
		// A request an earlier resume found in flight (crash_count > 0, a "suspect") is leased
		// alone, nothing else in flight with it, so that if it kills the process again it is the
		// only request in flight then (sqlite-store.ts lease; the lease statements are in
		// lease-statements.ts). Both walk the partial index requests_suspects: no cost while there
		// is none.
		suspectInflight: db
			.prepare<[runId: number], number>(
				`SELECT 1 FROM requests WHERE run_id = ? AND state = 'inflight' AND crash_count > 0 LIMIT 1`,
			)
			.pluck(),
		// Each completion only applies to a request still in flight: a second completion of the
		// same request changes nothing, and the store then skips its items (exactly-once results).
		markDone: db.prepare<[status: number | null, id: number, runId: number]>(
			`UPDATE requests SET state = 'done', status = ?, error_code = NULL, error = NULL
			WHERE id = ? AND run_id = ? AND state = 'inflight'`,
		),
		markRetry: db.prepare<
			[
				retryAt: number,
				retryCount: number,
				reloginCount: number,
				rateLimitCount: number,
				error: string | null,
				id: number,
				runId: number,
			]
		>(
			`UPDATE requests SET state = 'pending', retry_at = ?, retry_count = ?, relogin_count = ?,
				ratelimit_count = ?, error = ?, crash_count = 0
			WHERE id = ? AND run_id = ? AND state = 'inflight'`,
		),
		markFailed: db.prepare<
			[retryCount: number, status: number | null, errorCode: string, error: string, id: number, runId: number]
		>(
			`UPDATE requests SET state = 'failed', retry_count = ?, status = ?, error_code = ?, error = ?
			WHERE id = ? AND run_id = ? AND state = 'inflight'`,
		),
		release: db.prepare<[retryAt: number, id: number, runId: number]>(
			`UPDATE requests SET state = 'pending', retry_at = ?
			WHERE id = ? AND run_id = ? AND state = 'inflight'`,
		),
		insertItem: db.prepare<[runId: number, requestId: number, data: string]>(
			`INSERT INTO items (run_id, request_id, data) VALUES (?, ?, ?)`,
		),

		// Run together, this one first (sqlite-store.ts releaseInflight).
		failCrashed: db.prepare<[error: string, runId: number, crashesBeforeFailing: number]>(
			`UPDATE requests SET state = 'failed', crash_count = crash_count + 1, status = NULL,
				error_code = 'ERR_CRASHED_WORKER', error = ?
			WHERE run_id = ? AND state = 'inflight' AND crash_count + 1 >= ?`,
		),
		releaseInflight: db.prepare<[runId: number]>(
			`UPDATE requests SET state = 'pending', retry_at = 0, crash_count = crash_count + 1
			WHERE run_id = ? AND state = 'inflight'`,
		),
		requeueFailed: db.prepare<[runId: number]>(
			`UPDATE requests SET state = 'pending', retry_at = 0, retry_count = 0, relogin_count = 0,
				ratelimit_count = 0, crash_count = 0, status = NULL, error_code = NULL, error = NULL
			WHERE run_id = ? AND state = 'failed'`,
		),
		// ORDER BY + LIMIT 1 on the lease index: one index probe, whatever the frontier's size.
		nextDueAt: db
			.prepare<[runId: number], number>(
				`SELECT retry_at FROM requests WHERE run_id = ? AND state = 'pending' ORDER BY retry_at LIMIT 1`,
			)
			.pluck(),
		counts: db.prepare<[runId: number], {state: RequestState; n: number}>(
			`SELECT state, count(*) AS n FROM requests WHERE run_id = ? GROUP BY state`,
		),
		itemCount: db.prepare<[runId: number], number>(`SELECT count(*) FROM items WHERE run_id = ?`).pluck(),
		itemPage: db
			.prepare<[runId: number, afterId: number, limit: number], [id: number, data: string]>(
				`SELECT id, data FROM items WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?`,
			)
			.raw(),
		failedRequests: db.prepare<[runId: number, limit: number], FailedRow>(
			`SELECT id, url, label, status, error_code, error, retry_count FROM requests
			WHERE run_id = ? AND state = 'failed' ORDER BY id LIMIT ?`,
		),

		loadSessions: db.prepare<[], SessionRow>(`SELECT * FROM sessions ORDER BY id`),
		deleteSession: db.prepare<[id: string]>(`DELETE FROM sessions WHERE id = ?`),
		deleteAllSessions: db.prepare<[]>(`DELETE FROM sessions`),

		getMeta: db.prepare<[key: string], string>(`SELECT value FROM meta WHERE key = ?`).pluck(),
		setMeta: db.prepare<[key: string, value: string]>(
			`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
		),
		// Single statements, each atomic under SQLite's write lock: the compare and the set
		// cannot interleave with another connection's write.
		insertMetaIfAbsent: db.prepare<[key: string, value: string]>(
			`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`,
		),
		updateMetaIfEqual: db.prepare<[value: string, key: string, expected: string]>(
			`UPDATE meta SET value = ? WHERE key = ? AND value = ?`,
		),
	};
}
