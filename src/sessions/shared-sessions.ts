// Sessions shared by every worker of a crawl (issue 10 item 3; README "Many workers on one
// store"). The store holds one row per session with a version; this worker keeps, per session,
// the version its copy reflects and a snapshot of it (session-snapshot.ts). It
//   - saves with a compare-and-set on that version; on a conflict it loads the newer row and
//     re-applies its own changes on top, then tries again;
//   - polls the rows written since its cursor about once a second and swaps newer ones in
//     (in place: requests in flight keep their jar);
//   - makes a login or refresh single-flight across workers: the winner of the session's lock
//     (an expiry, renewed while it works) loads the newest row first and does nothing if that
//     already satisfies it; the others poll for the new row.
import {hostname} from 'node:os';
import {randomBytes} from 'node:crypto';
import {setTimeout as delay} from 'node:timers/promises';
import {describeError} from '../errors.js';
import type {Store, StoredSession} from '../store/store.js';
import {LoginDeferred} from './login/login-errors.js';
import {allCookies, authOf, changesSince, replaceCookies, snapshotOf, type SessionSnapshot} from './session-snapshot.js';
import {fromStoredSession, toStoredSession} from './session-persistence.js';
import type {Session} from './session.js';

export interface SharedSessionsOptions {
	readonly store: Store;
	readonly key: Buffer;
	/** This worker in the store's locks. @default `<host>:<pid>:<random>` */
	readonly owner?: string;
	readonly now: () => number;
	readonly log: {info(message: string): void; warn(message: string): void};
	/** A session this worker is logging in or refreshing: the poller leaves it to that flight. */
	readonly isBusy: (session: Session) => boolean;
	/** Called when a row from another worker disabled a session here. */
	readonly onDisabled: (session: Session) => void;
	readonly timing?: Partial<SharedSessionsTiming>;
}

export interface SharedSessionsTiming {
	/** Lifetime of a login lock; renewed every third of it while the login runs. */
	readonly lockMs: number;
	/** How often workers look for rows written by the others. */
	readonly pollMs: number;
	/** How often a worker waiting on another's login looks for its result. */
	readonly waitPollMs: number;
	/** A wait on another worker's login longer than this defers the request instead. */
	readonly maxWaitMs: number;
}

export const SHARED_SESSION_TIMING: SharedSessionsTiming = Object.freeze({lockMs: 30_000, pollMs: 1_000, waitPollMs: 250, maxWaitMs: 300_000});

/** Compare-and-set rounds before a save gives up (each conflict means another worker wrote). */
const MAX_SAVE_ROUNDS = 8;

export function defaultWorkerId(): string {
	return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

export class SharedSessions {
	readonly #options: SharedSessionsOptions;
	readonly #timing: SharedSessionsTiming;
	readonly owner: string;
	readonly #versions = new Map<string, number>();
	readonly #snapshots = new Map<string, SessionSnapshot>();
	/** Newer rows the poller found for busy sessions: their flight applies them. */
	readonly #parked = new Map<string, StoredSession>();
	readonly #sessions = new Map<string, Session>();
	#cursor = 0;
	#timer: NodeJS.Timeout | undefined;
	#polling: Promise<void> | undefined;
	#pollFailing = false;

	constructor(options: SharedSessionsOptions) {
		this.#options = options;
		this.#timing = {...SHARED_SESSION_TIMING, ...options.timing};
		this.owner = options.owner ?? defaultWorkerId();
	}

	/** Every stored row (for the pool to restore), and the cursor moved past them. */
	async load(): Promise<StoredSession[]> {
		const changes = await this.#options.store.sessionChanges(0);
		this.#cursor = changes.cursor;
		return changes.sessions;
	}

	/** The pool's sessions, as restored from `load()` (or new: version 0). Starts the poller. */
	track(sessions: readonly Session[], stored: readonly StoredSession[]): void {
		const versions = new Map(stored.map((row) => [row.id, row.version ?? 0]));
		for (const session of sessions) {
			this.#sessions.set(session.id, session);
			this.#versions.set(session.id, versions.get(session.id) ?? 0);
			this.#snapshots.set(session.id, snapshotOf(session));
		}
		this.#timer = setInterval(() => void this.poll(), this.#timing.pollMs);
		this.#timer.unref();
	}

	stop(): void {
		if (this.#timer) clearInterval(this.#timer);
		this.#timer = undefined;
	}

	versionOf(session: Session): number {
		return this.#versions.get(session.id) ?? 0;
	}

	/** Reads the rows written since the last poll and swaps in the newer ones (idle sessions only). */
	poll(): Promise<void> {
		this.#polling ??= this.#poll(undefined).finally(() => (this.#polling = undefined));
		return this.#polling;
	}

	/** Saves the session over the version it reflects; on a conflict, merges the newer row first. */
	async save(session: Session): Promise<void> {
		const {store, key, now} = this.#options;
		for (let round = 0; round < MAX_SAVE_ROUNDS; round++) {
			// Snapshot and serialization together, before the await: a change arriving meanwhile is
			// not in this write, so it must not be in the snapshot either.
			const snapshot = snapshotOf(session);
			const version = this.versionOf(session);
			const written = await store.saveSessionIf(toStoredSession(session, key, now()), version);
			if (written !== undefined) {
				if (this.versionOf(session) === version) {
					this.#versions.set(session.id, written);
					this.#snapshots.set(session.id, snapshot);
				}
				return;
			}
			await this.#poll(session);
		}
		this.#options.log.warn(`session ${session.id}: not saved, other workers kept writing it (${MAX_SAVE_ROUNDS} conflicts)`);
	}

	/**
	 * Runs `work` (a login or refresh) under the session's lock, across workers. Before it, and
	 * while waiting for another worker's, the newest row is loaded; once `isSatisfied()` holds
	 * (someone else logged in, refreshed, or disabled the session) it returns 'loaded' without work.
	 */
	async singleFlight(session: Session, isSatisfied: () => boolean, work: () => Promise<void>): Promise<'ran' | 'loaded'> {
		const lockKey = `session ${session.id}`;
		const deadline = this.#options.now() + this.#timing.maxWaitMs;
		for (;;) {
			const ran = await this.withLock(lockKey, async () => {
				await this.#poll(session);
				if (isSatisfied()) return false;
				await work();
				return true;
			});
			if (ran !== undefined) return ran ? 'ran' : 'loaded';
			await delay(this.#timing.waitPollMs);
			await this.#poll(session);
			if (isSatisfied()) return 'loaded';
			if (this.#options.now() > deadline) {
				throw new LoginDeferred(`session ${session.id}: another worker's login took over ${Math.round(this.#timing.maxWaitMs / 1000)}s`, this.#options.now());
			}
		}
	}

	/** Runs `work` holding the store lock `key` (renewed while it runs); undefined if another holds it. */
	async withLock<T>(key: string, work: () => Promise<T>): Promise<T | undefined> {
		const {store, now} = this.#options;
		const holder = () => ({owner: this.owner, expiresAt: now() + this.#timing.lockMs});
		if (!(await store.lockSession(key, holder(), now()))) return undefined;
		const renewal = setInterval(() => {
			store.lockSession(key, holder(), now()).catch(() => {});
		}, this.#timing.lockMs / 3);
		try {
			return await work();
		} finally {
			clearInterval(renewal);
			await store.unlockSession(key, this.owner).catch((error: unknown) => {
				this.#options.log.warn(`could not release lock ${key}: ${describeError(error).message} (it expires by itself)`);
			});
		}
	}

	/** Waits (polling) until this worker holds `key`, then runs `work` under it. */
	async whenLocked<T>(key: string, work: () => Promise<T>): Promise<T> {
		for (;;) {
			const result = await this.withLock(key, async () => ({value: await work()}));
			if (result) return result.value;
			await delay(this.#timing.waitPollMs);
		}
	}

	/** `focus`: the session a flight or a save is about; its newer row is applied even though it is busy. */
	async #poll(focus: Session | undefined): Promise<void> {
		let changes;
		try {
			changes = await this.#options.store.sessionChanges(this.#cursor);
			this.#pollFailing = false;
		} catch (error) {
			if (!this.#pollFailing) this.#options.log.warn(`could not read session changes: ${describeError(error).message}`);
			this.#pollFailing = true;
			if (focus) throw error;
			return;
		}
		this.#cursor = Math.max(this.#cursor, changes.cursor);
		for (const row of changes.sessions) this.#parked.set(row.id, row);
		for (const [id, row] of this.#parked) {
			const session = this.#sessions.get(id);
			if (!session) {
				this.#parked.delete(id);
				continue;
			}
			if (session !== focus && this.#options.isBusy(session)) continue;
			this.#parked.delete(id);
			if ((row.version ?? 0) > this.versionOf(session)) this.#apply(session, row);
		}
	}

	/** Swaps a newer row into the live session, with this worker's unsynced changes on top. */
	#apply(session: Session, row: StoredSession): void {
		const {key, now, log} = this.#options;
		let restored: Session;
		try {
			restored = fromStoredSession(row, session.account, key, now());
		} catch (error) {
			log.warn(`session ${session.id}: a newer version from another worker cannot be read (${describeError(error).message}); kept this one`);
			return;
		}
		const changes = changesSince(this.#snapshots.get(session.id), session);
		const authBefore = authOf(session);
		replaceCookies(session, allCookies(restored), changes);
		if (!changes.auth) {
			session.tokens = restored.tokens;
			for (const name of Object.keys(session.headers)) delete session.headers[name];
			Object.assign(session.headers, restored.headers);
			session.authCookieNames = restored.authCookieNames;
		}
		this.#versions.set(session.id, row.version ?? 0);
		this.#snapshots.set(session.id, snapshotOf(restored));
		const meta = row.meta as {disabledReason?: string; disabledCode?: string};
		if (row.state === 'disabled' && session.state !== 'disabled') {
			session.disable(meta.disabledCode ?? 'LOGIN_FAILED', meta.disabledReason ?? 'disabled by another worker');
			log.warn(`session ${session.id} disabled by another worker: ${session.disabledReason ?? ''}`);
			this.#options.onDisabled(session);
			return;
		}
		if (session.state === 'disabled' || changes.state) return;
		// A login or refresh elsewhere: requests that saw a logout before it are stale now.
		if (authOf(session) !== authBefore) session.generation++;
		if (restored.state === 'ready') session.state = 'ready';
		else if (session.state === 'ready' && !changes.auth) session.state = 'new';
	}
}
