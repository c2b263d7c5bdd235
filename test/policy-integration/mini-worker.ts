// A minimal worker of a crawl for the shared-limits tests: the store's owner leases, the host
// throttle and its coordinator, and plain fetch() against a local site; no sessions, no
// handlers. The point is what reaches the server when several of these share one store.
import {setTimeout as delay} from 'node:timers/promises';
import {HostCoordinator} from '../../src/policy/host-coordinator.js';
import {HostThrottle} from '../../src/policy/host-throttle.js';
import type {Store, StoredRequest} from '../../src/store/store.js';

export interface MiniWorkerOptions {
	readonly name: string;
	readonly store: Store;
	readonly runId: number;
	readonly maxConcurrency: number;
	/** Requests this worker keeps in flight at most (its engine's concurrency). */
	readonly concurrency: number;
}

/** Runs until the frontier has nothing pending and nothing in flight; returns how many pages it fetched. */
export async function runMiniWorker(options: MiniWorkerOptions): Promise<number> {
	const {name, store, runId, concurrency} = options;
	const throttle = new HostThrottle({defaults: {maxConcurrency: options.maxConcurrency}});
	const coordinator = new HostCoordinator({store, throttle, owner: name});
	await coordinator.start();
	const holder = () => ({owner: name, expiresAt: Date.now() + 60_000});
	let buffer: StoredRequest[] = [];
	let inFlight = 0;
	let fetched = 0;
	const running = new Set<Promise<void>>();
	const fetchOne = async (request: StoredRequest): Promise<void> => {
		const response = await fetch(request.url, {headers: {'x-worker': name}});
		await response.arrayBuffer();
		const now = Date.now();
		fetched++;
		if (response.status === 429) {
			const untilMs = now + Number(response.headers.get('retry-after')) * 1000;
			throttle.cooldown(request.host, untilMs);
			throttle.release(request.host, 'rate-limited');
			await store.commitAs(runId, name, [{kind: 'retry', requestId: request.id, retryAt: untilMs, retryCount: 0, reloginCount: 0, rateLimitCount: request.rateLimitCount + 1, error: '429'}]);
		} else {
			throttle.release(request.host, 'ok');
			await store.commitAs(runId, name, [{kind: 'done', requestId: request.id, items: [{url: request.url}], enqueued: [], status: response.status}]);
		}
	};
	try {
		for (;;) {
			if (buffer.length < concurrency * 2) buffer.push(...(await store.leaseAs(runId, concurrency * 2 - buffer.length, Date.now(), holder())));
			const kept: StoredRequest[] = [];
			const released: StoredRequest[] = [];
			for (const request of buffer) {
				if (inFlight >= concurrency) {
					kept.push(request);
					continue;
				}
				const gate = throttle.tryAcquire(request.host);
				if (gate.ok) {
					inFlight++;
					const task = fetchOne(request).finally(() => {
						inFlight--;
						running.delete(task);
					});
					running.add(task);
				} else if (gate.retryInMs > 500) {
					released.push(request);
				} else {
					kept.push(request);
				}
			}
			buffer = kept;
			if (released.length > 0) {
				const retryAt = Date.now() + 500;
				await store.commitAs(runId, name, released.map((request) => ({kind: 'release' as const, requestId: request.id, retryAt})));
			}
			if (buffer.length === 0 && inFlight === 0) {
				const counts = await store.counts(runId);
				if (counts.pending === 0 && counts.inflight === 0) return fetched;
			}
			await delay(5);
		}
	} finally {
		await Promise.allSettled(running);
		await coordinator.stop();
	}
}
