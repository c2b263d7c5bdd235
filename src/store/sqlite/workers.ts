// The workers of a run on SQLite (Store.joinRun, heartbeat, leaveRun, listWorkers, tryFinishRun).
// One process runs a crawl here (the run lock), but the contract is the PostgreSQL one: each
// call is one IMMEDIATE transaction, so a join, a heartbeat or a finish check is atomic.
import type Database from 'better-sqlite3';
import type {FinishCheck, Heartbeat, JoinedRun, JoinRunOptions, RunRecord, WorkerRecord, WorkerStats} from '../store.js';
import {CRASHED_WORKER_MESSAGE, CRASHES_BEFORE_FAILING} from '../store.js';
import {liveOwners, planJoin, supersededSummary, toWorkerRecord, type WorkerRow} from '../worker-rows.js';
import type {CountCache} from './count-cache.js';
import {toRunRecord} from './rows.js';
import type {Statements} from './statements.js';
import {toJson} from './serialize.js';

/** @internal Declarations are stripped: better-sqlite3's statement type cannot be named in a .d.ts. */
function prepareWorkerStatements(db: Database.Database) {
	// Requests in flight under an owner not in the JSON array ? (or under none): a resume's release.
	const notLive = `run_id = ? AND state = 'inflight' AND (lease_owner IS NULL OR lease_owner NOT IN (SELECT value FROM json_each(?)))`;
	return {
		failCrashed: db.prepare<[error: string, crashesBeforeFailing: number, runId: number, live: string]>(
			`UPDATE requests SET state = 'failed', crash_count = crash_count + 1, status = NULL,
				error_code = 'ERR_CRASHED_WORKER', error = ?, lease_owner = NULL, lease_expires_at = NULL
			WHERE crash_count + 1 >= ? AND ${notLive}`,
		),
		release: db.prepare<[runId: number, live: string]>(
			`UPDATE requests SET state = 'pending', retry_at = 0, crash_count = crash_count + 1, lease_owner = NULL, lease_expires_at = NULL
			WHERE ${notLive}`,
		),
		insert: db.prepare<[id: string, runId: number, host: string, pid: number, startedAt: number, heartbeatAt: number, expiresAt: number]>(
			`INSERT INTO workers (id, run_id, host, pid, started_at, heartbeat_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		),
		expire: db.prepare<[now: number, id: string]>(`UPDATE workers SET expires_at = min(expires_at, ?) WHERE id = ?`),
		beat: db.prepare<[now: number, expiresAt: number, stats: string, id: string]>(
			`UPDATE workers SET heartbeat_at = ?, expires_at = ?, stats = ? WHERE id = ? AND left_at IS NULL`,
		),
		leave: db.prepare<[now: number, stats: string, id: string]>(`UPDATE workers SET left_at = ?, stats = ? WHERE id = ?`),
		list: db.prepare<[runId: number], WorkerRow>(`SELECT * FROM workers WHERE run_id = ? ORDER BY started_at, id`),
		// held: a JSON array of the request ids the worker still works on (Store.heartbeat).
		renew: db.prepare<[expiresAt: number, runId: number, owner: string, held: string]>(
			`UPDATE requests SET lease_expires_at = ?
			WHERE run_id = ? AND state = 'inflight' AND lease_owner = ? AND id IN (SELECT value FROM json_each(?))`,
		),
		reclaimOthers: db.prepare<[runId: number, now: number, owner: string | null]>(
			`UPDATE requests SET state = 'pending', retry_at = 0, lease_owner = NULL, lease_expires_at = NULL
			WHERE run_id = ? AND state = 'inflight' AND lease_expires_at <= ? AND lease_owner IS NOT ?`,
		),
		reclaimUnheld: db.prepare<[runId: number, now: number, owner: string, held: string]>(
			`UPDATE requests SET state = 'pending', retry_at = 0, lease_owner = NULL, lease_expires_at = NULL
			WHERE run_id = ? AND state = 'inflight' AND lease_expires_at <= ? AND lease_owner = ? AND id NOT IN (SELECT value FROM json_each(?))`,
		),
		// LIMIT 1 on the lease index (run_id, state, retry_at): one probe each, whatever the frontier's size.
		anyPending: db.prepare<[runId: number], number>(`SELECT 1 FROM requests WHERE run_id = ? AND state = 'pending' LIMIT 1`).pluck(),
		anyInflight: db.prepare<[runId: number], number>(`SELECT 1 FROM requests WHERE run_id = ? AND state = 'inflight' LIMIT 1`).pluck(),
		finish: db.prepare<[now: number, runId: number]>(`UPDATE runs SET state = 'finished', finished_at = ? WHERE id = ? AND state = 'running'`),
	};
}

export class SqliteWorkers {
	readonly #join: Database.Transaction<(options: JoinRunOptions) => JoinedRun>;
	readonly #heartbeat: Database.Transaction<(runId: number, id: string, now: number, expiresAt: number, stats: string, held: string) => Heartbeat>;
	readonly #leave: Database.Transaction<(runId: number, id: string, now: number, stats: string) => WorkerRecord[]>;
	readonly #finish: Database.Transaction<(runId: number, now: number) => FinishCheck & {reclaimed: number}>;
	readonly #sql: ReturnType<typeof prepareWorkerStatements>;
	readonly #counts: CountCache;

	constructor(db: Database.Database, runs: Statements, counts: CountCache) {
		const sql = prepareWorkerStatements(db);
		this.#sql = sql;
		this.#counts = counts;
		const list = (runId: number) => sql.list.all(runId).map(toWorkerRecord);
		this.#join = db.transaction((options: JoinRunOptions): JoinedRun => {
			const latestRow = runs.latestRun.get();
			const latest = latestRow === undefined ? undefined : toRunRecord(latestRow);
			const plan = planJoin(latest, latest ? list(latest.id) : [], options);
			for (const id of plan.gone) sql.expire.run(options.now, id);
			let run: RunRecord;
			let released = {released: 0, crashed: 0};
			let requeued = 0;
			if (plan.kind === 'resume') {
				run = plan.run;
				const live = JSON.stringify(liveOwners(plan, options.worker.id));
				const crashed = sql.failCrashed.run(CRASHED_WORKER_MESSAGE, CRASHES_BEFORE_FAILING, run.id, live).changes;
				released = {released: sql.release.run(run.id, live).changes, crashed};
				if (options.retryFailed) requeued = runs.requeueFailed.run(run.id).changes;
				runs.setRunState.run('running', null, null, run.id);
			} else {
				if (plan.supersede) {
					const summary = toJson(supersededSummary(plan.supersede), `Summary of run ${plan.supersede.id}`);
					runs.setRunState.run('aborted', options.now, summary, plan.supersede.id);
				}
				run = toRunRecord(runs.createRun.get(options.now)!);
			}
			const {id, host, pid} = options.worker;
			sql.insert.run(id, run.id, host, pid, options.now, options.now, options.now + options.leaseMs);
			return {run, created: plan.kind === 'start', others: plan.others, released, requeued};
		});
		this.#heartbeat = db.transaction((runId: number, id: string, now: number, expiresAt: number, stats: string, held: string): Heartbeat => {
			sql.beat.run(now, expiresAt, stats, id);
			const renewed = sql.renew.run(expiresAt, runId, id, held).changes;
			const reclaimed = sql.reclaimOthers.run(runId, now, id).changes + sql.reclaimUnheld.run(runId, now, id, held).changes;
			return {renewed, reclaimed};
		});
		this.#leave = db.transaction((runId: number, id: string, now: number, stats: string): WorkerRecord[] => {
			sql.leave.run(now, stats, id);
			return list(runId).filter((worker) => worker.id !== id && worker.leftAt === undefined && worker.expiresAt > now);
		});
		this.#finish = db.transaction((runId: number, now: number) => {
			const reclaimed = sql.reclaimOthers.run(runId, now, null).changes;
			if (sql.anyPending.get(runId) !== undefined) return {state: 'pending' as const, reclaimed};
			if (sql.anyInflight.get(runId) !== undefined) return {state: 'leased' as const, reclaimed};
			return {state: 'finished' as const, byThisCall: sql.finish.run(now, runId).changes === 1, reclaimed};
		});
	}

	joinRun(options: JoinRunOptions): JoinedRun {
		const joined = this.#join.immediate(options);
		// Another run's counts may have been cached before the release: count it afresh.
		this.#counts.forget(joined.run.id);
		return joined;
	}

	heartbeat(runId: number, workerId: string, now: number, expiresAt: number, stats: WorkerStats, held: readonly number[]): Heartbeat {
		const beat = this.#heartbeat.immediate(runId, workerId, now, expiresAt, toJson(stats, `Stats of worker ${workerId}`), JSON.stringify(held));
		this.#counts.move(runId, 'inflight', 'pending', beat.reclaimed);
		return beat;
	}

	leaveRun(runId: number, workerId: string, now: number, stats: WorkerStats): WorkerRecord[] {
		return this.#leave.immediate(runId, workerId, now, toJson(stats, `Stats of worker ${workerId}`));
	}

	listWorkers(runId: number): WorkerRecord[] {
		return this.#sql.list.all(runId).map(toWorkerRecord);
	}

	tryFinishRun(runId: number, now: number): FinishCheck {
		const {reclaimed, ...check} = this.#finish.immediate(runId, now);
		this.#counts.move(runId, 'inflight', 'pending', reclaimed);
		return check;
	}
}
