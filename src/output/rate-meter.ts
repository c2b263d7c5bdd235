// A recent-window rate (pages/s over the last ~10 s) for the progress line: the run-wide average
// hides a stall behind an hour of good throughput. Counts live in fixed time buckets, so memory
// stays constant however fast marks arrive.

export interface RateMeter {
	/** Records `count` events (default 1) at the current time. */
	mark(count?: number): void;
	/** Events per second over the window, or over the meter's lifetime while that is shorter. */
	perSecond(): number;
}

const bucketsPerWindow = 20;

/**
 * @param windowMs width of the window. @default 10_000
 * @param now clock (injectable for tests). @default Date.now
 */
export function createRateMeter(windowMs = 10_000, now: () => number = Date.now): RateMeter {
	const bucketMs = Math.max(1, windowMs / bucketsPerWindow);
	const createdAt = now();
	// Bucket index → count, oldest first (Map keeps insertion order).
	const buckets = new Map<number, number>();

	const prune = (currentBucket: number): void => {
		for (const bucket of buckets.keys()) {
			if (bucket > currentBucket - bucketsPerWindow) break;
			buckets.delete(bucket);
		}
	};

	return {
		mark(count = 1) {
			const bucket = Math.floor(now() / bucketMs);
			prune(bucket);
			buckets.set(bucket, (buckets.get(bucket) ?? 0) + count);
		},
		perSecond() {
			const time = now();
			const bucket = Math.floor(time / bucketMs);
			prune(bucket);
			let total = 0;
			for (const count of buckets.values()) total += count;
			// The window starts at the oldest bucket it still covers, or at creation if that is later.
			const windowStart = Math.max(createdAt, (bucket - bucketsPerWindow + 1) * bucketMs);
			// At least one second, so the first marks do not read as thousands per second.
			const spanMs = Math.max(time - windowStart, 1000);
			return (total * 1000) / spanMs;
		},
	};
}
