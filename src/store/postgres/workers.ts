// The workers of a run on PostgreSQL (Store.joinRun, heartbeat, leaveRun, tryFinishRun): several
// processes on several machines share one crawl. A join and a leave are short transactions
// under the crawler's join lock; a heartbeat and a finish check are one statement each.
import type pg from 'pg';
import type {FinishCheck, Heartbeat, JoinedRun, JoinRunOptions, RunRecord, WorkerRecord, WorkerStats} from '../store.js';
import {CRASHED_WORKER_MESSAGE, CRASHES_BEFORE_FAILING} from '../store.js';
import {toRunRecord, type RunRow} from '../sqlite/rows.js';
import {toJson} from '../sqlite/serialize.js';
import {liveOwners, planJoin, supersededSummary, toWorkerRecord, type WorkerRow} from '../worker-rows.js';
import {retrying} from './connection.js';
import type {Sql} from './statements.js';
import type {WorkerSql} from './worker-statements.js';

/** Runs `work` in one transaction holding the crawler's join lock. */
async function underJoinLock<T>(pool: pg.Pool, sql: WorkerSql, schema: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
	const client = await pool.connect();
	try {
		await client.query('BEGIN');
		await client.query(sql.joinLock, [`crawljar join ${schema}`]);
		const result = await work(client);
		await client.query('COMMIT');
		client.release();
		return result;
	} catch (error) {
		await client.query('ROLLBACK').catch(() => {});
		// Not reused: after a statement timeout its connection may still owe an answer.
		client.release(error instanceof Error ? error : new Error(String(error)));
		throw error;
	}
}

export async function joinRun(pool: pg.Pool, sql: Sql, workerSql: WorkerSql, schema: string, options: JoinRunOptions): Promise<JoinedRun> {
	return underJoinLock(pool, workerSql, schema, async (client) => {
		const latestRow = (await client.query<RunRow>(workerSql.latestRun)).rows[0];
		const latest = latestRow === undefined ? undefined : toRunRecord(latestRow);
		const workers = latest ? (await client.query<WorkerRow>(workerSql.list, [latest.id])).rows.map(toWorkerRecord) : [];
		const plan = planJoin(latest, workers, options);
		if (plan.gone.length > 0) await client.query(workerSql.expire, [options.now, plan.gone]);
		let run: RunRecord;
		let released = {released: 0, crashed: 0};
		let requeued = 0;
		if (plan.kind === 'resume') {
			run = plan.run;
			const params = [run.id, CRASHES_BEFORE_FAILING, CRASHED_WORKER_MESSAGE, liveOwners(plan, options.worker.id)];
			const {rows} = await client.query<{state: string}>(workerSql.releaseInflight, params);
			const crashed = rows.filter((row) => row.state === 'failed').length;
			released = {released: rows.length - crashed, crashed};
			if (options.retryFailed) requeued = (await client.query(sql.requeueFailed, [run.id])).rowCount ?? 0;
			await client.query(sql.setRunState, ['running', null, null, run.id]);
		} else {
			if (plan.supersede) {
				const summary = toJson(supersededSummary(plan.supersede), `Summary of run ${plan.supersede.id}`);
				await client.query(sql.setRunState, ['aborted', options.now, summary, plan.supersede.id]);
			}
			run = toRunRecord((await client.query<RunRow>(sql.createRun, [options.now])).rows[0]!);
		}
		const {id, host, pid} = options.worker;
		await client.query(workerSql.insert, [id, run.id, host, pid, options.now, options.now + options.leaseMs]);
		return {run, created: plan.kind === 'start', others: plan.others, released, requeued};
	});
}

export async function heartbeat(
	pool: pg.Pool,
	sql: WorkerSql,
	runId: number,
	workerId: string,
	now: number,
	expiresAt: number,
	stats: WorkerStats,
	held: readonly number[],
): Promise<Heartbeat> {
	const params = [runId, workerId, now, expiresAt, toJson(stats, `Stats of worker ${workerId}`), held];
	// Renewing can deadlock with this worker's own commit or another's reclaim touching the same rows in another order: run again.
	const {rows} = await retrying(() => pool.query<Heartbeat>(sql.heartbeat, params));
	return rows[0]!;
}

export async function leaveRun(pool: pg.Pool, sql: WorkerSql, schema: string, runId: number, workerId: string, now: number, stats: WorkerStats): Promise<WorkerRecord[]> {
	return underJoinLock(pool, sql, schema, async (client) => {
		await client.query(sql.leave, [workerId, now, toJson(stats, `Stats of worker ${workerId}`)]);
		return (await client.query<WorkerRow>(sql.liveOthers, [runId, workerId, now])).rows.map(toWorkerRecord);
	});
}

export async function listWorkers(pool: pg.Pool, sql: WorkerSql, runId: number): Promise<WorkerRecord[]> {
	return (await pool.query<WorkerRow>(sql.list, [runId])).rows.map(toWorkerRecord);
}

export async function tryFinishRun(pool: pg.Pool, sql: WorkerSql, runId: number, now: number): Promise<FinishCheck> {
	const {rows} = await retrying(() => pool.query<{pending: boolean; inflight: boolean; won: boolean}>(sql.tryFinish, [runId, now]));
	const {pending, inflight, won} = rows[0]!;
	if (pending) return {state: 'pending'};
	if (inflight) return {state: 'leased'};
	return {state: 'finished', byThisCall: won};
}
