// Runs one site module (see startSiteWorker in helpers.ts) in a worker thread: its own event
// loop, so arrival times are when requests reached the server, whatever the crawler is doing.
import {parentPort, workerData} from 'node:worker_threads';
import {listenLogged, type WorkerSite} from './helpers.js';

const {site, options} = workerData as {site: string; options: unknown};
const module = (await import(site)) as {createSite(options: unknown): WorkerSite};
const created = module.createSite(options);
const listening = await listenLogged(created.handle);
parentPort!.on('message', (message: {type: 'snapshot'; id: number}) => {
	parentPort!.postMessage({
		type: 'snapshot',
		id: message.id,
		snapshot: {arrivals: listening.arrivals, maxConcurrency: listening.concurrency.max, state: created.state?.() ?? null},
	});
});
parentPort!.postMessage({type: 'listening', port: listening.port});
