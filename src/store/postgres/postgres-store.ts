// The networked Store: one crawler's tables in its own PostgreSQL schema, reached through a
// pg.Pool. Same semantics as the SQLite store (the contract suite runs on both), and safe with
// several handles on one database: leases skip rows another handle is taking, inserts dedupe
// on the unique index, and a completion applies only to a request still in flight.
import type pg from 'pg';
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
import {prepareCompletions, prepareRequest, sessionRowValues, toJson} from '../sqlite/serialize.js';
import {toFailedRequest, toRunRecord, toStoredSession} from '../sqlite/rows.js';
import type {FailedRow, RunRow, SessionRow} from '../sqlite/rows.js';
import {commitBatchParams, fencedResult} from './commit-batch.js';
import {connectForMigration, createPool, defaultReconnectBudgetMs, poolConfig, reconnecting, retrying, storageError} from './connection.js';
import {named} from './prepared.js';
import {migrate, schemaOf} from './schema.js';
import {buildStatements, itemPageSize, requestColumns} from './statements.js';
import type {Sql} from './statements.js';
import {buildSessionStatements, type SessionSql} from './session-statements.js';
import {toLeasedRequest, type LeasedPgRow} from './rows.js';
import {buildWorkerStatements, type WorkerSql} from './worker-statements.js';
import * as workers from './workers.js';
import {normalizeClaims} from '../share-claims.js';
import {mergeHostUpdates} from '../host-updates.js';
import {toStoredHost, type HostRow} from '../sqlite/host-statements.js';

export interface PostgresStoreOptions {
	/** postgres:// URL; pool size as `?max=N` (default 10), sslmode and the rest as pg reads them. */
	readonly url: string;
	/** The crawler whose schema (`crawljar_<crawler>`) holds the tables. */
	readonly crawler?: string;
	/** The schema itself, instead of the one derived from `crawler` (tests use throwaway ones). */
	readonly schema?: string;
	/**
	 * How long a call keeps trying while the server cannot be reached (restart, dropped connection),
	 * with jittered backoff, before it fails with ERR_STORAGE. @default 60_000
	 */
	readonly reconnectBudgetMs?: number;
}

export class PostgresStore implements Store {
	readonly #url: string;
	readonly #schema: string;
	readonly #sql: Sql;
	readonly #workerSql: WorkerSql;
	readonly #reconnectBudgetMs: number;
	/** Several processes, on several machines, may run one crawl: the worker registry arbitrates. */
	readonly isShared = true;
	readonly #sessionSql: SessionSql;
	/** The pool (pg is loaded on first use), created on open; close ends it. */
	readonly #pool: Promise<pg.Pool>;
	/** The pool once the schema is created and migrated; every call waits for it. */
	readonly #ready: Promise<pg.Pool>;
	#closed = false;

	/**
	 * Opens a crawler's store; its schema is created or migrated in the background, and the first
	 * call fails with ERR_STORAGE if that failed (await `ready()` to find out at once).
	 */
	static open(options: PostgresStoreOptions): PostgresStore {
		return new PostgresStore(options);
	}

	private constructor(options: PostgresStoreOptions) {
		const schema = options.schema ?? schemaOf(options.crawler ?? '');
		this.#url = options.url;
		this.#schema = schema;
		this.#sql = buildStatements(schema);
		this.#workerSql = buildWorkerStatements(schema);
		this.#reconnectBudgetMs = options.reconnectBudgetMs ?? defaultReconnectBudgetMs;
		this.#sessionSql = buildSessionStatements(schema);
		poolConfig(options.url); // a bad URL throws here, naming the field
		this.#pool = createPool(options.url);
		this.#pool.catch(() => {});
		this.#ready = this.#pool
			.then(async (pool) => {
				const client = await connectForMigration(options.url);
				try {
					await migrate(client, schema);
				} finally {
					await client.end().catch(() => {});
				}
				return pool;
			})
			.catch((error: unknown) => {
				throw storageError(error, this.#url, `opening schema ${schema}`);
			});
		// Awaited by every call; this only keeps an unused store from an unhandled rejection.
		this.#ready.catch(() => {});
	}

	/** Resolves once the schema is ready; rejects with ERR_STORAGE if the server cannot be used. */
	async ready(): Promise<void> {
		await this.#ready;
	}

	async latestRun(): Promise<RunRecord | undefined> {
		const rows = await this.#rows<RunRow>('reading runs', this.#sql.latestRun);
		return rows[0] === undefined ? undefined : toRunRecord(rows[0]);
	}

	async listRuns(limit: number): Promise<RunRecord[]> {
		return (await this.#rows<RunRow>('reading runs', this.#sql.listRuns, [limit])).map(toRunRecord);
	}

	async createRun(now: number): Promise<RunRecord> {
		const [row] = await this.#rows<RunRow>('creating a run', this.#sql.createRun, [now]);
		return toRunRecord(row!);
	}

	async setRunState(runId: number, state: RunState, now: number, summary?: unknown): Promise<void> {
		const json = summary === undefined ? null : toJson(summary, `Summary of run ${runId}`);
		await this.#rows('updating a run', this.#sql.setRunState, [state, state === 'running' ? null : now, json, runId]);
	}

	async addRequests(runId: number, requests: readonly NewRequest[]): Promise<number> {
		if (requests.length === 0) return 0;
		const columns = requestColumns(requests.map(prepareRequest));
		return this.#guard('adding requests', async () => {
			const pool = await this.#ready;
			// Two workers inserting overlapping links in other orders can deadlock: PostgreSQL aborts
			// one statement, which is then simply run again (ON CONFLICT makes that safe).
			return retrying(async () => (await pool.query(this.#sql.addRequests, [runId, ...columns])).rowCount ?? 0);
		});
	}

	async lease(runId: number, limit: number, now: number, skipHosts: readonly string[] = []): Promise<StoredRequest[]> {
		return this.#lease(runId, limit, now, undefined, skipHosts);
	}

	async leaseAs(runId: number, limit: number, now: number, holder: LeaseHolder, skipHosts: readonly string[] = []): Promise<StoredRequest[]> {
		return this.#lease(runId, limit, now, holder, skipHosts);
	}

	async #lease(runId: number, limit: number, now: number, holder: LeaseHolder | undefined, skipHosts: readonly string[]): Promise<StoredRequest[]> {
		if (limit <= 0) return [];
		const params = [runId, now, limit, holder?.owner ?? null, holder?.expiresAt ?? null, skipHosts];
		const rows = await this.#guard('leasing requests', async () => {
			const pool = await this.#ready;
			const fast = await pool.query<LeasedPgRow>(named(this.#sql.leaseWithoutSuspects, params));
			if (fast.rows.length > 0) return fast.rows;
			const client = await pool.connect();
			try {
				await client.query('BEGIN');
				await client.query(this.#sql.leaseLock, [`crawljar lease ${this.#schema} ${runId}`]);
				const result = await client.query<LeasedPgRow>(named(this.#sql.lease, params));
				await client.query('COMMIT');
				client.release();
				return result.rows;
			} catch (error) {
				await client.query('ROLLBACK').catch(() => {});
				// Not reused: after a statement timeout its connection may still owe an answer.
				client.release(error instanceof Error ? error : new Error(String(error)));
				throw error;
			}
		});
		rows.sort((a, b) => a.retry_at - b.retry_at || a.id - b.id);
		return rows.map((row) => toLeasedRequest(row, runId));
	}

	// Items are serialized before the transaction: an unstorable item rejects the whole call
	// with ERR_STORAGE and nothing is written. A failure of the statement writes nothing of the batch.
	async commit(runId: number, completions: readonly Completion[]): Promise<void> {
		await this.#commit(runId, completions, null);
	}

	async commitAs(runId: number, owner: string, completions: readonly Completion[]): Promise<FencedCommit> {
		const appliedIds = await this.#commit(runId, completions, owner);
		return fencedResult(completions, appliedIds);
	}

	async #commit(runId: number, completions: readonly Completion[], owner: string | null): Promise<Set<number>> {
		if (completions.length === 0) return new Set();
		const prepared = prepareCompletions(completions);
		const params = commitBatchParams(runId, prepared, owner);
		return this.#guard('committing completions', async () => {
			const pool = await this.#ready;
			// One statement, atomic by itself; run again if it deadlocked with another worker's insert.
			const {rows} = await retrying(() => pool.query<{id: number}>(named(this.#sql.commitBatch, params)));
			return new Set(rows.map((row) => row.id));
		});
	}

	async renewLeases(runId: number, holder: LeaseHolder): Promise<number> {
		return this.#changes('renewing leases', this.#sql.renewLeases, [runId, holder.owner, holder.expiresAt]);
	}

	async reclaimExpired(runId: number, now: number): Promise<number> {
		return this.#changes('reclaiming expired leases', this.#sql.reclaimExpired, [runId, now]);
	}

	async releaseInflight(runId: number): Promise<ReleasedInflight> {
		const params = [runId, CRASHES_BEFORE_FAILING, CRASHED_WORKER_MESSAGE];
		const rows = await this.#rows<{state: string}>('releasing in-flight requests', this.#sql.releaseInflight, params);
		const crashed = rows.filter((row) => row.state === 'failed').length;
		return {released: rows.length - crashed, crashed};
	}

	async joinRun(options: JoinRunOptions): Promise<JoinedRun> {
		return this.#guard('joining a run', async () => workers.joinRun(await this.#ready, this.#sql, this.#workerSql, this.#schema, options));
	}

	async heartbeat(runId: number, workerId: string, now: number, expiresAt: number, stats: WorkerStats, held: readonly number[]): Promise<Heartbeat> {
		return this.#guard('sending a heartbeat', async () => workers.heartbeat(await this.#ready, this.#workerSql, runId, workerId, now, expiresAt, stats, held));
	}

	async leaveRun(runId: number, workerId: string, now: number, stats: WorkerStats): Promise<WorkerRecord[]> {
		return this.#guard('leaving a run', async () => workers.leaveRun(await this.#ready, this.#workerSql, this.#schema, runId, workerId, now, stats));
	}

	async listWorkers(runId: number): Promise<WorkerRecord[]> {
		return this.#guard('listing workers', async () => workers.listWorkers(await this.#ready, this.#workerSql, runId));
	}

	async tryFinishRun(runId: number, now: number): Promise<FinishCheck> {
		return this.#guard('checking whether the run is finished', async () => workers.tryFinishRun(await this.#ready, this.#workerSql, runId, now));
	}

	async requeueFailed(runId: number): Promise<number> {
		return this.#changes('requeueing failed requests', this.#sql.requeueFailed, [runId]);
	}

	async nextDueAt(runId: number, now?: number): Promise<number | undefined> {
		if (now === undefined) {
			const [row] = await this.#rows<{retry_at: number}>('reading the frontier', this.#sql.nextDueAt, [runId]);
			return row?.retry_at;
		}
		const [row] = await this.#rows<{any_due: number | null; due: number | null}>('reading the frontier', this.#sql.nextDueAtCooling, [runId, now]);
		return row?.any_due === null || row === undefined ? undefined : (row.due ?? row.any_due);
	}

	async counts(runId: number): Promise<FrontierCounts> {
		const counts = {pending: 0, inflight: 0, done: 0, failed: 0};
		const rows = await this.#rows<{state: keyof FrontierCounts; n: number}>('counting requests', this.#sql.counts, [runId]);
		for (const {state, n} of rows) counts[state] = n;
		return counts;
	}

	async itemCount(runId: number): Promise<number> {
		const [row] = await this.#rows<{n: number}>('counting items', this.#sql.itemCount, [runId]);
		return row?.n ?? 0;
	}

	// Keyset pages by id: bounded memory, and no connection is held while the consumer works
	// between two items (it may well commit).
	async *items(runId: number): AsyncGenerator<unknown, void, undefined> {
		let afterId = 0;
		for (;;) {
			const page = await this.#rows<{id: number; data: string}>('reading items', this.#sql.itemPage, [runId, afterId, itemPageSize]);
			for (const {id, data} of page) {
				afterId = id;
				yield JSON.parse(data) as unknown;
			}
			if (page.length < itemPageSize) return;
		}
	}

	async failedRequests(runId: number, limit: number): Promise<FailedRequest[]> {
		return (await this.#rows<FailedRow>('reading failed requests', this.#sql.failedRequests, [runId, limit])).map(toFailedRequest);
	}

	async loadSessions(): Promise<StoredSession[]> {
		return (await this.#rows<SessionRow>('reading sessions', this.#sql.loadSessions)).map(toStoredSession);
	}

	async saveSession(session: StoredSession): Promise<void> {
		await this.#changes('saving a session', this.#sessionSql.saveSession, sessionRowValues(session));
	}

	async saveSessionIf(session: StoredSession, expectedVersion: number): Promise<number | undefined> {
		const changed =
			expectedVersion === 0
				? await this.#changes('saving a session', this.#sessionSql.insertSessionIfAbsent, sessionRowValues(session))
				: await this.#changes('saving a session', this.#sessionSql.updateSessionIfVersion, [...sessionRowValues(session), expectedVersion]);
		return changed === 1 ? expectedVersion + 1 : undefined;
	}

	async sessionChanges(cursor: number): Promise<SessionChanges> {
		const rows = await this.#rows<SessionRow>('reading session changes', this.#sessionSql.sessionChanges, [cursor]);
		return {sessions: rows.map(toStoredSession), cursor: rows.at(-1)?.change_seq ?? cursor};
	}

	async lockSession(key: string, holder: LeaseHolder, now: number): Promise<boolean> {
		return (await this.#changes('locking a session', this.#sessionSql.lock, [key, holder.owner, holder.expiresAt, now])) === 1;
	}

	async unlockSession(key: string, owner: string): Promise<void> {
		await this.#changes('unlocking a session', this.#sessionSql.unlock, [key, owner]);
	}

	async deleteSessions(id?: string): Promise<number> {
		return id === undefined
			? this.#changes('deleting sessions', this.#sql.deleteAllSessions)
			: this.#changes('deleting a session', this.#sql.deleteSession, [id]);
	}

	async getMeta(key: string): Promise<string | undefined> {
		const [row] = await this.#rows<{value: string}>('reading meta', this.#sql.getMeta, [key]);
		return row?.value;
	}

	async setMeta(key: string, value: string): Promise<void> {
		await this.#rows('writing meta', this.#sql.setMeta, [key, value]);
	}

	async compareAndSetMeta(key: string, expected: string | undefined, value: string): Promise<boolean> {
		const changed =
			expected === undefined
				? await this.#changes('claiming meta', this.#sql.insertMetaIfAbsent, [key, value])
				: await this.#changes('claiming meta', this.#sql.updateMetaIfEqual, [value, key, expected]);
		return changed === 1;
	}

	// One statement (the claim function), its own transaction: the advisory locks it takes on the
	// keys are held until it commits.
	async claimShares(claims: readonly ShareClaim[], owner: string, now: number, expiresAt: number): Promise<ShareGrant[]> {
		if (claims.length === 0) return [];
		const sorted = normalizeClaims(claims);
		const params = [
			`crawljar share ${this.#schema}`,
			sorted.map((claim) => claim.key),
			sorted.map((claim) => claim.wanted),
			sorted.map((claim) => claim.limit),
			owner,
			now,
			expiresAt,
		];
		const rows = await this.#guard('claiming shares', async () => {
			const pool = await this.#ready;
			return (await retrying(() => pool.query<ShareGrant>(this.#sql.claimShares, params))).rows;
		});
		const byKey = new Map(rows.map((row) => [row.key, row]));
		return claims.map((claim) => byKey.get(claim.key)!);
	}

	async releaseShares(owner: string): Promise<number> {
		return this.#changes('releasing shares', this.#sql.releaseShares, [owner]);
	}

	async updateHosts(updates: readonly HostUpdate[]): Promise<void> {
		if (updates.length === 0) return;
		const merged = mergeHostUpdates(updates);
		const params = [
			merged.map((update) => update.host),
			merged.map((update) => update.cooldownUntil ?? 0),
			merged.map((update) => update.rate?.rate ?? null),
			merged.map((update) => update.rate?.ceiling ?? null),
			merged.map((update) => update.rate?.setAt ?? -1),
		];
		await this.#guard('writing host state', async () => {
			const pool = await this.#ready;
			await retrying(() => pool.query(this.#sql.updateHosts, params));
		});
	}

	async hosts(): Promise<StoredHost[]> {
		return (await this.#rows<HostRow>('reading host state', this.#sql.hosts)).map(toStoredHost);
	}

	async close(): Promise<void> {
		if (this.#closed) return;
		this.#closed = true;
		const pool = await this.#pool.catch(() => undefined);
		await pool?.end();
	}

	async #rows<Row extends pg.QueryResultRow = pg.QueryResultRow>(doing: string, text: string, values: unknown[] = []): Promise<Row[]> {
		return this.#guard(doing, async () => {
			const pool = await this.#ready;
			return (await pool.query<Row>(text, values)).rows;
		});
	}

	async #changes(doing: string, text: string, values: unknown[] = []): Promise<number> {
		return this.#guard(doing, async () => {
			const pool = await this.#ready;
			return (await pool.query(text, values)).rowCount ?? 0;
		});
	}

	// Every call goes through here: a lost connection is tried again (bounded), then any failure
	// becomes ERR_STORAGE naming the redacted URL.
	async #guard<T>(doing: string, work: () => Promise<T>): Promise<T> {
		try {
			return await reconnecting(work, this.#reconnectBudgetMs);
		} catch (error) {
			throw storageError(error, this.#url, doing);
		}
	}
}
