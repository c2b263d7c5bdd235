// Three settings bound how many requests are in flight: `concurrency` (in total),
// `hosts.maxConcurrency` (per host) and `sessions.maxConcurrency` (per session, with a login).
// Their defaults (10, 4, 4) are ceilings, not promises: a default crawl of one host with one
// session runs 4 at once, and says nothing about it. Only a value the user set that the other
// caps make unreachable earns a note, and one note says it all (never one per cap or session).

export interface ConcurrencyCaps {
	readonly concurrency: number;
	readonly concurrencySet: boolean;
	/** One host to crawl (the start URLs' hosts, with no per-host overrides): the per-host cap binds. */
	readonly singleHost: boolean;
	readonly perHost: number;
	readonly perHostSet: boolean;
	/** Sessions in the pool with a login step; undefined without one (the anonymous session is not capped). */
	readonly sessions: number | undefined;
	readonly perSession: number;
	readonly perSessionSet: boolean;
}

/** The one note to print, or undefined when every value the user set can be reached. */
export function concurrencyNote(caps: ConcurrencyCaps): string | undefined {
	const hostCap = caps.singleHost ? caps.perHost : Infinity;
	const sessionCap = caps.sessions === undefined ? Infinity : caps.sessions * caps.perSession;
	const effective = Math.min(caps.concurrency, hostCap, sessionCap);
	const unreachable: string[] = [];
	if (caps.concurrencySet && caps.concurrency > effective) unreachable.push(`concurrency ${caps.concurrency}`);
	if (caps.perHostSet && caps.singleHost && caps.perHost > Math.min(caps.concurrency, sessionCap)) {
		unreachable.push(`hosts.maxConcurrency ${caps.perHost}`);
	}
	if (caps.perSessionSet && caps.sessions !== undefined && caps.perSession > Math.min(caps.concurrency, hostCap)) {
		unreachable.push(`sessions.maxConcurrency ${caps.perSession}`);
	}
	if (unreachable.length === 0) return undefined;
	const limits = [`concurrency ${caps.concurrency}`];
	if (hostCap !== Infinity) limits.push(`${caps.perHost} per host (hosts.maxConcurrency) on the one host crawled`);
	if (sessionCap !== Infinity) limits.push(`${caps.sessions} session(s) × ${caps.perSession} (sessions.maxConcurrency)`);
	return `note: ${unreachable.join(' and ')} cannot be reached: at most ${effective} requests in flight (${limits.join(', ')})`;
}
