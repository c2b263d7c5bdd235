// Resume-or-start: an unfinished run (crashed, stopped, aborted) continues unless --fresh.
import type {CrawlerDefinition, Logger} from '../job/types.js';
import type {NewRequest, RunRecord, Store} from '../store/store.js';
import {normalizeUrl} from './urls.js';

export interface PrepareOptions {
	readonly fresh: boolean;
	readonly retryFailed: boolean;
	readonly now: () => number;
	readonly log: Logger;
}

const formatNumber = new Intl.NumberFormat('en-US');

export async function prepareRun(store: Store, definition: CrawlerDefinition, options: PrepareOptions): Promise<RunRecord> {
	const latest = await store.latestRun();
	const isResumable = latest !== undefined && (latest.state !== 'finished' || options.retryFailed);
	if (latest && isResumable && !options.fresh) {
		// Requests in flight when the last process died are due again at once: no lock wait.
		// One found in flight by the previous resume too is failed instead (it likely killed the process).
		const {released, crashed} = await store.releaseInflight(latest.id);
		const requeued = options.retryFailed ? await store.requeueFailed(latest.id) : 0;
		await store.addRequests(latest.id, startRequests(definition));
		await store.setRunState(latest.id, 'running', options.now());
		const counts = await store.counts(latest.id);
		options.log.info(
			`resuming run ${latest.id}: ${formatNumber.format(counts.done)} done, ${formatNumber.format(counts.pending)} pending, ${formatNumber.format(counts.failed)} failed` +
				(released ? ` (${released} in flight at the last stop, retried now)` : '') +
				(crashed ? ` (${crashed} in flight at the last two stops, failed with ERR_CRASHED_WORKER: crawljar failed lists them)` : '') +
				(requeued ? ` (${requeued} failed requests queued again)` : ''),
		);
		return {...latest, state: 'running'};
	}
	if (latest && latest.state !== 'finished') {
		await store.setRunState(latest.id, 'aborted', options.now(), latest.summary ?? {stoppedReason: 'superseded by --fresh'});
	}
	const run = await store.createRun(options.now());
	await store.addRequests(run.id, startRequests(definition));
	options.log.info(`starting run ${run.id} of ${definition.name}${options.fresh && latest ? ' (--fresh: logged-in sessions kept)' : ''}`);
	return run;
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
