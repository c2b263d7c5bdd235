// The workers table as both engines return it, and the start-or-join decision both make inside
// their join lock (the same rule on SQLite and PostgreSQL: one place to read it).
import {CrawljarError} from '../errors.js';
import type {JoinRunOptions, RunRecord, WorkerRecord, WorkerStats} from './store.js';
import {workerState} from './store.js';

export interface WorkerRow {
	readonly id: string;
	readonly run_id: number;
	readonly host: string;
	readonly pid: number;
	readonly started_at: number;
	readonly heartbeat_at: number;
	readonly expires_at: number;
	readonly left_at: number | null;
	readonly stats: string | null;
}

export function toWorkerRecord(row: WorkerRow): WorkerRecord {
	return {
		id: row.id,
		runId: row.run_id,
		host: row.host,
		pid: row.pid,
		startedAt: row.started_at,
		heartbeatAt: row.heartbeat_at,
		expiresAt: row.expires_at,
		leftAt: row.left_at ?? undefined,
		stats: row.stats === null ? undefined : (JSON.parse(row.stats) as WorkerStats),
	};
}

export type JoinPlan =
	| {readonly kind: 'resume'; readonly run: RunRecord; readonly others: readonly WorkerRecord[]; readonly gone: readonly string[]}
	| {readonly kind: 'start'; readonly supersede: RunRecord | undefined; readonly others: readonly WorkerRecord[]; readonly gone: readonly string[]};

/**
 * What a join does, from the latest run and its workers (read under the join lock): resume it,
 * or start a new one (superseding an unfinished one with --fresh). Workers `isGone` reports are
 * dead at once; `--fresh` while other workers are live is ERR_LOCKED naming them.
 */
export function planJoin(latest: RunRecord | undefined, workers: readonly WorkerRecord[], options: JoinRunOptions): JoinPlan {
	const gone = workers.filter((worker) => worker.id !== options.worker.id && workerState(worker, options.now) === 'live' && options.isGone?.(worker)).map((worker) => worker.id);
	const others = workers.filter((worker) => worker.id !== options.worker.id && workerState(worker, options.now) === 'live' && !gone.includes(worker.id));
	if (options.fresh && others.length > 0) {
		const names = others.map((worker) => `${worker.host} pid ${worker.pid}`).join(', ');
		throw new CrawljarError('ERR_LOCKED', `cannot start a fresh run of run ${latest!.id}: ${others.length} other worker(s) still running it (${names}); stop them first`);
	}
	if (latest && !options.fresh && (latest.state !== 'finished' || options.retryFailed)) {
		return {kind: 'resume', run: {...latest, state: 'running', finishedAt: undefined}, others, gone};
	}
	return {kind: 'start', supersede: latest && latest.state !== 'finished' ? latest : undefined, others: [], gone};
}

/** The summary an unfinished run keeps when --fresh supersedes it. */
export function supersededSummary(run: RunRecord): unknown {
	return run.summary ?? {stoppedReason: 'superseded by --fresh'};
}

/** Owners whose in-flight requests a join must leave alone: the joiner and the live others. */
export function liveOwners(plan: JoinPlan, me: string): string[] {
	return [me, ...plan.others.map((worker) => worker.id)];
}
