// The PostgreSQL schema of one crawler and its migrations. Every crawler has its own schema
// (`crawljar_<name>`), so its tables, indexes and schema version are its own, and dropping a
// crawler's data is one DROP SCHEMA. Append a migration for every change; never edit one that
// has shipped (old databases replay them).
import type pg from 'pg';
import {CrawljarError} from '../../errors.js';
import {quoteIdentifier} from './identifiers.js';

export const schemaPrefix = 'crawljar_';
/** PostgreSQL truncates identifiers past 63 bytes: two long names must not share a schema. */
const maxIdentifierBytes = 63;

/** The schema that holds one crawler's tables. Throws ERR_STORAGE for a name that cannot be one. */
export function schemaOf(crawler: string): string {
	const schema = `${schemaPrefix}${crawler}`;
	if (Buffer.byteLength(schema) > maxIdentifierBytes) {
		throw new CrawljarError(
			'ERR_STORAGE',
			`crawler name '${crawler}' is too long for a PostgreSQL schema (at most ${maxIdentifierBytes - schemaPrefix.length} bytes)`,
		);
	}
	return schema;
}

/** Each entry gets the quoted schema name; index names are schema-local so need no prefix. */
const migrations: readonly ((s: string) => string)[] = [
	// 1: initial schema.
	(s) => `
	CREATE TABLE ${s}.runs (
		id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		state text NOT NULL,
		started_at bigint NOT NULL,
		finished_at bigint,
		summary text
	);

	CREATE TABLE ${s}.requests (
		id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		run_id integer NOT NULL REFERENCES ${s}.runs (id),
		unique_key text NOT NULL,
		url text NOT NULL,
		method text NOT NULL,
		label text,
		user_data text NOT NULL,
		headers text,
		depth integer NOT NULL,
		retry_count integer NOT NULL DEFAULT 0,
		relogin_count integer NOT NULL DEFAULT 0,
		ratelimit_count integer NOT NULL DEFAULT 0,
		state text NOT NULL DEFAULT 'pending',
		retry_at bigint NOT NULL DEFAULT 0,
		host text NOT NULL,
		status integer,
		error_code text,
		error text,
		-- The worker holding an in-flight request and until when (NULL: leased without an owner).
		lease_owner text,
		lease_expires_at bigint,
		UNIQUE (run_id, unique_key)
	);
	-- Partial indexes: leasing, resume and 'failed' walk only the rows in that state, so they stay
	-- small however large the done part of the frontier grows.
	CREATE INDEX requests_pending ON ${s}.requests (run_id, retry_at, id) WHERE state = 'pending';
	CREATE INDEX requests_inflight ON ${s}.requests (run_id, lease_expires_at) WHERE state = 'inflight';
	CREATE INDEX requests_failed ON ${s}.requests (run_id, id) WHERE state = 'failed';

	-- Items are text, not jsonb: jsonb reorders keys, and an export must give back what was pushed.
	CREATE TABLE ${s}.items (
		id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		run_id integer NOT NULL REFERENCES ${s}.runs (id),
		request_id bigint,
		data text NOT NULL
	);
	CREATE INDEX items_run ON ${s}.items (run_id, id);

	CREATE TABLE ${s}.sessions (
		id text PRIMARY KEY,
		account text NOT NULL,
		state text NOT NULL,
		meta text NOT NULL,
		secret text NOT NULL,
		updated_at bigint NOT NULL
	);

	CREATE TABLE ${s}.meta (
		key text PRIMARY KEY,
		value text NOT NULL
	);
	`,
	// 2: how many resumes in a row found each request in flight (failed at the second, see
	// Store.releaseInflight), and an index of those "suspects", which are leased alone.
	(s) => `
	ALTER TABLE ${s}.requests ADD COLUMN crash_count integer NOT NULL DEFAULT 0;
	CREATE INDEX requests_suspects ON ${s}.requests (run_id, state, retry_at, id) WHERE crash_count > 0;
	`,
	// 3: the workers of each run (workers.ts): one row per runner, live while its heartbeat is.
	(s) => `
	CREATE TABLE ${s}.workers (
		id text PRIMARY KEY,
		run_id integer NOT NULL REFERENCES ${s}.runs (id),
		host text NOT NULL,
		pid integer NOT NULL,
		started_at bigint NOT NULL,
		heartbeat_at bigint NOT NULL,
		expires_at bigint NOT NULL,
		left_at bigint,
		stats text
	);
	CREATE INDEX workers_run ON ${s}.workers (run_id, started_at);
	`,
	// 4: shares of crawl-wide limits (Store.claimShares): one row per key and owner, and the claim
	// as one function, so a batch of claims is one round trip. Each key is taken under a
	// transaction-scoped advisory lock, keys in sorted order (two batches cannot deadlock); a
	// VOLATILE plpgsql function reads with a new snapshot per statement, so what the others hold
	// is read after the lock, with every earlier claim of the key committed.
	(s) => `
	CREATE TABLE ${s}.shares (
		key text NOT NULL,
		owner text NOT NULL,
		wanted integer NOT NULL,
		granted integer NOT NULL,
		expires_at bigint NOT NULL,
		PRIMARY KEY (key, owner)
	);
	CREATE INDEX shares_owner ON ${s}.shares (owner);

	CREATE FUNCTION ${s}.claim_shares(lock_space text, keys text[], wanted integer[], limits integer[],
		claimant text, now_ms bigint, expires_ms bigint)
	RETURNS TABLE (key text, granted integer, claimants integer, rank integer)
	LANGUAGE plpgsql VOLATILE AS $fn$
	DECLARE
		i integer;
		held bigint;
		others integer;
		before integer;
		grant_now integer;
	BEGIN
		FOR i IN 1 .. coalesce(array_length(keys, 1), 0) LOOP
			PERFORM pg_advisory_xact_lock(hashtextextended(lock_space || ' ' || keys[i], 0));
			DELETE FROM ${s}.shares AS sh WHERE sh.key = keys[i] AND sh.expires_at <= now_ms;
			SELECT coalesce(sum(sh.granted), 0), count(*), count(*) FILTER (WHERE sh.owner < claimant)
				INTO held, others, before
				FROM ${s}.shares AS sh WHERE sh.key = keys[i] AND sh.owner <> claimant;
			grant_now := greatest(0, least(wanted[i]::bigint, limits[i]::bigint - held));
			INSERT INTO ${s}.shares AS sh (key, owner, wanted, granted, expires_at)
				VALUES (keys[i], claimant, greatest(0, wanted[i]), grant_now, expires_ms)
				ON CONFLICT ON CONSTRAINT shares_pkey DO UPDATE
				SET wanted = excluded.wanted, granted = excluded.granted, expires_at = excluded.expires_at;
			key := keys[i];
			granted := grant_now;
			claimants := others + 1;
			rank := before;
			RETURN NEXT;
		END LOOP;
	END
	$fn$;
	`,
	// 5: host state shared by the crawl (cooldowns, the adaptive rate): a small table the lease
	// reads (hosts cooling down now) by its primary key.
	(s) => `
	CREATE TABLE ${s}.hosts (
		host text PRIMARY KEY,
		cooldown_until bigint NOT NULL DEFAULT 0,
		rate double precision,
		ceiling double precision,
		rate_set_at bigint NOT NULL DEFAULT 0
	);
	`,
	// 6: sessions shared by several workers: a version per row (compare-and-set), a change cursor
	// (workers poll the rows written since theirs; see session-statements.ts) and the
	// single-flight login locks.
	(s) => `
	ALTER TABLE ${s}.sessions ADD COLUMN version integer NOT NULL DEFAULT 1;
	ALTER TABLE ${s}.sessions ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;
	CREATE SEQUENCE ${s}.session_changes;
	UPDATE ${s}.sessions SET change_seq = nextval('${s}.session_changes');
	CREATE INDEX sessions_changes ON ${s}.sessions (change_seq);
	CREATE TABLE ${s}.session_locks (
		key text PRIMARY KEY,
		owner text NOT NULL,
		expires_at bigint NOT NULL
	);
	`,
];

/** The schema version this build writes. */
export const schemaVersion = migrations.length;

/**
 * Creates the crawler's schema if needed and brings it up to `schemaVersion`, in one transaction
 * under an advisory lock on the schema's name, so processes opening the same crawler at once
 * neither race on CREATE nor apply a migration twice.
 */
export async function migrate(client: pg.ClientBase, schema: string): Promise<void> {
	const s = quoteIdentifier(schema);
	await client.query('BEGIN');
	try {
		await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`crawljar schema ${schema}`]);
		await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
		await client.query(`CREATE TABLE IF NOT EXISTS ${s}.schema_version (version integer NOT NULL)`);
		const {rows} = await client.query<{version: number}>(`SELECT version FROM ${s}.schema_version`);
		const current = rows[0]?.version ?? 0;
		if (rows.length === 0) await client.query(`INSERT INTO ${s}.schema_version (version) VALUES (0)`);
		if (current > migrations.length) {
			throw new CrawljarError(
				'ERR_STORAGE',
				`schema ${schema} has version ${current}, newer than this crawljar supports (${migrations.length}); upgrade crawljar`,
			);
		}
		for (const migration of migrations.slice(current)) await client.query(migration(s));
		await client.query(`UPDATE ${s}.schema_version SET version = $1`, [migrations.length]);
		await client.query('COMMIT');
	} catch (error) {
		await client.query('ROLLBACK').catch(() => {});
		throw error;
	}
}
