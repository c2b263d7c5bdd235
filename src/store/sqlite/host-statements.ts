// Host state shared by the crawl (Store.updateHosts, Store.hosts) and the cooldown-aware
// nextDueAt on SQLite. The merge rules live in the upsert: a cooldown only extends, a rate
// replaces only a rate set earlier.
import type Database from 'better-sqlite3';
import type {HostUpdate, StoredHost} from '../store.js';

interface HostRow {
	readonly host: string;
	readonly cooldown_until: number;
	readonly rate: number | null;
	readonly ceiling: number | null;
	readonly rate_set_at: number;
}

interface UpsertParams {
	readonly host: string;
	readonly cooldown: number;
	readonly hasRate: number;
	readonly rate: number | null;
	readonly ceiling: number | null;
	readonly setAt: number;
}

/** @internal Declarations are stripped: better-sqlite3's statement type cannot be named in a .d.ts. */
export function prepareHostStatements(db: Database.Database) {
	const upsert = db.prepare<UpsertParams>(
		`INSERT INTO hosts (host, cooldown_until, rate, ceiling, rate_set_at)
		VALUES (@host, @cooldown, CASE WHEN @hasRate THEN @rate END, CASE WHEN @hasRate THEN @ceiling END, CASE WHEN @hasRate THEN @setAt ELSE 0 END)
		ON CONFLICT (host) DO UPDATE SET
			cooldown_until = max(cooldown_until, excluded.cooldown_until),
			rate = CASE WHEN @hasRate AND @setAt >= rate_set_at THEN @rate ELSE rate END,
			ceiling = CASE WHEN @hasRate AND @setAt >= rate_set_at THEN @ceiling ELSE ceiling END,
			rate_set_at = CASE WHEN @hasRate AND @setAt >= rate_set_at THEN @setAt ELSE rate_set_at END`,
	);
	const all = db.prepare<[], HostRow>(`SELECT * FROM hosts ORDER BY host`);
	// nextDueAt with cooldowns: the first pending request of a host not cooling down, and the
	// end of the earliest cooldown ahead (a request of a cooling host is due no earlier).
	const firstDueNotCooling = db
		.prepare<[runId: number, now: number], number>(
			`SELECT retry_at FROM requests WHERE run_id = ? AND state = 'pending'
				AND host NOT IN (SELECT host FROM hosts WHERE cooldown_until > ?)
			ORDER BY retry_at LIMIT 1`,
		)
		.pluck();
	const earliestCooldownEnd = db
		.prepare<[now: number], number | null>(`SELECT min(cooldown_until) FROM hosts WHERE cooldown_until > ?`)
		.pluck();
	return {
		update: db.transaction((updates: readonly HostUpdate[]) => {
			for (const update of updates) upsert.run(upsertParams(update));
		}),
		all: (): StoredHost[] => all.all().map(toStoredHost),
		/** Given the plain nextDueAt (undefined: nothing pending), the cooldown-aware one. */
		nextDueAt(runId: number, now: number, anyDue: number | undefined): number | undefined {
			if (anyDue === undefined) return undefined;
			const candidates = [firstDueNotCooling.get(runId, now), earliestCooldownEnd.get(now)].filter((due) => typeof due === 'number');
			return candidates.length === 0 ? anyDue : Math.min(...candidates);
		},
	};
}

/** @internal */
export type HostStatements = ReturnType<typeof prepareHostStatements>;

function upsertParams(update: HostUpdate): UpsertParams {
	return {
		host: update.host,
		cooldown: update.cooldownUntil ?? 0,
		hasRate: update.rate ? 1 : 0,
		rate: update.rate?.rate ?? null,
		ceiling: update.rate?.ceiling ?? null,
		setAt: update.rate?.setAt ?? 0,
	};
}

/** @internal Shared with the PostgreSQL store: the row shape is the same. */
export function toStoredHost(row: HostRow): StoredHost {
	return {
		host: row.host,
		cooldownUntil: Number(row.cooldown_until),
		rate: row.rate ?? undefined,
		ceiling: row.ceiling ?? undefined,
		rateSetAt: Math.max(0, Number(row.rate_set_at)),
	};
}

export type {HostRow};
