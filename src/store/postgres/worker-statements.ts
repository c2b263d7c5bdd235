// SQL of the workers of a run (Store.joinRun, heartbeat, leaveRun, listWorkers, tryFinishRun),
// built once per store for its schema. The lease statements stay in statements.ts.
import {quoteIdentifier} from './identifiers.js';
import {releaseInflightSet} from './statements.js';

export type WorkerSql = ReturnType<typeof buildWorkerStatements>;

export function buildWorkerStatements(schema: string) {
	const s = quoteIdentifier(schema);
	return {
		// Joins and leaves of one crawler are serialized (transaction-scoped): a join sees every
		// worker that joined or left before it, and of two workers leaving at once, the second
		// sees the first gone (so exactly one of them is the last).
		joinLock: `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
		latestRun: `SELECT * FROM ${s}.runs ORDER BY id DESC LIMIT 1`,
		list: `SELECT * FROM ${s}.workers WHERE run_id = $1 ORDER BY started_at, id`,
		expire: `UPDATE ${s}.workers SET expires_at = least(expires_at, $1) WHERE id = ANY($2::text[])`,
		insert: `INSERT INTO ${s}.workers (id, run_id, host, pid, started_at, heartbeat_at, expires_at) VALUES ($1, $2, $3, $4, $5, $5, $6)`,
		// A resume's release (statements.ts releaseInflight), sparing the requests of live owners ($4).
		releaseInflight: `UPDATE ${s}.requests SET ${releaseInflightSet}
			WHERE run_id = $1 AND state = 'inflight' AND (lease_owner IS NULL OR NOT lease_owner = ANY($4::text[]))
			RETURNING state`,
		// The heartbeat in one statement, one round trip: the worker's row, the renewal of the
		// leases it holds ($6) and the reclaim of expired ones, but for those it holds (the two
		// sets are disjoint: one statement must not update a row twice).
		heartbeat: `WITH beat AS (
				UPDATE ${s}.workers SET heartbeat_at = $3, expires_at = $4, stats = $5 WHERE id = $2 AND left_at IS NULL RETURNING 1
			), renewed AS (
				UPDATE ${s}.requests SET lease_expires_at = $4
				WHERE run_id = $1 AND state = 'inflight' AND lease_owner = $2 AND id = ANY($6::bigint[]) RETURNING 1
			), reclaimed AS (
				UPDATE ${s}.requests SET state = 'pending', retry_at = 0, lease_owner = NULL, lease_expires_at = NULL
				WHERE run_id = $1 AND state = 'inflight' AND lease_expires_at <= $3
					AND (lease_owner IS DISTINCT FROM $2 OR NOT id = ANY($6::bigint[])) RETURNING 1
			)
			SELECT (SELECT count(*) FROM renewed)::integer AS renewed, (SELECT count(*) FROM reclaimed)::integer AS reclaimed`,
		leave: `UPDATE ${s}.workers SET left_at = $2, stats = $3 WHERE id = $1`,
		liveOthers: `SELECT * FROM ${s}.workers WHERE run_id = $1 AND id <> $2 AND left_at IS NULL AND expires_at > $3 ORDER BY started_at, id`,
		// "Finished" in one statement, one snapshot, two index probes (the partial indexes of the
		// pending and in-flight parts: no count): expired leases go back to pending; with nothing
		// pending, nothing in flight and nothing reclaimed, the run goes running → finished
		// (compare-and-set: of two workers asking at once, one wins).
		tryFinish: `WITH reclaimed AS (
				UPDATE ${s}.requests SET state = 'pending', retry_at = 0, lease_owner = NULL, lease_expires_at = NULL
				WHERE run_id = $1 AND state = 'inflight' AND lease_expires_at <= $2 RETURNING 1
			), work AS (
				SELECT EXISTS (SELECT 1 FROM ${s}.requests WHERE run_id = $1 AND state = 'pending') AS pending,
					EXISTS (SELECT 1 FROM ${s}.requests WHERE run_id = $1 AND state = 'inflight') AS inflight,
					EXISTS (SELECT 1 FROM reclaimed) AS reclaimed
			), finished AS (
				UPDATE ${s}.runs SET state = 'finished', finished_at = $2
				WHERE id = $1 AND state = 'running' AND (SELECT NOT (pending OR inflight OR reclaimed) FROM work)
				RETURNING 1
			)
			SELECT pending OR reclaimed AS pending, inflight, EXISTS (SELECT 1 FROM finished) AS won FROM work`,
	};
}
