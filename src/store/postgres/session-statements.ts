// SQL of the shared sessions (Store.saveSessionIf, sessionChanges, lockSession) for one schema.
//
// The change cursor is a sequence, but a sequence alone hands out numbers in the order writes
// START, not the order they commit: a poller that saw 6 could miss a 5 committed after it. So
// every session write first takes one transaction-scoped advisory lock (held until its commit):
// writes of session rows commit one at a time, in cursor order. They are rare (logins, cookie
// changes), one statement each.
import {quoteIdentifier} from './identifiers.js';

export type SessionSql = ReturnType<typeof buildSessionStatements>;

export function buildSessionStatements(schema: string) {
	const s = quoteIdentifier(schema);
	// $1..$6: id, account, state, meta, secret, updated_at. The lock CTE is joined in, so it is
	// taken before any row is written (and before nextval is called).
	const serialized = `WITH write_lock AS (SELECT pg_advisory_xact_lock(hashtextextended('crawljar sessions ' || ${quoteLiteral(schema)}, 0)))`;
	const insert = `${serialized}
		INSERT INTO ${s}.sessions (id, account, state, meta, secret, updated_at, version, change_seq)
		SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::bigint, 1, nextval('${s}.session_changes') FROM write_lock`;
	return {
		saveSession: `${insert}
			ON CONFLICT (id) DO UPDATE SET account = excluded.account, state = excluded.state, meta = excluded.meta,
				secret = excluded.secret, updated_at = excluded.updated_at, version = sessions.version + 1,
				change_seq = excluded.change_seq`,
		insertSessionIfAbsent: `${insert} ON CONFLICT (id) DO NOTHING`,
		// A concurrent update of the row makes this one wait, then re-check `version = $7` on the
		// new row (READ COMMITTED): two writers expecting one version never both win.
		updateSessionIfVersion: `${serialized}
			UPDATE ${s}.sessions SET account = $2, state = $3, meta = $4, secret = $5, updated_at = $6,
				version = version + 1, change_seq = nextval('${s}.session_changes')
			FROM write_lock WHERE id = $1 AND version = $7`,
		sessionChanges: `SELECT * FROM ${s}.sessions WHERE change_seq > $1 ORDER BY change_seq`,
		// ON CONFLICT DO UPDATE locks the row and evaluates WHERE on its newest version: one winner.
		lock: `INSERT INTO ${s}.session_locks (key, owner, expires_at) VALUES ($1, $2, $3)
			ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
			WHERE session_locks.owner = excluded.owner OR session_locks.expires_at <= $4`,
		unlock: `DELETE FROM ${s}.session_locks WHERE key = $1 AND owner = $2`,
	};
}

function quoteLiteral(value: string): string {
	return `'${value.replaceAll("'", "''")}'`;
}
