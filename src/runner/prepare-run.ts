// Start or join: one atomic store call (Store.joinRun) continues an unfinished run (resume, or
// join the workers running it) or starts a new one unless --fresh; then the start URLs are
// added (deduped) and what happened is said in one line.
import type {CrawlerDefinition, Logger} from '../job/types.js';
import {workerState, type JoinedRun, type NewRequest, type Store, type WorkerIdentity} from '../store/store.js';
import {sessionShareOwner} from '../sessions/session-shares.js';
import {normalizeUrl} from './urls.js';
import {isGoneWorker} from './worker.js';

export interface PrepareOptions {
	readonly fresh: boolean;
	readonly retryFailed: boolean;
	readonly now: () => number;
	readonly log: Logger;
	readonly worker: WorkerIdentity;
	readonly leaseMs: number;
}

const formatNumber = new Intl.NumberFormat('en-US');

export async function prepareRun(store: Store, definition: CrawlerDefinition, options: PrepareOptions): Promise<JoinedRun> {
	const {worker, leaseMs, fresh, retryFailed} = options;
	const joined = await store.joinRun({worker, now: options.now(), leaseMs, fresh, retryFailed, isGone: isGoneWorker});
	const {run, released, requeued, others} = joined;
	await releaseSharesOfGoneWorkers(store, run.id, worker, options.now());
	await store.addRequests(run.id, startRequests(definition));
	if (joined.created) {
		options.log.info(`starting run ${run.id} of ${definition.name}${fresh && run.id > 1 ? ' (--fresh: logged-in sessions kept)' : ''}`);
		return joined;
	}
	const counts = await store.counts(run.id);
	const verb = others.length > 0 ? `joined run ${run.id} (${others.length} other worker${others.length === 1 ? '' : 's'})` : `resuming run ${run.id}`;
	options.log.info(
		`${verb}: ${formatNumber.format(counts.done)} done, ${formatNumber.format(counts.pending)} pending, ${formatNumber.format(counts.failed)} failed` +
			// Requests in flight under workers that are gone are due again at once: no lock wait.
			(released.released ? ` (${released.released} in flight at the last stop, retried now)` : '') +
			// One found in flight by the previous resume too is failed instead (it likely killed the process).
			(released.crashed ? ` (${released.crashed} in flight at the last two stops, failed with ERR_CRASHED_WORKER: crawljar failed lists them)` : '') +
			(requeued ? ` (${requeued} failed requests queued again)` : ''),
	);
	return joined;
}

/**
 * Host and session shares of the run's workers that are gone (their process on this machine has
 * exited: a kill -9) or dead: given back now, not when they lapse (5 s), or a resumed crawl would
 * wait that long for the host's concurrency its dead predecessor still holds.
 */
async function releaseSharesOfGoneWorkers(store: Store, runId: number, self: WorkerIdentity, now: number): Promise<void> {
	for (const other of await store.listWorkers(runId)) {
		if (other.id === self.id || other.leftAt !== undefined) continue;
		if (workerState(other, now) !== 'dead' && !isGoneWorker(other)) continue;
		await store.releaseShares(other.id);
		await store.releaseShares(sessionShareOwner(other.id));
	}
}

export function startRequests(definition: CrawlerDefinition): NewRequest[] {
	return definition.startUrls.map((start) => {
		const entry = typeof start === 'string' ? {url: start} : start;
		return {
			url: entry.url,
			uniqueKey: entry.uniqueKey ?? normalizeUrl(entry.url),
			label: entry.label,
			userData: entry.userData ?? {},
			...(entry.headers ? {headers: entry.headers} : {}),
			depth: 0,
		};
	});
}
