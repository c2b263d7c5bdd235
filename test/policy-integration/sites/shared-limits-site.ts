// A site for several workers of one crawl (see shared-host-limits.test.ts): pages under /p/
// answered after a random latency, each arrival logged with the worker that sent it (the
// x-worker header). Optionally one rate-limit episode: the `triggerAt`-th page request gets a 429
// with Retry-After "2", and so does every request arriving before the window it announced ends.
// Runs in a worker thread.
import {page, type WorkerSite} from '../helpers.js';

export interface SharedLimitsSiteOptions {
	readonly pageDelayMs: readonly [min: number, max: number];
	readonly triggerAt?: number;
}

export interface SharedLimitsSiteState {
	/** When the first 429 left and when the window it announced ends. */
	readonly window: {readonly start: number; readonly end: number; readonly worker: string} | undefined;
	readonly arrivals: ReadonlyArray<{readonly at: number; readonly worker: string; readonly status: number}>;
	readonly served: string[];
}

export function createSite(options: SharedLimitsSiteOptions): WorkerSite {
	const [min, max] = options.pageDelayMs;
	let pageRequests = 0;
	let window: {start: number; end: number; worker: string} | undefined;
	const arrivals: Array<{at: number; worker: string; status: number}> = [];
	const served = new Set<string>();
	return {
		handle(request, response, arrival) {
			request.resume();
			const worker = String(request.headers['x-worker'] ?? '?');
			pageRequests++;
			if (window && arrival.at < window.end) {
				arrivals.push({at: arrival.at, worker, status: 429});
				response.setHeader('retry-after', '2');
				return page(response, 'slow down', 429);
			}
			if (!window && pageRequests === options.triggerAt) {
				const start = Date.now();
				window = {start, end: start + 2_000, worker};
				arrivals.push({at: arrival.at, worker, status: 429});
				response.setHeader('retry-after', '2');
				return page(response, 'slow down', 429);
			}
			arrivals.push({at: arrival.at, worker, status: 200});
			setTimeout(() => {
				served.add(arrival.path);
				page(response, `page ${arrival.path}`);
			}, min + Math.random() * (max - min));
		},
		state: (): SharedLimitsSiteState => ({window, arrivals, served: [...served]}),
	};
}
