// Frontier counts kept in memory. Counting by state walks the whole lease index (~70 ms at
// 1,000,000 requests: SQLite has no counted b-trees), too slow for a once-a-second progress
// line, so each run is counted once and then kept current from the changes this store makes.
// A recount every `maxAgeMs` picks up any writes made through another connection.
import type {FrontierCounts, RequestState} from '../store.js';

export type CountDelta = Record<RequestState, number>;

interface Entry {
	readonly counts: CountDelta;
	readonly countedAt: number;
}

export function emptyDelta(): CountDelta {
	return {pending: 0, inflight: 0, done: 0, failed: 0};
}

export class CountCache {
	readonly #byRun = new Map<number, Entry>();
	readonly #maxAgeMs: number;

	constructor(maxAgeMs: number) {
		this.#maxAgeMs = maxAgeMs;
	}

	get(runId: number, count: () => CountDelta): FrontierCounts {
		let entry = this.#byRun.get(runId);
		const now = Date.now();
		if (entry === undefined || now - entry.countedAt >= this.#maxAgeMs) {
			entry = {counts: count(), countedAt: now};
			this.#byRun.set(runId, entry);
		}
		return {...entry.counts};
	}

	/** Applies a committed change; runs not counted yet are counted fresh when asked. */
	apply(runId: number, delta: Readonly<CountDelta>): void {
		const entry = this.#byRun.get(runId);
		if (entry === undefined) return;
		entry.counts.pending += delta.pending;
		entry.counts.inflight += delta.inflight;
		entry.counts.done += delta.done;
		entry.counts.failed += delta.failed;
	}

	/** Drops a run's counts: the next get counts it afresh. */
	forget(runId: number): void {
		this.#byRun.delete(runId);
	}

	move(runId: number, from: RequestState | undefined, to: RequestState, n: number): void {
		if (n === 0) return;
		const delta = emptyDelta();
		if (from !== undefined) delta[from] -= n;
		delta[to] += n;
		this.apply(runId, delta);
	}
}
