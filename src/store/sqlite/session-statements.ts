// Statements of the shared sessions (Store.saveSessionIf, sessionChanges, lockSession). SQLite
// runs one write at a time, so each statement is atomic by itself: the compare and the set of a
// compare-and-set cannot interleave with another connection's write, and `max(change_seq) + 1`
// read inside the writing statement gives writes increasing cursors in commit order.
import type Database from 'better-sqlite3';
import type {SessionRow} from './rows.js';

type SessionValues = [id: string, account: string, state: string, meta: string, secret: string, updatedAt: number];

const nextChange = `(SELECT coalesce(max(change_seq), 0) + 1 FROM sessions)`;

/** @internal */
export type SessionStatements = ReturnType<typeof prepareSessionStatements>;

/** @internal Declarations are stripped: better-sqlite3's statement type cannot be named in a .d.ts. */
export function prepareSessionStatements(db: Database.Database) {
	return {
		// Unconditional: a new row is version 1, every later write one more.
		saveSession: db.prepare<SessionValues>(
			`INSERT INTO sessions (id, account, state, meta, secret, updated_at, version, change_seq)
			VALUES (?, ?, ?, ?, ?, ?, 1, ${nextChange})
			ON CONFLICT (id) DO UPDATE SET account = excluded.account, state = excluded.state, meta = excluded.meta,
				secret = excluded.secret, updated_at = excluded.updated_at, version = sessions.version + 1,
				change_seq = excluded.change_seq`,
		),
		insertSessionIfAbsent: db.prepare<SessionValues>(
			`INSERT INTO sessions (id, account, state, meta, secret, updated_at, version, change_seq)
			VALUES (?, ?, ?, ?, ?, ?, 1, ${nextChange})
			ON CONFLICT (id) DO NOTHING`,
		),
		updateSessionIfVersion: db.prepare<[account: string, state: string, meta: string, secret: string, updatedAt: number, id: string, version: number]>(
			`UPDATE sessions SET account = ?, state = ?, meta = ?, secret = ?, updated_at = ?, version = version + 1,
				change_seq = ${nextChange}
			WHERE id = ? AND version = ?`,
		),
		sessionChanges: db.prepare<[cursor: number], SessionRow>(`SELECT * FROM sessions WHERE change_seq > ? ORDER BY change_seq`),
		// Taken when free, renewed by its owner, taken over once expired; one statement, so two
		// connections cannot both take it.
		lock: db.prepare<[key: string, owner: string, expiresAt: number, now: number]>(
			`INSERT INTO session_locks (key, owner, expires_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
			WHERE session_locks.owner = excluded.owner OR session_locks.expires_at <= ?`,
		),
		unlock: db.prepare<[key: string, owner: string]>(`DELETE FROM session_locks WHERE key = ? AND owner = ?`),
	};
}
