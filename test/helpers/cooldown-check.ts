// "No request inside a 429 cooldown", from what the server saw: after a 429 with Retry-After: 1
// arrives at t, a client that honours it sends nothing that arrives before t + 1 s, except the
// requests it had already sent when the 429 came back — at most the host's cap minus one.
import type {DemoLogEntry} from '../../demo/site/index.js';

export interface CooldownBreach {
	readonly at429: number;
	readonly arrivals: readonly string[];
}

/** Every 429 whose cooldown saw more arrivals than `inFlightAllowance` (requests already on the way). */
export function cooldownBreaches(log: readonly DemoLogEntry[], inFlightAllowance: number, cooldownMs = 1000): CooldownBreach[] {
	// A few ms of slack for timer rounding; the bound stays far inside the 1 s cooldown.
	const windowMs = cooldownMs - 10;
	const breaches: CooldownBreach[] = [];
	for (const entry of log) {
		if (entry.status !== 429) continue;
		const inside = log.filter((other) => other !== entry && other.at >= entry.at && other.at < entry.at + windowMs);
		if (inside.length > inFlightAllowance) breaches.push({at429: entry.at, arrivals: inside.map((other) => `${other.at - entry.at}ms ${other.method} ${other.path} → ${other.status}`)});
	}
	return breaches;
}
