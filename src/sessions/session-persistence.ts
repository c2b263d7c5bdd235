// Session ⇄ StoredSession. The secret part (cookie jar, tokens, extra headers) is encrypted with
// the session id as associated data, so a blob copied onto another session's row fails to open.
// The meta part is clear text and holds no value of any cookie, token or header.
import type {StoredSession} from '../store/store.js';
import {decrypt, encrypt} from './crypto.js';
import {Session, type Account, type CookieSummary, type SessionMeta, type SessionSecret, type SessionState} from './session.js';

export function toStoredSession(session: Session, key: Buffer, now: number): StoredSession {
	const {secret, meta} = session.serialize();
	return {
		id: session.id,
		account: session.username,
		state: meta.state,
		meta: meta as unknown as Record<string, unknown>,
		secret: encrypt(JSON.stringify(secret), key, session.id),
		updatedAt: now,
	};
}

/** Rebuilds a session; throws ERR_CRYPTO when the key changed or the blob was tampered with. */
export function fromStoredSession(stored: StoredSession, account: Account, key: Buffer, now: number): Session {
	const secret = JSON.parse(decrypt(stored.secret, key, stored.id)) as SessionSecret;
	return Session.deserialize(stored.id, account, secret, stored.meta as Partial<SessionMeta>, now);
}

/** What `crawljar sessions ls` shows: no cookie value, token or header value. */
export interface SessionSummary {
	readonly id: string;
	readonly account: string;
	readonly state: SessionState | string;
	readonly disabledReason: string | undefined;
	readonly cookies: ReadonlyArray<Pick<CookieSummary, 'name' | 'domain' | 'expiresAt'>>;
	readonly tokenExpiresAt: number | undefined;
	readonly lastLoginAt: number | undefined;
	readonly logins: number;
	readonly relogins: number;
	readonly refreshes: number;
	readonly refreshesAfterLogout: number;
	readonly unauthorized: number;
	readonly requests: number;
	readonly updatedAt: number | undefined;
}

export function summarizeSession(session: Session, updatedAt?: number): SessionSummary {
	return summarize(session.id, session.username, session.serialize().meta, updatedAt);
}

/** For `sessions ls` straight from the store: needs no key, decrypts nothing. */
export function summarizeStoredSession(stored: StoredSession): SessionSummary {
	return summarize(stored.id, stored.account, stored.meta as Partial<SessionMeta>, stored.updatedAt, stored.state);
}

function summarize(id: string, account: string, meta: Partial<SessionMeta>, updatedAt?: number, state?: string): SessionSummary {
	return {
		id,
		account,
		state: meta.state ?? state ?? 'new',
		disabledReason: meta.disabledReason,
		cookies: (meta.cookies ?? []).map(({name, domain, expiresAt}) => ({name, domain, expiresAt})),
		tokenExpiresAt: meta.tokenExpiresAt,
		lastLoginAt: meta.stats?.lastLoginAt,
		logins: meta.stats?.logins ?? 0,
		// Sessions stored before these counters existed read as 0.
		relogins: meta.stats?.relogins ?? 0,
		refreshes: meta.stats?.refreshes ?? 0,
		refreshesAfterLogout: meta.stats?.refreshesAfterLogout ?? 0,
		unauthorized: meta.stats?.unauthorized ?? 0,
		requests: meta.stats?.requests ?? 0,
		updatedAt,
	};
}
