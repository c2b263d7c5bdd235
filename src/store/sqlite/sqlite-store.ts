// The embedded Store: one SQLite file per crawler (WAL, synchronous=NORMAL). better-sqlite3 is
// synchronous, so every method does its work before its promise settles, and a batch applied
// in one transaction cannot interleave with another call.
import type Database from 'better-sqlite3';
import type {
	Completion,
	FailedRequest,
	FrontierCounts,
	NewRequest,
	RunRecord,
	RunState,
	Store,
	StoredRequest,
	StoredSession,
} from '../store.js';
import {openDatabase} from './open-database.js';
import {toFailedRequest, toRunRecord, toStoredRequest, toStoredSession} from './rows.js';
import {prepareCompletions, prepareRequest, toJson} from './serialize.js';
import type {PreparedCompletion, RequestInsert} from './serialize.js';
import {itemPageSize, prepareStatements} from './statements.js';
import type {Statements} from './statements.js';

export type CheckpointMode = 'PASSIVE' | 'FULL' | 'RESTART' | 'TRUNCATE';

/** Write transactions between deliberate checkpoints: at ~10 pages a commit, a WAL of a few MB. */
const checkpointEveryWrites = 1000;
/** A slow crawl still checkpoints this often, so the WAL never grows without bound. */
const checkpointEveryMs = 30_000;

export class SqliteStore implements Store {
	readonly #db: Database.Database;
	readonly #sql: Statements;
	readonly #commit: (runId: number, completions: readonly PreparedCompletion[]) => void;
	readonly #addRequests: (runId: number, rows: readonly RequestInsert[]) => number;
	#writesSinceCheckpoint = 0;
	#lastCheckpointAt = Date.now();

	/** Opens (creating if needed, mode 0600) a store file; ':memory:' for a throwaway one. Throws ERR_STORAGE. */
	static open(file: string): SqliteStore {
		return new SqliteStore(openDatabase(file));
	}

	private constructor(db: Database.Database) {
		this.#db = db;
		const sql = prepareStatements(db);
		this.#sql = sql;
		this.#addRequests = db.transaction((runId: number, rows: readonly RequestInsert[]): number => {
			let added = 0;
			for (const row of rows) added += sql.insertRequest.run(runId, ...row).changes;
			return added;
		});
		this.#commit = db.transaction((runId: number, completions: readonly PreparedCompletion[]): void => {
			for (const completion of completions) applyCompletion(sql, runId, completion);
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
		this.#wrote();
		return added;
	}

	async lease(runId: number, limit: number, now: number): Promise<StoredRequest[]> {
		if (limit <= 0) return [];
		const rows = this.#sql.lease.all(runId, now, limit);
		if (rows.length === 0) return [];
		this.#wrote();
		rows.sort((a, b) => a.retry_at - b.retry_at || a.id - b.id);
		return rows.map(toStoredRequest);
	}

	// Items are serialized before the transaction: an unstorable item rejects the whole call
	// with ERR_STORAGE and nothing is written. A throw inside the transaction rolls it all back.
	async commit(runId: number, completions: readonly Completion[]): Promise<void> {
		if (completions.length === 0) return;
		this.#commit(runId, prepareCompletions(completions));
		this.#wrote();
	}

	async releaseInflight(runId: number): Promise<number> {
		return this.#write(this.#sql.releaseInflight.run(runId).changes);
	}

	async requeueFailed(runId: number): Promise<number> {
		return this.#write(this.#sql.requeueFailed.run(runId).changes);
	}

	async nextDueAt(runId: number): Promise<number | undefined> {
		return this.#sql.nextDueAt.get(runId);
	}

	async counts(runId: number): Promise<FrontierCounts> {
		const counts = {pending: 0, inflight: 0, done: 0, failed: 0};
		for (const {state, n} of this.#sql.counts.all(runId)) counts[state] = n;
		return counts;
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
		const meta = toJson(session.meta, `Metadata of session ${session.id}`);
		this.#sql.saveSession.run(session.id, session.account, session.state, meta, session.secret, session.updatedAt);
		this.#wrote();
	}

	async deleteSessions(id?: string): Promise<number> {
		const result = id === undefined ? this.#sql.deleteAllSessions.run() : this.#sql.deleteSession.run(id);
		return this.#write(result.changes);
	}

	async getMeta(key: string): Promise<string | undefined> {
		return this.#sql.getMeta.get(key);
	}

	async setMeta(key: string, value: string): Promise<void> {
		this.#sql.setMeta.run(key, value);
		this.#wrote();
	}

	/**
	 * Copies the WAL back into the database file. PASSIVE never waits for readers or writers;
	 * TRUNCATE (on close) also empties the WAL file. A no-op for ':memory:'.
	 */
	checkpoint(mode: CheckpointMode = 'PASSIVE'): void {
		this.#writesSinceCheckpoint = 0;
		this.#lastCheckpointAt = Date.now();
		if (this.#db.memory) return;
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

	#write(changes: number): number {
		if (changes > 0) this.#wrote();
		return changes;
	}

	// Auto-checkpointing is off (see open-database.ts): run a PASSIVE one every so many writes
	// or seconds, between transactions, where its cost is amortized and predictable.
	#wrote(): void {
		this.#writesSinceCheckpoint++;
		if (
			this.#writesSinceCheckpoint < checkpointEveryWrites &&
			Date.now() - this.#lastCheckpointAt < checkpointEveryMs
		) {
			return;
		}
		try {
			this.checkpoint('PASSIVE');
		} catch {
			// The write itself is committed; a checkpoint that failed (e.g. disk full) is retried on
			// a later write and again on close, and the WAL keeps the data safe meanwhile.
		}
	}
}

function applyCompletion(sql: Statements, runId: number, completion: PreparedCompletion): void {
	switch (completion.kind) {
		case 'done': {
			const {requestId} = completion;
			if (sql.markDone.run(completion.status, requestId, runId).changes === 0) return;
			for (const item of completion.items) sql.insertItem.run(runId, requestId, item);
			for (const row of completion.enqueued) sql.insertRequest.run(runId, ...row);
			return;
		}
		case 'retry': {
			const {retryAt, retryCount, reloginCount, rateLimitCount, error, requestId} = completion;
			sql.markRetry.run(retryAt, retryCount, reloginCount, rateLimitCount, error ?? null, requestId, runId);
			return;
		}
		case 'failed': {
			const {retryCount, status, errorCode, error, requestId} = completion;
			sql.markFailed.run(retryCount, status ?? null, errorCode, error, requestId, runId);
			return;
		}
		case 'release':
			sql.release.run(completion.retryAt, completion.requestId, runId);
			return;
	}
}
