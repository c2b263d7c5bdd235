// The SQLite schema and its migrations, versioned by `PRAGMA user_version`.
// Append a migration for every change; never edit one that has shipped (old files replay them).
import type Database from 'better-sqlite3';
import {CrawljarError} from '../../errors.js';

/** @internal Exported for the migration test, which builds files of older versions. */
export const migrations: readonly string[] = [
	// 1: initial schema.
	`
	CREATE TABLE runs (
		id INTEGER PRIMARY KEY,
		state TEXT NOT NULL,
		started_at INTEGER NOT NULL,
		finished_at INTEGER,
		summary TEXT
	);

	CREATE TABLE requests (
		id INTEGER PRIMARY KEY,
		run_id INTEGER NOT NULL REFERENCES runs (id),
		unique_key TEXT NOT NULL,
		url TEXT NOT NULL,
		method TEXT NOT NULL,
		label TEXT,
		user_data TEXT NOT NULL,
		headers TEXT,
		depth INTEGER NOT NULL,
		retry_count INTEGER NOT NULL DEFAULT 0,
		relogin_count INTEGER NOT NULL DEFAULT 0,
		ratelimit_count INTEGER NOT NULL DEFAULT 0,
		state TEXT NOT NULL DEFAULT 'pending',
		retry_at INTEGER NOT NULL DEFAULT 0,
		host TEXT NOT NULL,
		status INTEGER,
		error_code TEXT,
		error TEXT,
		UNIQUE (run_id, unique_key)
	);
	-- Leasing walks this index in (retry_at, id) order: the rowid is its implicit last column.
	CREATE INDEX requests_lease ON requests (run_id, state, retry_at);

	CREATE TABLE items (
		id INTEGER PRIMARY KEY,
		run_id INTEGER NOT NULL REFERENCES runs (id),
		request_id INTEGER,
		data TEXT NOT NULL
	);
	-- Export pages through a run's items by id; also serves itemCount.
	CREATE INDEX items_run ON items (run_id, id);

	CREATE TABLE sessions (
		id TEXT PRIMARY KEY,
		account TEXT NOT NULL,
		state TEXT NOT NULL,
		meta TEXT NOT NULL,
		secret TEXT NOT NULL,
		updated_at INTEGER NOT NULL
	);

	CREATE TABLE meta (
		key TEXT PRIMARY KEY,
		value TEXT NOT NULL
	);
	`,
	// 2: how many resumes in a row found each request in flight (a request that crashes the
	// process is failed at the second), and an index of those "suspects", leased one at a time.
	`
	ALTER TABLE requests ADD COLUMN crash_count INTEGER NOT NULL DEFAULT 0;
	CREATE INDEX requests_suspects ON requests (run_id, state, retry_at) WHERE crash_count > 0;
	`,
	// 3: leases with an owner and an expiry (see lease-statements.ts).
	`
	ALTER TABLE requests ADD COLUMN lease_owner TEXT;
	ALTER TABLE requests ADD COLUMN lease_expires_at INTEGER;
	`,
	// 4: the workers of each run (see workers.ts): one row per runner, live while its heartbeat is.
	`
	CREATE TABLE workers (
		id TEXT PRIMARY KEY,
		run_id INTEGER NOT NULL REFERENCES runs (id),
		host TEXT NOT NULL,
		pid INTEGER NOT NULL,
		started_at INTEGER NOT NULL,
		heartbeat_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL,
		left_at INTEGER,
		stats TEXT
	);
	CREATE INDEX workers_run ON workers (run_id, started_at);
	`,
	// 5: shares of crawl-wide limits (see share-statements.ts): one row per key and owner.
	`
	CREATE TABLE shares (
		key TEXT NOT NULL,
		owner TEXT NOT NULL,
		wanted INTEGER NOT NULL,
		granted INTEGER NOT NULL,
		expires_at INTEGER NOT NULL,
		PRIMARY KEY (key, owner)
	) WITHOUT ROWID;
	CREATE INDEX shares_owner ON shares (owner);
	`,
	// 6: host state shared by the crawl (cooldowns, the adaptive rate), joined by the lease.
	`
	CREATE TABLE hosts (
		host TEXT PRIMARY KEY,
		cooldown_until INTEGER NOT NULL DEFAULT 0,
		rate REAL,
		ceiling REAL,
		rate_set_at INTEGER NOT NULL DEFAULT 0
	) WITHOUT ROWID;
	`,
	// 7: sessions shared by several workers: a version per row (compare-and-set), a change cursor
	// (workers poll the rows written since theirs) and the single-flight login locks.
	`
	ALTER TABLE sessions ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
	ALTER TABLE sessions ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
	UPDATE sessions SET change_seq = rowid;
	CREATE INDEX sessions_changes ON sessions (change_seq);
	CREATE TABLE session_locks (
		key TEXT PRIMARY KEY,
		owner TEXT NOT NULL,
		expires_at INTEGER NOT NULL
	);
	`,
];

/** The schema version this build writes. */
export const schemaVersion = migrations.length;

/** Brings a database up to `schemaVersion`; each step in its own IMMEDIATE transaction so two processes cannot both apply it. */
export function migrate(db: Database.Database, file: string): void {
	const step = db.transaction((): boolean => {
		const current = db.pragma('user_version', {simple: true}) as number;
		if (current > migrations.length) {
			throw new CrawljarError(
				'ERR_STORAGE',
				`${file} has schema version ${current}, newer than this crawljar supports (${migrations.length}); upgrade crawljar`,
			);
		}
		const migration = migrations[current];
		if (migration === undefined) return false;
		db.exec(migration);
		db.pragma(`user_version = ${current + 1}`);
		return true;
	});
	while (step.immediate()) {
		// One migration per transaction until none is left.
	}
}
