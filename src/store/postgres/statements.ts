// Every SQL text the PostgreSQL store runs, built once per store for its schema. Arrays go in as
// one parameter each (unnest), so a batch of any size is one statement and one round trip.
import {quoteIdentifier} from './identifiers.js';

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

/**
 * What a resume does to each in-flight request it releases ($2 crashes before failing, $3 the
 * message): one more crash, then pending and due now, or failed with ERR_CRASHED_WORKER (status
 * cleared, retry count kept). SET reads the row's old values. Shared by the join's release.
 */
export const releaseInflightSet = `crash_count = crash_count + 1,
				state = CASE WHEN crash_count + 1 >= $2 THEN 'failed' ELSE 'pending' END,
				retry_at = CASE WHEN crash_count + 1 >= $2 THEN retry_at ELSE 0 END,
				status = CASE WHEN crash_count + 1 >= $2 THEN NULL ELSE status END,
				error_code = CASE WHEN crash_count + 1 >= $2 THEN 'ERR_CRASHED_WORKER' ELSE error_code END,
				error = CASE WHEN crash_count + 1 >= $2 THEN $3 ELSE error END,
				lease_owner = NULL, lease_expires_at = NULL`;

export function buildStatements(schema: string) {
	const s = quoteIdentifier(schema);
	// Hosts cooling down at the lease's time ($2): a hashed subplan over the small hosts table,
	// evaluated once per statement, so the lease still walks the pending index in order.
	const coolingHosts = `SELECT host FROM ${s}.hosts WHERE cooldown_until > $2`;
	const insertRequests = `INSERT INTO ${s}.requests (run_id, unique_key, url, method, label, user_data, headers, depth, host)`;
	return {
		createRun: `INSERT INTO ${s}.runs (state, started_at) VALUES ('running', $1) RETURNING *`,
		latestRun: `SELECT * FROM ${s}.runs ORDER BY id DESC LIMIT 1`,
		listRuns: `SELECT * FROM ${s}.runs ORDER BY id DESC LIMIT $1`,
		setRunState: `UPDATE ${s}.runs SET state = $1, finished_at = $2, summary = coalesce($3, summary) WHERE id = $4`,

		addRequests: `${insertRequests} ${newRequestsFrom(1)} ORDER BY ord ON CONFLICT (run_id, unique_key) DO NOTHING`,
		// The suspect rule (Store.lease) in one statement, one snapshot: nothing while a suspect is
		// in flight; else the oldest due suspect alone; else up to $3 ordinary requests. The store
		// runs it under the run's lease lock (leaseLock), so two handles cannot both pass the
		// check. SKIP LOCKED: rows another statement is updating are passed over, not waited for.
		lease: `WITH blocked AS (
				SELECT 1 FROM ${s}.requests WHERE run_id = $1 AND state = 'inflight' AND crash_count > 0 LIMIT 1
			), suspect AS (
				SELECT id FROM ${s}.requests
				WHERE run_id = $1 AND state = 'pending' AND retry_at <= $2 AND host NOT IN (${coolingHosts}) AND crash_count > 0
					AND NOT EXISTS (SELECT 1 FROM blocked)
				ORDER BY retry_at, id LIMIT 1
				FOR UPDATE SKIP LOCKED
			), ordinary AS (
				SELECT id FROM ${s}.requests
				WHERE run_id = $1 AND state = 'pending' AND retry_at <= $2 AND host NOT IN (${coolingHosts}) AND crash_count = 0 AND host <> ALL($6::text[])
					AND NOT EXISTS (SELECT 1 FROM blocked) AND NOT EXISTS (SELECT 1 FROM suspect)
				ORDER BY retry_at, id LIMIT $3
				FOR UPDATE SKIP LOCKED
			), picked AS (
				SELECT id FROM suspect UNION ALL SELECT id FROM ordinary
			)
			UPDATE ${s}.requests AS r SET state = 'inflight', lease_owner = $4, lease_expires_at = $5
			FROM picked WHERE r.id = picked.id
			RETURNING ${leasedColumns.replace(/(\w+)/g, 'r.$1')}`,
		// The common case in one statement and one round trip, without the lease lock: while no
		// suspect is pending or in flight in this snapshot, the suspect rule has nothing to decide,
		// and only a resume (releaseInflight) makes new suspects, which the lock never ordered
		// anyway. Leases nothing when a suspect exists (or nothing is due): the store then runs
		// the locked `lease` above.
		leaseWithoutSuspects: `WITH picked AS (
				SELECT id FROM ${s}.requests
				WHERE run_id = $1 AND state = 'pending' AND retry_at <= $2 AND host NOT IN (${coolingHosts}) AND crash_count = 0 AND host <> ALL($6::text[])
					AND NOT EXISTS (SELECT 1 FROM ${s}.requests WHERE run_id = $1 AND crash_count > 0 AND state IN ('pending', 'inflight'))
				ORDER BY retry_at, id LIMIT $3
				FOR UPDATE SKIP LOCKED
			)
			UPDATE ${s}.requests AS r SET state = 'inflight', lease_owner = $4, lease_expires_at = $5
			FROM picked WHERE r.id = picked.id
			RETURNING ${leasedColumns.replace(/(\w+)/g, 'r.$1')}`,
		// Taken (transaction-scoped) before each lease: leases of one run are serialized across
		// handles, each statement then sees the one before it committed (READ COMMITTED).
		leaseLock: `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
		// A whole batch of completions in ONE statement (atomic by itself, one round trip): the
		// state changes, the done requests' items and their new requests. Only the first completion
		// of a request in a batch can apply (any completion takes it out of flight), so the caller
		// passes one per request (see commit-batch.ts). A completion applies only to a request still
		// in flight, and items and new requests are written only for the done-marks that applied,
		// so a second completion of the same request writes nothing (exactly-once results).
		// $1 run id; $2..$10 one array per completion field; $11, $12 items (request id, JSON);
		// $13 parent request id of each new request; $14.. new requests (run id, then columns);
		// $23 the owner whose leases fence the batch (NULL: unfenced). Returns the ids it applied to.
		commitBatch: `WITH input AS (
				SELECT * FROM unnest($2::bigint[], $3::text[], $4::integer[], $5::bigint[], $6::integer[], $7::integer[],
					$8::integer[], $9::text[], $10::text[]) AS t (id, kind, status, retry_at, retry_count, relogin_count,
					ratelimit_count, error_code, error)
			), marked AS (
				UPDATE ${s}.requests AS r SET
					state = CASE i.kind WHEN 'done' THEN 'done' WHEN 'failed' THEN 'failed' ELSE 'pending' END,
					status = CASE WHEN i.kind IN ('done', 'failed') THEN i.status ELSE r.status END,
					error_code = CASE i.kind WHEN 'done' THEN NULL WHEN 'failed' THEN i.error_code ELSE r.error_code END,
					error = CASE i.kind WHEN 'done' THEN NULL WHEN 'release' THEN r.error ELSE i.error END,
					retry_at = CASE WHEN i.kind IN ('retry', 'release') THEN i.retry_at ELSE r.retry_at END,
					retry_count = CASE WHEN i.kind IN ('retry', 'failed') THEN i.retry_count ELSE r.retry_count END,
					relogin_count = CASE i.kind WHEN 'retry' THEN i.relogin_count ELSE r.relogin_count END,
					ratelimit_count = CASE i.kind WHEN 'retry' THEN i.ratelimit_count ELSE r.ratelimit_count END,
					-- A retry means the request ran to its end: no longer a crash suspect.
					crash_count = CASE i.kind WHEN 'retry' THEN 0 ELSE r.crash_count END,
					lease_owner = NULL,
					lease_expires_at = NULL
				FROM input AS i
				WHERE r.id = i.id AND r.run_id = $1 AND r.state = 'inflight' AND ($23::text IS NULL OR r.lease_owner = $23)
				RETURNING r.id, i.kind
			), stored_items AS (
				INSERT INTO ${s}.items (run_id, request_id, data)
				SELECT $1, it.request_id, it.data FROM unnest($11::bigint[], $12::text[]) WITH ORDINALITY AS it (request_id, data, ord)
				WHERE it.request_id IN (SELECT id FROM marked WHERE kind = 'done') ORDER BY it.ord
			), new_requests AS (
				${insertRequests}
			SELECT $14::integer, k, u, m, l, ud, h, d, ho
			FROM unnest($13::bigint[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[],
				$21::integer[], $22::text[]) WITH ORDINALITY AS t (parent, k, u, m, l, ud, h, d, ho, ord)
				WHERE t.parent IN (SELECT id FROM marked WHERE kind = 'done') ORDER BY t.ord
				ON CONFLICT (run_id, unique_key) DO NOTHING
			)
			SELECT id FROM marked`,

		// One statement: every in-flight request of the run, released as releaseInflightSet says.
		releaseInflight: `UPDATE ${s}.requests SET ${releaseInflightSet}
			WHERE run_id = $1 AND state = 'inflight'
			RETURNING state`,
		renewLeases: `UPDATE ${s}.requests SET lease_expires_at = $3 WHERE run_id = $1 AND state = 'inflight' AND lease_owner = $2`,
		reclaimExpired: `UPDATE ${s}.requests SET state = 'pending', retry_at = 0, lease_owner = NULL, lease_expires_at = NULL
			WHERE run_id = $1 AND state = 'inflight' AND lease_expires_at <= $2`,
		requeueFailed: `UPDATE ${s}.requests SET state = 'pending', retry_at = 0, retry_count = 0, relogin_count = 0,
				ratelimit_count = 0, crash_count = 0, status = NULL, error_code = NULL, error = NULL
			WHERE run_id = $1 AND state = 'failed'`,
		// ORDER BY + LIMIT 1 on the pending index: one index probe, whatever the frontier's size.
		nextDueAt: `SELECT retry_at FROM ${s}.requests WHERE run_id = $1 AND state = 'pending' ORDER BY retry_at LIMIT 1`,
		// nextDueAt with cooldowns ($2 = now): the first due of any pending request (NULL: none), and
		// the earlier of the first one whose host is not cooling down and the earliest cooldown end.
		nextDueAtCooling: `SELECT
				(SELECT retry_at FROM ${s}.requests WHERE run_id = $1 AND state = 'pending' ORDER BY retry_at LIMIT 1) AS any_due,
				least(
					(SELECT retry_at FROM ${s}.requests WHERE run_id = $1 AND state = 'pending' AND host NOT IN (${coolingHosts})
						ORDER BY retry_at LIMIT 1),
					(SELECT min(cooldown_until) FROM ${s}.hosts WHERE cooldown_until > $2)
				) AS due`,
		counts: `SELECT state, count(*) AS n FROM ${s}.requests WHERE run_id = $1 GROUP BY state`,
		itemCount: `SELECT count(*) AS n FROM ${s}.items WHERE run_id = $1`,
		itemPage: `SELECT id, data FROM ${s}.items WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		failedRequests: `SELECT id, url, label, status, error_code, error, retry_count FROM ${s}.requests
			WHERE run_id = $1 AND state = 'failed' ORDER BY id LIMIT $2`,

		loadSessions: `SELECT * FROM ${s}.sessions ORDER BY id`,
		deleteSession: `DELETE FROM ${s}.sessions WHERE id = $1`,
		deleteAllSessions: `DELETE FROM ${s}.sessions`,

		getMeta: `SELECT value FROM ${s}.meta WHERE key = $1`,
		setMeta: `INSERT INTO ${s}.meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
		// Single statements, each atomic: a concurrent insert of the key makes ON CONFLICT wait
		// and then do nothing; a concurrent update makes the UPDATE wait, then re-check its WHERE
		// on the new value (READ COMMITTED), so two claims over one expected value never both win.
		insertMetaIfAbsent: `INSERT INTO ${s}.meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`,
		updateMetaIfEqual: `UPDATE ${s}.meta SET value = $1 WHERE key = $2 AND value = $3`,

		// The claim function (schema.ts, migration 3): $1 lock space, $2..$4 key/wanted/limit arrays
		// (sorted by key), $5 owner, $6 now, $7 expiry.
		claimShares: `SELECT key, granted, claimants, rank FROM ${s}.claim_shares($1, $2::text[], $3::integer[], $4::integer[], $5, $6, $7)`,
		releaseShares: `DELETE FROM ${s}.shares WHERE owner = $1`,
		// A batch of host updates, one row per host (host-updates.ts): a cooldown only extends; a
		// rate (rate_set_at >= 0; -1: this update carries none) replaces only a rate set earlier.
		updateHosts: `INSERT INTO ${s}.hosts AS h (host, cooldown_until, rate, ceiling, rate_set_at)
			SELECT * FROM unnest($1::text[], $2::bigint[], $3::float8[], $4::float8[], $5::bigint[])
			ON CONFLICT (host) DO UPDATE SET
				cooldown_until = greatest(h.cooldown_until, excluded.cooldown_until),
				rate = CASE WHEN excluded.rate_set_at >= 0 AND excluded.rate_set_at >= h.rate_set_at THEN excluded.rate ELSE h.rate END,
				ceiling = CASE WHEN excluded.rate_set_at >= 0 AND excluded.rate_set_at >= h.rate_set_at THEN excluded.ceiling ELSE h.ceiling END,
				rate_set_at = CASE WHEN excluded.rate_set_at >= 0 AND excluded.rate_set_at >= h.rate_set_at THEN excluded.rate_set_at ELSE h.rate_set_at END`,
		hosts: `SELECT * FROM ${s}.hosts ORDER BY host`,
	};
}

/** Column arrays for `newRequestsFrom`, from rows in serialize.ts's RequestInsert order. */
export function requestColumns(rows: readonly (readonly unknown[])[]): unknown[][] {
	const columns: unknown[][] = Array.from({length: 8}, () => []);
	for (const row of rows) for (let column = 0; column < 8; column++) columns[column]!.push(row[column] ?? null);
	return columns;
}
