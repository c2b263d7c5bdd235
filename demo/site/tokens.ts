// Access and refresh tokens of the JSON API. Refresh tokens rotate; presenting a rotated one
// again is treated as theft and revokes the whole family (as OAuth 2.0 Security BCP advises).
import {createHmac, randomBytes} from 'node:crypto';
import {newId} from './sessions.js';

export interface TokenPair {
	readonly access_token: string;
	readonly refresh_token: string;
	/** Seconds, possibly fractional when the configured TTL is under a second. */
	readonly expires_in: number;
}

interface Family {
	readonly user: string;
	isRevoked: boolean;
	/** Issue time of the family's newest access token: older expired ones are stale. */
	latestIssuedAt: number;
}

interface AccessRecord {
	readonly family: Family;
	readonly issuedAt: number;
	readonly expiresAt: number;
}

interface RefreshRecord {
	readonly family: Family;
	isUsed: boolean;
}

export type AccessCheck =
	| {readonly kind: 'missing' | 'invalid' | 'revoked'}
	| {readonly kind: 'expired'; readonly isStale: boolean}
	| {readonly kind: 'valid'; readonly user: string};

export type RefreshResult =
	| {readonly kind: 'unknown' | 'revoked' | 'reused'}
	| {readonly kind: 'rotated'; readonly tokens: TokenPair};

export class TokenStore {
	readonly #ttlMs: number;
	readonly #secret = randomBytes(32);
	readonly #access = new Map<string, AccessRecord>();
	readonly #refresh = new Map<string, RefreshRecord>();
	/** Makes two tokens issued in the same millisecond different. */
	#sequence = 0;

	constructor(accessTokenTtlMs: number) {
		this.#ttlMs = accessTokenTtlMs;
	}

	login(user: string): TokenPair {
		return this.#issue({user, isRevoked: false, latestIssuedAt: 0});
	}

	refresh(refreshToken: string): RefreshResult {
		const record = this.#refresh.get(refreshToken);
		if (!record) return {kind: 'unknown'};
		if (record.isUsed) {
			record.family.isRevoked = true;
			return {kind: 'reused'};
		}
		if (record.family.isRevoked) return {kind: 'revoked'};
		record.isUsed = true;
		return {kind: 'rotated', tokens: this.#issue(record.family)};
	}

	check(authorization: string | undefined): AccessCheck {
		const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
		if (!match?.[1]) return {kind: 'missing'};
		const record = this.#access.get(match[1]);
		if (!record) return {kind: 'invalid'};
		if (record.family.isRevoked) return {kind: 'revoked'};
		if (Date.now() >= record.expiresAt) {
			return {kind: 'expired', isStale: record.family.latestIssuedAt > record.issuedAt};
		}
		return {kind: 'valid', user: record.family.user};
	}

	#issue(family: Family): TokenPair {
		const issuedAt = Date.now();
		// Strictly increasing per family, so "newer than" holds even within one millisecond.
		family.latestIssuedAt = Math.max(issuedAt, family.latestIssuedAt + 0.001);
		const expiresAt = issuedAt + this.#ttlMs;
		const accessToken = this.#jwt({
			sub: family.user,
			iat: Math.floor(issuedAt / 1000),
			// Rounded down: a client trusting `exp` refreshes early rather than late.
			exp: Math.floor(expiresAt / 1000),
			jti: `${++this.#sequence}.${newId(6)}`,
		});
		const refreshToken = newId(24);
		this.#access.set(accessToken, {family, issuedAt: family.latestIssuedAt, expiresAt});
		this.#refresh.set(refreshToken, {family, isUsed: false});
		return {access_token: accessToken, refresh_token: refreshToken, expires_in: this.#ttlMs / 1000};
	}

	/** A real HS256 JWT, so clients can read `exp` from the payload. */
	#jwt(payload: Record<string, unknown>): string {
		const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
		const unsigned = `${encode({alg: 'HS256', typ: 'JWT'})}.${encode(payload)}`;
		return `${unsigned}.${createHmac('sha256', this.#secret).update(unsigned).digest('base64url')}`;
	}
}
