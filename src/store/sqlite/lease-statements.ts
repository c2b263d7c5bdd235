// Statements of the leases (Store.lease, Store.leaseAs and the rest). A plain lease passes a
// NULL owner and expiry; a lease owner matters only while its request is in flight: every lease
// sets or clears it, so an owner left on a pending or done row can never pass the fence.
import type Database from 'better-sqlite3';
import type {LeasedRow} from './rows.js';

/**
 * Hosts cooling down at the time given (the lease's `now`): their requests are skipped. SQLite
 * runs this uncorrelated subquery once per statement into a temporary index, and the hosts
 * table is small, so the lease still walks its index in order at the cost of one lookup a row.
 */
const coolingHosts = `SELECT host FROM hosts WHERE cooldown_until > ?`;

/** @internal */
export type LeaseStatements = ReturnType<typeof prepareLeaseStatements>;

/** @internal Declarations are stripped: better-sqlite3's statement type cannot be named in a .d.ts. */
export function prepareLeaseStatements(db: Database.Database) {
	return {
		// RETURNING gives rows in no promised order: the store sorts them. Raw rows (arrays, in
		// LeasedRow's order) and no column the caller already knows: building a 15-key object per
		// row was ~30% of a lease, and the lease is the store's largest cost per page (bench/).
		leaseAs: db
			.prepare<[owner: string | null, expiresAt: number | null, runId: number, now: number, coolingAt: number, skipHosts: string, limit: number], LeasedRow>(
				`UPDATE requests SET state = 'inflight', lease_owner = ?, lease_expires_at = ?
				WHERE id IN (
					SELECT id FROM requests
					WHERE run_id = ? AND state = 'pending' AND retry_at <= ? AND host NOT IN (${coolingHosts}) AND crash_count = 0
						AND host NOT IN (SELECT value FROM json_each(?))
					ORDER BY retry_at, id LIMIT ?
				)
				RETURNING id, unique_key, url, method, label, user_data, headers, depth,
					retry_count, relogin_count, ratelimit_count, retry_at, host`,
			)
			.raw(),
		// A suspect (crash_count > 0) is leased alone (sqlite-store.ts).
		leaseSuspectAs: db
			.prepare<[owner: string | null, expiresAt: number | null, runId: number, now: number, coolingAt: number], LeasedRow>(
				`UPDATE requests SET state = 'inflight', lease_owner = ?, lease_expires_at = ?
				WHERE id IN (
					SELECT id FROM requests
					WHERE run_id = ? AND state = 'pending' AND retry_at <= ? AND host NOT IN (${coolingHosts}) AND crash_count > 0
					ORDER BY retry_at, id LIMIT 1
				)
				RETURNING id, unique_key, url, method, label, user_data, headers, depth,
					retry_count, relogin_count, ratelimit_count, retry_at, host`,
			)
			.raw(),
		renew: db.prepare<[expiresAt: number, runId: number, owner: string]>(
			`UPDATE requests SET lease_expires_at = ? WHERE run_id = ? AND state = 'inflight' AND lease_owner = ?`,
		),
		reclaim: db.prepare<[runId: number, now: number]>(
			`UPDATE requests SET state = 'pending', retry_at = 0, lease_owner = NULL, lease_expires_at = NULL
			WHERE run_id = ? AND state = 'inflight' AND lease_expires_at <= ?`,
		),
		/** The fence: is this request still in flight under this owner? */
		holds: db
			.prepare<[id: number, runId: number, owner: string], number>(
				`SELECT 1 FROM requests WHERE id = ? AND run_id = ? AND state = 'inflight' AND lease_owner = ?`,
			)
			.pluck(),
	};
}
