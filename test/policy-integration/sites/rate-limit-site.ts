// Admits `perSecond` requests per client (remote address) in any sliding second and answers
// 429 without Retry-After above it: the crawler has to find the rate itself. Runs in a worker.
import {page, type WorkerSite} from '../helpers.js';

export interface RateLimitSiteOptions {
	readonly perSecond: number;
	readonly pageDelayMs: number;
}

export interface RateLimitSiteState {
	/** Arrival time and status of each request, in arrival order. */
	readonly answers: ReadonlyArray<readonly [at: number, status: number]>;
	readonly served: string[];
}

export function createSite(options: RateLimitSiteOptions): WorkerSite {
	const admitted = new Map<string, number[]>();
	const answers: Array<readonly [number, number]> = [];
	const served = new Set<string>();
	return {
		handle(request, response, arrival) {
			request.resume();
			const client = request.socket.remoteAddress ?? '?';
			const recent = (admitted.get(client) ?? []).filter((at) => at > arrival.at - 1_000);
			admitted.set(client, recent);
			if (recent.length >= options.perSecond) {
				answers.push([arrival.at, 429]);
				return page(response, 'too many requests', 429);
			}
			recent.push(arrival.at);
			answers.push([arrival.at, 200]);
			setTimeout(() => {
				served.add(arrival.path);
				page(response, `page ${arrival.path}`);
			}, options.pageDelayMs);
		},
		state(): RateLimitSiteState {
			return {answers, served: [...served]};
		},
	};
}
