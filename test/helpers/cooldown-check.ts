// "No request inside a 429 cooldown", from what the server saw: after a 429 with Retry-After: 1
// arrives at t, a client that honours it sends nothing that arrives before t + 1 s, except the
// requests it had already sent when the 429 came back — at most the host's cap minus one.
import type {DemoLogEntry} from '../../demo/site/index.js';

export interface CooldownBreach {
	readonly at429: number;
	readonly arrivals: readonly string[];
}

export interface CooldownCheckOptions {
	/** @default 1000 (Retry-After: 1) */
	readonly cooldownMs?: number;
	/**
	 * Arrivals this soon after the 429 are not counted: with several workers, those that have not
	 * read the cooldown from the store yet (one poll interval). @default 0
	 */
	readonly graceMs?: number;
	/** Spans (start, end ms since the epoch) whose arrivals are not counted, each said why by the caller. */
	readonly excluded?: ReadonlyArray<readonly [number, number]>;
}

/** Every 429 whose cooldown saw more arrivals than `inFlightAllowance` (requests already on the way). */
export function cooldownBreaches(log: readonly DemoLogEntry[], inFlightAllowance: number, options: CooldownCheckOptions = {}): CooldownBreach[] {
	// A few ms of slack for timer rounding; the bound stays far inside the 1 s cooldown.
	const windowMs = (options.cooldownMs ?? 1000) - 10;
	const graceMs = options.graceMs ?? 0;
	const isExcluded = (at: number) => (options.excluded ?? []).some(([start, end]) => at >= start && at < end);
	const breaches: CooldownBreach[] = [];
	for (const entry of log) {
		if (entry.status !== 429) continue;
		const inside = log.filter((other) => other !== entry && other.at >= entry.at + graceMs && other.at < entry.at + windowMs && !isExcluded(other.at));
		if (inside.length > inFlightAllowance) breaches.push({at429: entry.at, arrivals: inside.map((other) => `${other.at - entry.at}ms ${other.method} ${other.path} → ${other.status}`)});
	}
	return breaches;
}
