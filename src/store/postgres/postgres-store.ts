// The networked Store: one crawler's tables in its own PostgreSQL schema, reached through a
// pg.Pool. Same semantics as the SQLite store (the contract suite runs on both), and safe with
// several handles on one database: leases skip rows another handle is taking, inserts dedupe
// on the unique index, and a completion applies only to a request still in flight.
import type pg from 'pg';
import type {
	Completion,
	FailedRequest,
	FencedCommit,
	FrontierCounts,
	LeaseHolder,
	NewRequest,
	ReleasedInflight,
	RunRecord,
	RunState,
	Store,
	StoredRequest,
	StoredSession,
} from '../store.js';
import {CRASHED_WORKER_MESSAGE, CRASHES_BEFORE_FAILING} from '../store.js';
import {prepareCompletions, prepareRequest, toJson} from '../sqlite/serialize.js';
import {toFailedRequest, toRunRecord, toStoredSession} from '../sqlite/rows.js';
import type {FailedRow, RunRow, SessionRow} from '../sqlite/rows.js';
import {commitBatchParams, fencedResult} from './commit-batch.js';
import {createPool, poolConfig, retrying, storageError} from './connection.js';
import {named} from './prepared.js';
import {migrate, schemaOf} from './schema.js';
import {buildStatements, itemPageSize, requestColumns} from './statements.js';
import type {Sql} from './statements.js';
import {toLeasedRequest, type LeasedPgRow} from './rows.js';

export interface PostgresStoreOptions {
	/** postgres:// URL; pool size as `?max=N` (default 10), sslmode and the rest as pg reads them. */
	readonly url: string;
	/** The crawler whose schema (`crawljar_<crawler>`) holds the tables. */
	readonly crawler?: string;
	/** The schema itself, instead of the one derived from `crawler` (tests use throwaway ones). */
	readonly schema?: string;
}

export class PostgresStore implements Store {
	readonly #url: string;
	readonly #schema: string;
	readonly #sql: Sql;
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
		poolConfig(options.url); // a bad URL throws here, naming the field
		this.#pool = createPool(options.url);
		this.#pool.catch(() => {});
		this.#ready = this.#pool
			.then(async (pool) => {
				const client = await pool.connect();
				try {
					await migrate(client, schema);
				} finally {
					client.release();
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

	async lease(runId: number, limit: number, now: number): Promise<StoredRequest[]> {
		return this.#lease(runId, limit, now, undefined);
	}

	async leaseAs(runId: number, limit: number, now: number, holder: LeaseHolder): Promise<StoredRequest[]> {
		return this.#lease(runId, limit, now, holder);
	}

	async #lease(runId: number, limit: number, now: number, holder: LeaseHolder | undefined): Promise<StoredRequest[]> {
		if (limit <= 0) return [];
		const params = [runId, now, limit, holder?.owner ?? null, holder?.expiresAt ?? null];
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
				return result.rows;
			} catch (error) {
				await client.query('ROLLBACK').catch(() => {});
				throw error;
			} finally {
				client.release();
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

	async requeueFailed(runId: number): Promise<number> {
		return this.#changes('requeueing failed requests', this.#sql.requeueFailed, [runId]);
	}

	async nextDueAt(runId: number): Promise<number | undefined> {
		const [row] = await this.#rows<{retry_at: number}>('reading the frontier', this.#sql.nextDueAt, [runId]);
		return row?.retry_at;
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
		const meta = toJson(session.meta, `Metadata of session ${session.id}`);
		await this.#rows('saving a session', this.#sql.saveSession, [
			session.id,
			session.account,
			session.state,
			meta,
			session.secret,
			session.updatedAt,
		]);
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

	async #guard<T>(doing: string, work: () => Promise<T>): Promise<T> {
		try {
			return await work();
		} catch (error) {
			throw storageError(error, this.#url, doing);
		}
	}
}
