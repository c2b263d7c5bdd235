// Every SQL text the PostgreSQL store runs, built once per store for its schema. Arrays go in as
// one parameter each (unnest), so a batch of any size is one statement and one round trip.
import pg from 'pg';

/** Rows per page when streaming items: bounded memory, and no connection held between pages. */
export const itemPageSize = 1000;

export type Sql = ReturnType<typeof buildStatements>;

const leasedColumns = `id, unique_key, url, method, label, user_data, headers, depth,
	retry_count, relogin_count, ratelimit_count, retry_at, host`;

// The requests of one batch, in the order given ($1 = run id, then one array per column). The
// identity ids follow that order, so "oldest first" leasing keeps the order of discovery. ON
// CONFLICT DO NOTHING also dedupes within the batch, and waits on a concurrent insert of the
// same key instead of failing.
const newRequestsFrom = (first: number) => {
	const p = (offset: number) => `$${first + offset}`;
	return `SELECT ${p(0)}::integer, k, u, m, l, ud, h, d, ho
		FROM unnest(${p(1)}::text[], ${p(2)}::text[], ${p(3)}::text[], ${p(4)}::text[], ${p(5)}::text[], ${p(6)}::text[],
			${p(7)}::integer[], ${p(8)}::text[]) WITH ORDINALITY AS t (k, u, m, l, ud, h, d, ho, ord)`;
};

export function buildStatements(schema: string) {
	const s = pg.escapeIdentifier(schema);
	const insertRequests = `INSERT INTO ${s}.requests (run_id, unique_key, url, method, label, user_data, headers, depth, host)`;
	return {
		createRun: `INSERT INTO ${s}.runs (state, started_at) VALUES ('running', $1) RETURNING *`,
		latestRun: `SELECT * FROM ${s}.runs ORDER BY id DESC LIMIT 1`,
		listRuns: `SELECT * FROM ${s}.runs ORDER BY id DESC LIMIT $1`,
		setRunState: `UPDATE ${s}.runs SET state = $1, finished_at = $2, summary = coalesce($3, summary) WHERE id = $4`,

		addRequests: `${insertRequests} ${newRequestsFrom(1)} ORDER BY ord ON CONFLICT (run_id, unique_key) DO NOTHING`,
		// SKIP LOCKED: a concurrent lease (another worker) passes over the rows this one is
		// taking instead of waiting for them or handing them out twice.
		lease: `WITH picked AS (
				SELECT id FROM ${s}.requests
				WHERE run_id = $1 AND state = 'pending' AND retry_at <= $2
				ORDER BY retry_at, id LIMIT $3
				FOR UPDATE SKIP LOCKED
			)
			UPDATE ${s}.requests AS r SET state = 'inflight' FROM picked WHERE r.id = picked.id
			RETURNING ${leasedColumns.replace(/(\w+)/g, 'r.$1')}`,
		// One statement per done completion: the done-mark, its items and its new requests. Items
		// and requests are written only if the mark applied (the request was still in flight), so
		// a second completion of the same request writes nothing (exactly-once results).
		// $1 request id, $2 run id, $3 status, $4 items, $5 run id again, $6.. new requests.
		commitDone: `WITH marked AS (
				UPDATE ${s}.requests SET state = 'done', status = $3, error_code = NULL, error = NULL
				WHERE id = $1 AND run_id = $2 AND state = 'inflight'
				RETURNING id
			), stored_items AS (
				INSERT INTO ${s}.items (run_id, request_id, data)
				SELECT $2, $1, data FROM unnest($4::text[]) WITH ORDINALITY AS t (data, ord)
				WHERE EXISTS (SELECT 1 FROM marked) ORDER BY ord
			)
			${insertRequests} ${newRequestsFrom(5)}
			WHERE EXISTS (SELECT 1 FROM marked) ORDER BY ord
			ON CONFLICT (run_id, unique_key) DO NOTHING`,
		markRetry: `UPDATE ${s}.requests SET state = 'pending', retry_at = $1, retry_count = $2, relogin_count = $3,
				ratelimit_count = $4, error = $5
			WHERE id = $6 AND run_id = $7 AND state = 'inflight'`,
		markFailed: `UPDATE ${s}.requests SET state = 'failed', retry_count = $1, status = $2, error_code = $3, error = $4
			WHERE id = $5 AND run_id = $6 AND state = 'inflight'`,
		release: `UPDATE ${s}.requests SET state = 'pending', retry_at = $1
			WHERE id = $2 AND run_id = $3 AND state = 'inflight'`,

		releaseInflight: `UPDATE ${s}.requests SET state = 'pending', retry_at = 0 WHERE run_id = $1 AND state = 'inflight'`,
		requeueFailed: `UPDATE ${s}.requests SET state = 'pending', retry_at = 0, retry_count = 0, relogin_count = 0,
				ratelimit_count = 0, status = NULL, error_code = NULL, error = NULL
			WHERE run_id = $1 AND state = 'failed'`,
		// ORDER BY + LIMIT 1 on the pending index: one index probe, whatever the frontier's size.
		nextDueAt: `SELECT retry_at FROM ${s}.requests WHERE run_id = $1 AND state = 'pending' ORDER BY retry_at LIMIT 1`,
		counts: `SELECT state, count(*) AS n FROM ${s}.requests WHERE run_id = $1 GROUP BY state`,
		itemCount: `SELECT count(*) AS n FROM ${s}.items WHERE run_id = $1`,
		itemPage: `SELECT id, data FROM ${s}.items WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		failedRequests: `SELECT id, url, label, status, error_code, error, retry_count FROM ${s}.requests
			WHERE run_id = $1 AND state = 'failed' ORDER BY id LIMIT $2`,

		loadSessions: `SELECT * FROM ${s}.sessions ORDER BY id`,
		saveSession: `INSERT INTO ${s}.sessions (id, account, state, meta, secret, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (id) DO UPDATE SET account = excluded.account, state = excluded.state,
				meta = excluded.meta, secret = excluded.secret, updated_at = excluded.updated_at`,
		deleteSession: `DELETE FROM ${s}.sessions WHERE id = $1`,
		deleteAllSessions: `DELETE FROM ${s}.sessions`,

		getMeta: `SELECT value FROM ${s}.meta WHERE key = $1`,
		setMeta: `INSERT INTO ${s}.meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
	};
}

/** Column arrays for `newRequestsFrom`, from rows in serialize.ts's RequestInsert order. */
export function requestColumns(rows: readonly (readonly unknown[])[]): unknown[][] {
	const columns: unknown[][] = Array.from({length: 8}, () => []);
	for (const row of rows) for (let column = 0; column < 8; column++) columns[column]!.push(row[column] ?? null);
	return columns;
}
