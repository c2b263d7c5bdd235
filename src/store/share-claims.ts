// What both engines do with a batch of share claims before touching the database (Store.claimShares).
import {CrawljarError} from '../errors.js';
import type {ShareClaim} from './store.js';

/** Limits and wants are stored as 32-bit integers. */
const maxShareValue = 2 ** 31 - 1;

/**
 * Checks each claim (naming the field of a bad one) and keeps one claim per key, the last one
 * given, sorted by key: a networked engine locks the keys in this order, so two batches of
 * claims cannot deadlock.
 */
export function normalizeClaims(claims: readonly ShareClaim[]): ShareClaim[] {
	claims.forEach((claim, index) => {
		if (typeof claim.key !== 'string' || claim.key === '') {
			throw new CrawljarError('ERR_USAGE', `claimShares: claims[${index}].key must be a non-empty string`);
		}
		for (const field of ['wanted', 'limit'] as const) {
			const value = claim[field];
			if (!Number.isInteger(value) || value < 0 || value > maxShareValue) {
				throw new CrawljarError('ERR_USAGE', `claimShares: claims[${index}].${field} must be an integer from 0 to ${maxShareValue}, got ${String(value)}`);
			}
		}
	});
	const byKey = new Map(claims.map((claim) => [claim.key, claim]));
	return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** min(wanted, limit − what other owners hold), never below 0. */
export function grantFor(wanted: number, limit: number, heldByOthers: number): number {
	return Math.max(0, Math.min(wanted, limit - heldByOthers));
}
