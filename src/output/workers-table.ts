// The workers of a run as `crawljar status` shows them: where each runs, how recent its
// heartbeat is, its rate and whether it is live, left or dead (kill -9, lost machine).
import type {WorkerRecord} from '../store/store.js';
import {workerState} from '../store/store.js';
import {formatDuration} from './format.js';
import {formatTable} from './table.js';

export function formatWorkers(workers: readonly WorkerRecord[], now: number): string {
	const rows = workers.map((worker) => {
		const state = workerState(worker, now);
		return {
			host: worker.host,
			pid: worker.pid,
			state,
			heartbeat: `${formatDuration(now - worker.heartbeatAt)} ago`,
			'pages/s': state === 'live' ? (worker.stats?.pagesPerSecond ?? 0) : '',
			pages: worker.stats?.pagesDone ?? 0,
			started: new Date(worker.startedAt).toISOString().slice(0, 19).replace('T', ' '),
		};
	});
	return formatTable(rows, ['host', 'pid', 'state', 'heartbeat', 'pages/s', 'pages', 'started']);
}
