// Turns the runner's counters into the progress snapshot and the stored run summary.
import type {ProgressSnapshot} from '../output/progress.js';
import type {HostSummary, RunSummary, SessionSummary} from '../output/summary.js';
import type {ErrorTally} from '../output/top-errors.js';
import type {HostThrottle} from '../policy/host-throttle.js';
import type {SessionPool} from '../sessions/session-pool.js';
import type {FrontierCounts} from '../store/store.js';
import type {EngineEnd} from './engine.js';
import {addHosts, addSessions, addTopErrors, type EarlierSegments} from './earlier-segments.js';
import type {RunStats} from './run-stats.js';

export type {ProgressSnapshot};

export interface SummaryInput {
	readonly runId: number;
	readonly crawler: string;
	readonly end: EngineEnd;
	readonly counts: FrontierCounts;
	readonly items: number;
	readonly stats: RunStats;
	readonly errors: ErrorTally;
	readonly throttle: HostThrottle;
	readonly pool: SessionPool;
	/** `pool.list()` when the run started: the summary counts this run's logins, not all time. */
	readonly sessionsAtStart: ReturnType<SessionPool['list']>;
	readonly now: number;
	/** When the run (its first segment) started. */
	readonly runStartedAt: number;
	/** What the earlier segments of a resumed run counted: the summary covers the whole run. */
	readonly earlier: EarlierSegments;
}

export function buildSummary(input: SummaryInput): RunSummary {
	const {stats, throttle, earlier} = input;
	const durationMs = earlier.durationMs + Math.max(1, input.now - stats.startedAt);
	const hosts: Record<string, HostSummary> = {};
	for (const [host, hostStats] of stats.hosts) {
		const throttleStats = throttle.stats(host);
		hosts[host] = {
			requests: hostStats.requests,
			...(hostStats.loginRequests > 0 ? {loginRequests: hostStats.loginRequests} : {}),
			bytes: hostStats.bytes,
			retries: hostStats.retries,
			status401: hostStats.status401,
			status429: hostStats.status429,
			cooldownMs: throttleStats.cooldownMs,
			rate: throttleStats.rateLimit,
		};
	}
	const sessions: Record<string, SessionSummary> = {};
	// The anonymous session of a crawler without login is an implementation detail: not shown.
	for (const session of input.pool.list().filter((entry) => entry.id !== 'anonymous')) {
		const before = input.sessionsAtStart.find((entry) => entry.id === session.id);
		// This run's counts: what the session had when the run started is not this run's.
		const since = (pick: (entry: typeof session) => number) => pick(session) - (before ? pick(before) : 0);
		const relogins = since((entry) => entry.relogins);
		const refreshes = since((entry) => entry.refreshes);
		const refreshesAfterLogout = since((entry) => entry.refreshesAfterLogout);
		sessions[session.id] = {
			requests: since((entry) => entry.requests),
			logins: since((entry) => entry.logins) - relogins,
			relogins,
			refreshes: refreshes - refreshesAfterLogout,
			refreshesAfterLogout,
			status401: since((entry) => entry.unauthorized),
		};
	}
	const requestsSent = earlier.requestsSent + stats.requestsSent;
	const allSessions = addSessions(earlier.sessions, sessions);
	return {
		runId: input.runId,
		crawler: input.crawler,
		state: input.end.state,
		startedAt: input.runStartedAt,
		finishedAt: input.now,
		durationMs,
		segments: earlier.segments + 1,
		// Done and failed are the store's counts: the whole run's, whatever each segment did.
		requests: {done: input.counts.done, failed: input.counts.failed, retried: earlier.retried + stats.retried},
		items: input.items,
		pagesPerSecond: (requestsSent * 1000) / durationMs,
		topErrors: addTopErrors(earlier.topErrors, input.errors.top(Infinity)),
		hosts: addHosts(earlier.hosts, hosts),
		...(Object.keys(allSessions).length ? {sessions: allSessions} : {}),
		// An abort names its code (NO_USABLE_SESSION, ERR_STORAGE): what a user searches the docs for.
		...(input.end.state === 'finished' ? {} : {stoppedReason: input.end.state === 'aborted' ? `${input.end.code}: ${input.end.reason}` : input.end.reason}),
	};
}

/** Ready / logging in / disabled, for the progress line. */
export function sessionStateCounts(pool: SessionPool): {ready: number; loggingIn: number; disabled: number} {
	const counts = {ready: 0, loggingIn: 0, disabled: 0};
	for (const session of pool.list()) {
		if (session.state === 'disabled') counts.disabled++;
		else if (session.state === 'logging-in') counts.loggingIn++;
		else counts.ready++;
	}
	return counts;
}
