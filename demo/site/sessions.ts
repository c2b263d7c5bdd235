// Server-side state of the form login: pre-session visitors with their CSRF token, and sessions.
import {randomBytes} from 'node:crypto';

export interface SiteSession {
	readonly id: string;
	readonly user: string;
	/** The pre-session cookie of the client that logged in: it links a client's successive sessions. */
	readonly visitor: string | undefined;
	readonly createdAt: number;
	requests: number;
	state: 'active' | 'expired' | 'logged-out' | 'replaced';
	/** Set when the same client logged in again; later requests with this id are stale. */
	replacedAt: number | undefined;
}

export type SessionCheck =
	| {readonly kind: 'missing'}
	| {readonly kind: 'unknown'}
	| {readonly kind: 'invalid'; readonly session: SiteSession; readonly isStale: boolean; readonly hasJustExpired: boolean}
	| {readonly kind: 'valid'; readonly session: SiteSession};

export interface SessionLimits {
	readonly maxRequests: number;
	readonly ttlMs: number;
}

export function newId(bytes = 16): string {
	return randomBytes(bytes).toString('base64url');
}

export class SessionStore {
	readonly #limits: SessionLimits;
	readonly #sessions = new Map<string, SiteSession>();
	/** Visitor id -> the CSRF token of the last login form rendered for it. */
	readonly #csrfByVisitor = new Map<string, string>();

	constructor(limits: SessionLimits) {
		this.#limits = limits;
	}

	hasVisitor(visitor: string | undefined): visitor is string {
		return visitor !== undefined && this.#csrfByVisitor.has(visitor);
	}

	newVisitor(): string {
		const visitor = newId();
		this.#csrfByVisitor.set(visitor, '');
		return visitor;
	}

	/** Each rendered form gets a fresh token, which makes any earlier one stale. */
	issueCsrf(visitor: string): string {
		const token = newId();
		this.#csrfByVisitor.set(visitor, token);
		return token;
	}

	/** One use per token: a match consumes it. */
	consumeCsrf(visitor: string | undefined, token: string | null): boolean {
		if (visitor === undefined || !token) return false;
		if (this.#csrfByVisitor.get(visitor) !== token) return false;
		this.#csrfByVisitor.set(visitor, '');
		return true;
	}

	/** A new login replaces the earlier sessions of the same client (by visitor or by old session cookie). */
	create(user: string, visitor: string | undefined, previousSid: string | undefined): SiteSession {
		const now = Date.now();
		for (const session of this.#sessions.values()) {
			const isSameClient = (visitor !== undefined && session.visitor === visitor) || session.id === previousSid;
			if (isSameClient && session.replacedAt === undefined) {
				session.replacedAt = now;
				if (session.state === 'active') session.state = 'replaced';
			}
		}
		const session: SiteSession = {id: newId(), user, visitor, createdAt: now, requests: 0, state: 'active', replacedAt: undefined};
		this.#sessions.set(session.id, session);
		return session;
	}

	/** Checks a session cookie and, when valid, counts one authenticated request against its limits. */
	use(sid: string | undefined): SessionCheck {
		if (!sid) return {kind: 'missing'};
		const session = this.#sessions.get(sid);
		if (!session) return {kind: 'unknown'};
		let hasJustExpired = false;
		if (session.state === 'active' && this.#isOverLimit(session)) {
			session.state = 'expired';
			hasJustExpired = true;
		}
		if (session.state !== 'active') {
			return {kind: 'invalid', session, isStale: session.replacedAt !== undefined, hasJustExpired};
		}
		session.requests++;
		return {kind: 'valid', session};
	}

	logout(sid: string | undefined): void {
		const session = sid === undefined ? undefined : this.#sessions.get(sid);
		if (session?.state === 'active') session.state = 'logged-out';
	}

	/** Expire every active session now (tests of re-login use it instead of waiting). */
	expireAll(): number {
		let count = 0;
		for (const session of this.#sessions.values()) {
			if (session.state === 'active') {
				session.state = 'expired';
				count++;
			}
		}
		return count;
	}

	get activeCount(): number {
		let count = 0;
		for (const session of this.#sessions.values()) if (session.state === 'active') count++;
		return count;
	}

	#isOverLimit(session: SiteSession): boolean {
		return session.requests >= this.#limits.maxRequests || Date.now() - session.createdAt >= this.#limits.ttlMs;
	}
}
