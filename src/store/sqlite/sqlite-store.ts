// The embedded Store: one SQLite file per crawler (WAL, synchronous=NORMAL). better-sqlite3 is
// synchronous, so every method does its work before its promise settles, and a batch applied
// in one transaction cannot interleave with another call.
import fs from 'node:fs';
import type Database from 'better-sqlite3';
import type {
	Completion,
	FailedRequest,
	FencedCommit,
	FinishCheck,
	FrontierCounts,
	Heartbeat,
	JoinedRun,
	JoinRunOptions,
	HostUpdate,
	LeaseHolder,
	NewRequest,
	ReleasedInflight,
	RunRecord,
	RunState,
	ShareClaim,
	ShareGrant,
	Store,
	StoredHost,
	StoredRequest,
	SessionChanges,
	StoredSession,
	WorkerRecord,
	WorkerStats,
} from '../store.js';
import {CRASHED_WORKER_MESSAGE, CRASHES_BEFORE_FAILING} from '../store.js';
import {CountCache, emptyDelta} from './count-cache.js';
import type {CountDelta} from './count-cache.js';
import {openDatabase} from './open-database.js';
import {toFailedRequest, toRunRecord, toStoredRequest, toStoredSession} from './rows.js';
import type {LeasedRow} from './rows.js';
import {prepareCompletions, prepareRequest, sessionRowValues, toJson} from './serialize.js';
import type {PreparedCompletion, RequestInsert} from './serialize.js';
import {itemPageSize, prepareStatements} from './statements.js';
import {checkpointWalBytes} from './wal-limits.js';
import {prepareLeaseStatements} from './lease-statements.js';
import type {LeaseStatements} from './lease-statements.js';
import {prepareSessionStatements} from './session-statements.js';
import type {SessionStatements} from './session-statements.js';
import type {Statements} from './statements.js';
import {SqliteWorkers} from './workers.js';
import {prepareShareStatements} from './share-statements.js';
import type {ShareStatements} from './share-statements.js';
import {prepareHostStatements} from './host-statements.js';
import {mergeHostUpdates} from '../host-updates.js';
import type {HostStatements} from './host-statements.js';

export type CheckpointMode = 'PASSIVE' | 'FULL' | 'RESTART' | 'TRUNCATE';

/** How long cached counts are trusted before a recount (see count-cache.ts). */
const countsMaxAgeMs = 60_000;

export class SqliteStore implements Store {
	readonly #db: Database.Database;
	readonly #sql: Statements;
	readonly #commit: (runId: number, completions: readonly PreparedCompletion[], delta: CountDelta) => void;
	readonly #addRequests: (runId: number, rows: readonly RequestInsert[]) => number;
	readonly #releaseInflight: (runId: number) => ReleasedInflight;
	readonly #lease: Database.Transaction<(runId: number, now: number, limit: number, holder: LeaseHolder | undefined, skipHosts: string) => LeasedRow[]>;
	readonly #commitAs: Database.Transaction<
		(runId: number, owner: string, completions: readonly PreparedCompletion[], delta: CountDelta) => FencedCommit
	>;
	readonly #leases: LeaseStatements;
	readonly #sessions: SessionStatements;
	readonly #shares: ShareStatements;
	readonly #hosts: HostStatements;
	/** undefined for ':memory:', which has no WAL. */
	readonly #walFile: string | undefined;
	readonly #counts = new CountCache(countsMaxAgeMs);
	readonly #workers: SqliteWorkers;
	/** One process a crawl: the runner keeps its run lock on SQLite. */
	readonly isShared = false;

	/** Opens (creating if needed, mode 0600) a store file; ':memory:' for a throwaway one. Throws ERR_STORAGE. */
	static open(file: string): SqliteStore {
		return new SqliteStore(openDatabase(file));
	}

	private constructor(db: Database.Database) {
		this.#db = db;
		this.#walFile = db.memory ? undefined : `${db.name}-wal`;
		const sql = prepareStatements(db);
		this.#sql = sql;
		this.#workers = new SqliteWorkers(db, sql, this.#counts);
		this.#addRequests = db.transaction((runId: number, rows: readonly RequestInsert[]): number => {
			let added = 0;
			for (const row of rows) added += sql.insertRequest.run(runId, ...row).changes;
			return added;
		});
		// A suspect (statements.ts) goes alone: it is leased without others, and nothing is leased
		// while it is in flight. After a resume nothing else runs yet, so it truly runs alone; one
		// that becomes due later (deferred by a host cooldown) may join requests already in flight,
		// which then count one crash at most, never two.
		// With a holder (leaseAs) the same rule holds, across every owner: a suspect in flight
		// under any worker stops them all. Run IMMEDIATE (lease below): a deferred transaction that
		// reads and then writes fails with SQLITE_BUSY, whatever the busy timeout, when another
		// handle on the same file wrote in between.
		const leases = prepareLeaseStatements(db);
		this.#leases = leases;
		this.#sessions = prepareSessionStatements(db);
		this.#shares = prepareShareStatements(db);
		this.#hosts = prepareHostStatements(db);
		this.#lease = db.transaction((runId: number, now: number, limit: number, holder: LeaseHolder | undefined, skipHosts: string): LeasedRow[] => {
			if (sql.suspectInflight.get(runId) !== undefined) return [];
			const owner = holder?.owner ?? null;
			const expiresAt = holder?.expiresAt ?? null;
			const suspect = leases.leaseSuspectAs.all(owner, expiresAt, runId, now, now);
			return suspect.length > 0 ? suspect : leases.leaseAs.all(owner, expiresAt, runId, now, now, skipHosts, limit);
		});
		this.#releaseInflight = db.transaction((runId: number): ReleasedInflight => {
			const crashed = sql.failCrashed.run(CRASHED_WORKER_MESSAGE, runId, CRASHES_BEFORE_FAILING).changes;
			return {released: sql.releaseInflight.run(runId).changes, crashed};
		});
		this.#commit = db.transaction((runId: number, completions: readonly PreparedCompletion[], delta: CountDelta): void => {
			for (const completion of completions) applyCompletion(sql, runId, completion, delta);
		});
		// Fence, then apply, inside one transaction: nothing can take the request in between.
		this.#commitAs = db.transaction((runId: number, owner: string, completions: readonly PreparedCompletion[], delta: CountDelta): FencedCommit => {
			const refused: number[] = [];
			let applied = 0;
			for (const completion of completions) {
				if (leases.holds.get(completion.requestId, runId, owner) === undefined) {
					refused.push(completion.requestId);
					continue;
				}
				applyCompletion(sql, runId, completion, delta);
				applied++;
			}
			return {applied, refused};
		});
	}

	async latestRun(): Promise<RunRecord | undefined> {
		const row = this.#sql.latestRun.get();
		return row === undefined ? undefined : toRunRecord(row);
	}

	async listRuns(limit: number): Promise<RunRecord[]> {
		return this.#sql.listRuns.all(limit).map(toRunRecord);
	}

	async createRun(now: number): Promise<RunRecord> {
		return toRunRecord(this.#sql.createRun.get(now)!);
	}

	async setRunState(runId: number, state: RunState, now: number, summary?: unknown): Promise<void> {
		const json = summary === undefined ? null : toJson(summary, `Summary of run ${runId}`);
		this.#sql.setRunState.run(state, state === 'running' ? null : now, json, runId);
	}

	async addRequests(runId: number, requests: readonly NewRequest[]): Promise<number> {
		if (requests.length === 0) return 0;
		const added = this.#addRequests(runId, requests.map(prepareRequest));
		this.#counts.move(runId, undefined, 'pending', added);
		this.#wrote();
		return added;
	}

	async lease(runId: number, limit: number, now: number, skipHosts: readonly string[] = []): Promise<StoredRequest[]> {
		return this.#leaseWith(runId, limit, now, undefined, skipHosts);
	}

	// Items are serialized before the transaction: an unstorable item rejects the whole call
	// with ERR_STORAGE and nothing is written. A throw inside the transaction rolls it all back.
	async commit(runId: number, completions: readonly Completion[]): Promise<void> {
		if (completions.length === 0) return;
		// The delta reaches the cache only once the transaction has committed.
		const delta = emptyDelta();
		this.#commit(runId, prepareCompletions(completions), delta);
		this.#counts.apply(runId, delta);
		this.#wrote();
	}

	async leaseAs(runId: number, limit: number, now: number, holder: LeaseHolder, skipHosts: readonly string[] = []): Promise<StoredRequest[]> {
		return this.#leaseWith(runId, limit, now, holder, skipHosts);
	}

	#leaseWith(runId: number, limit: number, now: number, holder: LeaseHolder | undefined, skipHosts: readonly string[]): StoredRequest[] {
		if (limit <= 0) return [];
		const rows = this.#lease.immediate(runId, now, limit, holder, JSON.stringify(skipHosts));
		if (rows.length === 0) return [];
		this.#counts.move(runId, 'pending', 'inflight', rows.length);
		this.#wrote();
		rows.sort((a, b) => a[11] - b[11] || a[0] - b[0]); // retryAt, then id
		return rows.map((row) => toStoredRequest(row, runId));
	}

	async renewLeases(runId: number, holder: LeaseHolder): Promise<number> {
		return this.#afterChanges(this.#leases.renew.run(holder.expiresAt, runId, holder.owner).changes);
	}

	async commitAs(runId: number, owner: string, completions: readonly Completion[]): Promise<FencedCommit> {
		if (completions.length === 0) return {applied: 0, refused: []};
		const delta = emptyDelta();
		const result = this.#commitAs.immediate(runId, owner, prepareCompletions(completions), delta);
		this.#counts.apply(runId, delta);
		this.#wrote();
		return result;
	}

	async reclaimExpired(runId: number, now: number): Promise<number> {
		const reclaimed = this.#leases.reclaim.run(runId, now).changes;
		this.#counts.move(runId, 'inflight', 'pending', reclaimed);
		return this.#afterChanges(reclaimed);
	}

	async releaseInflight(runId: number): Promise<ReleasedInflight> {
		const result = this.#releaseInflight(runId);
		this.#counts.move(runId, 'inflight', 'failed', result.crashed);
		this.#counts.move(runId, 'inflight', 'pending', result.released);
		this.#afterChanges(result.released + result.crashed);
		return result;
	}

	async joinRun(options: JoinRunOptions): Promise<JoinedRun> {
		return this.#afterWrite(this.#workers.joinRun(options));
	}

	async heartbeat(runId: number, workerId: string, now: number, expiresAt: number, stats: WorkerStats, held: readonly number[]): Promise<Heartbeat> {
		return this.#afterWrite(this.#workers.heartbeat(runId, workerId, now, expiresAt, stats, held));
	}

	async leaveRun(runId: number, workerId: string, now: number, stats: WorkerStats): Promise<WorkerRecord[]> {
		return this.#afterWrite(this.#workers.leaveRun(runId, workerId, now, stats));
	}

	async listWorkers(runId: number): Promise<WorkerRecord[]> {
		return this.#workers.listWorkers(runId);
	}

	async tryFinishRun(runId: number, now: number): Promise<FinishCheck> {
		return this.#afterWrite(this.#workers.tryFinishRun(runId, now));
	}

	async requeueFailed(runId: number): Promise<number> {
		const requeued = this.#sql.requeueFailed.run(runId).changes;
		this.#counts.move(runId, 'failed', 'pending', requeued);
		return this.#afterChanges(requeued);
	}

	async nextDueAt(runId: number, now?: number): Promise<number | undefined> {
		const anyDue = this.#sql.nextDueAt.get(runId);
		return now === undefined ? anyDue : this.#hosts.nextDueAt(runId, now, anyDue);
	}

	async counts(runId: number): Promise<FrontierCounts> {
		return this.#counts.get(runId, () => {
			const counts = emptyDelta();
			for (const {state, n} of this.#sql.counts.all(runId)) counts[state] = n;
			return counts;
		});
	}

	async itemCount(runId: number): Promise<number> {
		return this.#sql.itemCount.get(runId) ?? 0;
	}

	// Pages by id rather than one long iterate(): an open better-sqlite3 iterator keeps the
	// connection busy, and the consumer may well commit between two items.
	async *items(runId: number): AsyncGenerator<unknown, void, undefined> {
		let afterId = 0;
		for (;;) {
			const page = this.#sql.itemPage.all(runId, afterId, itemPageSize);
			for (const [id, data] of page) {
				afterId = id;
				yield JSON.parse(data) as unknown;
			}
			if (page.length < itemPageSize) return;
		}
	}

	async failedRequests(runId: number, limit: number): Promise<FailedRequest[]> {
		return this.#sql.failedRequests.all(runId, limit).map(toFailedRequest);
	}

	async loadSessions(): Promise<StoredSession[]> {
		return this.#sql.loadSessions.all().map(toStoredSession);
	}

	async saveSession(session: StoredSession): Promise<void> {
		this.#sessions.saveSession.run(...sessionRowValues(session));
		this.#wrote();
	}

	async saveSessionIf(session: StoredSession, expectedVersion: number): Promise<number | undefined> {
		const [id, ...rest] = sessionRowValues(session);
		const {changes} =
			expectedVersion === 0
				? this.#sessions.insertSessionIfAbsent.run(id, ...rest)
				: this.#sessions.updateSessionIfVersion.run(...rest, id, expectedVersion);
		return this.#afterChanges(changes) === 1 ? expectedVersion + 1 : undefined;
	}

	async sessionChanges(cursor: number): Promise<SessionChanges> {
		const rows = this.#sessions.sessionChanges.all(cursor);
		return {sessions: rows.map(toStoredSession), cursor: rows.at(-1)?.change_seq ?? cursor};
	}

	async lockSession(key: string, holder: LeaseHolder, now: number): Promise<boolean> {
		return this.#afterChanges(this.#sessions.lock.run(key, holder.owner, holder.expiresAt, now).changes) === 1;
	}

	async unlockSession(key: string, owner: string): Promise<void> {
		this.#afterChanges(this.#sessions.unlock.run(key, owner).changes);
	}

	async deleteSessions(id?: string): Promise<number> {
		const result = id === undefined ? this.#sql.deleteAllSessions.run() : this.#sql.deleteSession.run(id);
		return this.#afterChanges(result.changes);
	}

	async getMeta(key: string): Promise<string | undefined> {
		return this.#sql.getMeta.get(key);
	}

	async setMeta(key: string, value: string): Promise<void> {
		this.#sql.setMeta.run(key, value);
		this.#wrote();
	}

	async compareAndSetMeta(key: string, expected: string | undefined, value: string): Promise<boolean> {
		const result = expected === undefined ? this.#sql.insertMetaIfAbsent.run(key, value) : this.#sql.updateMetaIfEqual.run(value, key, expected);
		return this.#afterChanges(result.changes) === 1;
	}

	async claimShares(claims: readonly ShareClaim[], owner: string, now: number, expiresAt: number): Promise<ShareGrant[]> {
		if (claims.length === 0) return [];
		const grants = this.#shares.claim.immediate(claims, owner, now, expiresAt);
		this.#wrote();
		return grants;
	}

	async releaseShares(owner: string): Promise<number> {
		return this.#afterChanges(this.#shares.release.run(owner).changes);
	}

	async updateHosts(updates: readonly HostUpdate[]): Promise<void> {
		if (updates.length === 0) return;
		this.#hosts.update.immediate(mergeHostUpdates(updates));
		this.#wrote();
	}

	async hosts(): Promise<StoredHost[]> {
		return this.#hosts.all();
	}

	/**
	 * Copies the WAL back into the database file. PASSIVE never waits for readers or writers;
	 * TRUNCATE (on close) also empties the WAL file. A no-op for ':memory:'.
	 */
	checkpoint(mode: CheckpointMode = 'PASSIVE'): void {
		if (this.#walFile === undefined) return;
		this.#db.pragma(`wal_checkpoint(${mode})`);
	}

	async close(): Promise<void> {
		if (!this.#db.open) return;
		try {
			this.checkpoint('TRUNCATE');
		} finally {
			this.#db.close();
		}
	}

	#afterWrite<T>(result: T): T {
		this.#wrote();
		return result;
	}

	#afterChanges(changes: number): number {
		if (changes > 0) this.#wrote();
		return changes;
	}

	// Auto-checkpointing is off (see open-database.ts): after a write transaction, run a PASSIVE
	// checkpoint if the WAL has grown past checkpointWalBytes. Stat costs ~2 µs; a transaction
	// here covers ~10 pages. A checkpoint that cannot finish (a reader holds old frames) leaves
	// the WAL large, so the next write tries again and copies what it can.
	#wrote(): void {
		if (this.#walFile === undefined) return;
		const size = fs.statSync(this.#walFile, {throwIfNoEntry: false})?.size ?? 0;
		if (size < checkpointWalBytes) return;
		try {
			this.checkpoint('PASSIVE');
		} catch {
			// The write itself is committed and safe in the WAL; a failed checkpoint (disk full, …)
			// is retried after the next write and on close.
		}
	}
}

/** Applies one completion inside the commit transaction and records its effect on the counts. */
function applyCompletion(sql: Statements, runId: number, completion: PreparedCompletion, delta: CountDelta): void {
	let changed: number;
	switch (completion.kind) {
		case 'done': {
			const {requestId} = completion;
			if (sql.markDone.run(completion.status, requestId, runId).changes === 0) return;
			delta.inflight--;
			delta.done++;
			for (const item of completion.items) sql.insertItem.run(runId, requestId, item);
			for (const row of completion.enqueued) delta.pending += sql.insertRequest.run(runId, ...row).changes;
			return;
		}
		case 'retry': {
			const {retryAt, retryCount, reloginCount, rateLimitCount, error, requestId} = completion;
			changed = sql.markRetry.run(retryAt, retryCount, reloginCount, rateLimitCount, error ?? null, requestId, runId).changes;
			delta.pending += changed;
			break;
		}
		case 'failed': {
			const {retryCount, status, errorCode, error, requestId} = completion;
			changed = sql.markFailed.run(retryCount, status ?? null, errorCode, error, requestId, runId).changes;
			delta.failed += changed;
			break;
		}
		case 'release':
			changed = sql.release.run(completion.retryAt, completion.requestId, runId).changes;
			delta.pending += changed;
			break;
	}
	delta.inflight -= changed;
}
