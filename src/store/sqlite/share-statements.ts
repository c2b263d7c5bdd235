// Shares of crawl-wide limits (Store.claimShares) on SQLite: one row per (key, owner). A claim
// runs in one IMMEDIATE transaction, so no other handle on the file writes between reading what
// the others hold and recording this owner's grant.
import type Database from 'better-sqlite3';
import type {ShareClaim, ShareGrant} from '../store.js';
import {grantFor, normalizeClaims} from '../share-claims.js';

interface OthersRow {
	readonly held: number;
	readonly claimants: number;
	readonly before: number;
}

/** @internal Declarations are stripped: better-sqlite3's statement type cannot be named in a .d.ts. */
export function prepareShareStatements(db: Database.Database) {
	const statements = {
		dropExpired: db.prepare<[key: string, now: number]>(`DELETE FROM shares WHERE key = ? AND expires_at <= ?`),
		// What the other owners of unexpired shares hold, how many they are, and how many sort before this owner.
		others: db.prepare<[owner: string, key: string, owner: string], OthersRow>(
			`SELECT coalesce(sum(granted), 0) AS held, count(*) AS claimants, coalesce(sum(owner < ?), 0) AS before
			FROM shares WHERE key = ? AND owner <> ?`,
		),
		upsert: db.prepare<[key: string, owner: string, wanted: number, granted: number, expiresAt: number]>(
			`INSERT INTO shares (key, owner, wanted, granted, expires_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (key, owner) DO UPDATE SET wanted = excluded.wanted, granted = excluded.granted, expires_at = excluded.expires_at`,
		),
		release: db.prepare<[owner: string]>(`DELETE FROM shares WHERE owner = ?`),
	};
	const claim = db.transaction((claims: readonly ShareClaim[], owner: string, now: number, expiresAt: number): ShareGrant[] => {
		const grants = new Map<string, ShareGrant>();
		for (const {key, wanted, limit} of normalizeClaims(claims)) {
			statements.dropExpired.run(key, now);
			const others = statements.others.get(owner, key, owner)!;
			const granted = grantFor(wanted, limit, others.held);
			statements.upsert.run(key, owner, Math.max(0, wanted), granted, expiresAt);
			grants.set(key, {key, granted, claimants: others.claimants + 1, rank: others.before});
		}
		return claims.map((claim) => grants.get(claim.key)!);
	});
	return {claim, release: statements.release};
}

/** @internal */
export type ShareStatements = ReturnType<typeof prepareShareStatements>;
