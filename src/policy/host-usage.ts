// A host's recent use, for its adaptive rate: acquires per second over the last few seconds
// (a ring of one-second buckets), and the rate they add up to. Pure.

/** Recent use is measured over at most this many one-second buckets... */
export const USAGE_WINDOW_S = 5;
/** ...and over as few as give this many requests. */
const OBSERVED_MIN_COUNT = 10;

export interface UsageWindow {
	firstAcquireAt: number;
	/** Acquires per second, ring indexed by the second (`usageSeconds` says which second each holds). */
	readonly usage: number[];
	readonly usageSeconds: number[];
}

export function recordUsage(entry: UsageWindow, now: number): void {
	if (entry.firstAcquireAt === -Infinity) entry.firstAcquireAt = now;
	const second = Math.floor(now / 1000);
	const slot = second % USAGE_WINDOW_S;
	if (entry.usageSeconds[slot] !== second) {
		entry.usageSeconds[slot] = second;
		entry.usage[slot] = 0;
	}
	entry.usage[slot]!++;
}

/**
 * Requests per second sent lately: over the current second and the ones before it, back to
 * the first that gives at least a second of span and OBSERVED_MIN_COUNT requests (at most
 * USAGE_WINDOW_S seconds). A short window: a longer average, taken while the rate was
 * climbing or after a pause, lies below the pace the host just refused.
 */
export function observedRate(entry: UsageWindow, now: number): number {
	const second = Math.floor(now / 1000);
	let count = 0;
	let spanMs = 0;
	for (let back = 0; back < USAGE_WINDOW_S; back++) {
		const slot = (second - back) % USAGE_WINDOW_S;
		if (entry.usageSeconds[slot] === second - back) count += entry.usage[slot]!;
		spanMs = Math.min(now - (second - back) * 1000, now - entry.firstAcquireAt);
		if (spanMs >= 1000 && count >= OBSERVED_MIN_COUNT) break;
	}
	return (count * 1000) / Math.max(1000, spanMs);
}
