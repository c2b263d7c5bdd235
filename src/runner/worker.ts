// A runner as a worker of its run (issue 10): its id, how it tells a dead worker on this host
// (its pid is gone: no wait for the lease to expire), and its heartbeat.
import {randomBytes} from 'node:crypto';
import {hostname} from 'node:os';
import {describeError} from '../errors.js';
import type {Logger} from '../job/types.js';
import type {Store, WorkerIdentity, WorkerRecord, WorkerStats} from '../store/store.js';
import {isAlive} from './run-lock.js';

/** Workers of this process that have joined and not left: only these make a row with our pid live. */
const activeInThisProcess = new Set<string>();

export function newWorker(): WorkerIdentity {
	const host = hostname();
	return {id: `${host}:${process.pid}:${randomBytes(4).toString('hex')}`, host, pid: process.pid};
}

export function markActive(worker: WorkerIdentity, isActive: boolean): void {
	if (isActive) activeInThisProcess.add(worker.id);
	else activeInThisProcess.delete(worker.id);
}

/**
 * Dead at once although its heartbeat is recent: on this host, its process is gone (kill -9), or
 * it has our pid but is no worker of this process (an earlier process had the pid). Another
 * host's worker is not ours to judge: its lease decides.
 */
export function isGoneWorker(worker: WorkerRecord): boolean {
	if (worker.host !== hostname()) return false;
	if (worker.pid === process.pid) return !activeInThisProcess.has(worker.id);
	return !isAlive(worker.pid);
}

export interface HeartbeatOptions {
	readonly store: Store;
	readonly runId: number;
	readonly worker: WorkerIdentity;
	readonly leaseMs: number;
	readonly now: () => number;
	readonly stats: () => WorkerStats;
	/** The requests the engine still works on (leased, not yet committed): only their leases are renewed. */
	readonly held: () => readonly number[];
	readonly log: Logger;
}

/**
 * Every leaseMs / 3: renew this worker's row and the leases it works on, reclaim expired leases.
 * Unref'd (it never keeps a process alive by itself); stopped when the run ends.
 */
export function startHeartbeat(options: HeartbeatOptions): {stop(): void} {
	const {store, runId, worker, leaseMs, now, log} = options;
	let isBusy = false;
	let hasFailed = false;
	const timer = setInterval(() => {
		if (isBusy) return; // a slow store: one heartbeat at a time, the next tick tries again
		isBusy = true;
		const at = now();
		store
			.heartbeat(runId, worker.id, at, at + leaseMs, options.stats(), options.held())
			.then(({reclaimed}) => {
				if (hasFailed) log.info('heartbeat: the store answers again');
				hasFailed = false;
				if (reclaimed > 0) log.info(`reclaimed ${reclaimed} request(s) whose lease expired (a worker died or stalled, or a lease's reply was lost): back in the queue`);
			})
			.catch((error: unknown) => {
				if (!hasFailed) log.warn(`heartbeat failed (this worker's leases expire ${Math.round(leaseMs / 1000)}s after the last one that worked): ${describeError(error).message}`);
				hasFailed = true;
			})
			.finally(() => {
				isBusy = false;
			});
	}, Math.max(100, Math.floor(leaseMs / 3)));
	timer.unref();
	return {stop: () => clearInterval(timer)};
}
