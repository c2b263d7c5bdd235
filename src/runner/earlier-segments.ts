// A run can take several processes to finish (stopped, killed, resumed): each is a segment. The
// summary stored when a segment ends already covers every segment before it, so the next one
// adds its own counters to it and the run's summary covers the whole run. Frontier counts and
// items are not carried: the store counts those for the whole run anyway. A segment killed with
// kill -9 stores no summary: its traffic counters (requests per host, retries) are lost, never
// its results.
import type {HostSummary, RunSummary, SessionSummary} from '../output/summary.js';
import type {TopError} from '../output/top-errors.js';

export interface EarlierSegments {
	/** Segments that ended with a summary. */
	readonly segments: number;
	/** Time spent running (the gaps between segments are not counted). */
	readonly durationMs: number;
	/** Page requests sent (the sum of the hosts' requests). */
	readonly requestsSent: number;
	readonly retried: number;
	readonly topErrors: readonly TopError[];
	readonly hosts: Readonly<Record<string, HostSummary>>;
	readonly sessions: Readonly<Record<string, SessionSummary>>;
}

export const NO_EARLIER_SEGMENTS: EarlierSegments = {segments: 0, durationMs: 0, requestsSent: 0, retried: 0, topErrors: [], hosts: {}, sessions: {}};

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const numberOf = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0);

/**
 * What the stored summary of run `runId` says about its earlier segments. The summary is data
 * from disk (maybe written by an older version): anything missing or malformed counts as zero.
 */
export function earlierSegments(stored: unknown, runId: number): EarlierSegments {
	if (!isRecord(stored) || stored.runId !== runId || !isRecord(stored.requests)) return NO_EARLIER_SEGMENTS;
	const hosts: Record<string, HostSummary> = {};
	for (const [host, value] of Object.entries(isRecord(stored.hosts) ? stored.hosts : {})) {
		if (!isRecord(value)) continue;
		const retries: Record<string, number> = {};
		for (const [cause, count] of Object.entries(isRecord(value.retries) ? value.retries : {})) retries[cause] = numberOf(count);
		hosts[host] = {
			requests: numberOf(value.requests),
			bytes: numberOf(value.bytes),
			retries,
			status401: numberOf(value.status401),
			status429: numberOf(value.status429),
			cooldownMs: numberOf(value.cooldownMs),
			rate: typeof value.rate === 'number' ? value.rate : undefined,
		};
	}
	const sessions: Record<string, SessionSummary> = {};
	for (const [id, value] of Object.entries(isRecord(stored.sessions) ? stored.sessions : {})) {
		if (!isRecord(value)) continue;
		sessions[id] = {requests: numberOf(value.requests), logins: numberOf(value.logins), relogins: numberOf(value.relogins), status401: numberOf(value.status401)};
	}
	const topErrors = (Array.isArray(stored.topErrors) ? stored.topErrors : []).flatMap((entry: unknown) =>
		isRecord(entry) && typeof entry.code === 'string' ? [{code: entry.code, count: numberOf(entry.count), example: typeof entry.example === 'string' ? entry.example : ''}] : [],
	);
	return {
		segments: typeof stored.segments === 'number' ? numberOf(stored.segments) : 1,
		durationMs: numberOf(stored.durationMs),
		requestsSent: Object.values(hosts).reduce((sum, host) => sum + host.requests, 0),
		retried: numberOf(stored.requests.retried),
		topErrors,
		hosts,
		sessions,
	};
}

/** Earlier segments' hosts plus this segment's, host by host. */
export function addHosts(earlier: Readonly<Record<string, HostSummary>>, current: Readonly<Record<string, HostSummary>>): Record<string, HostSummary> {
	const hosts: Record<string, HostSummary> = {...earlier};
	for (const [host, now] of Object.entries(current)) {
		const before = earlier[host];
		if (!before) {
			hosts[host] = now;
			continue;
		}
		const retries: Record<string, number> = {...before.retries};
		for (const [cause, count] of Object.entries(now.retries)) retries[cause] = (retries[cause] ?? 0) + count;
		hosts[host] = {
			requests: before.requests + now.requests,
			bytes: before.bytes + now.bytes,
			retries,
			status401: before.status401 + now.status401,
			status429: before.status429 + now.status429,
			cooldownMs: before.cooldownMs + now.cooldownMs,
			// The rate in force now (configured or learned), not a sum.
			rate: now.rate,
		};
	}
	return hosts;
}

export function addSessions(
	earlier: Readonly<Record<string, SessionSummary>>,
	current: Readonly<Record<string, SessionSummary>>,
): Record<string, SessionSummary> {
	const sessions: Record<string, SessionSummary> = {...earlier};
	for (const [id, now] of Object.entries(current)) {
		const before = earlier[id];
		sessions[id] = before
			? {requests: before.requests + now.requests, logins: before.logins + now.logins, relogins: before.relogins + now.relogins, status401: before.status401 + now.status401}
			: now;
	}
	return sessions;
}

/** The `n` most frequent codes over both lists (counts added; the earlier example kept). */
export function addTopErrors(earlier: readonly TopError[], current: readonly TopError[], n = 5): TopError[] {
	const byCode = new Map<string, TopError>();
	for (const error of [...earlier, ...current]) {
		const before = byCode.get(error.code);
		byCode.set(error.code, before ? {...before, count: before.count + error.count} : error);
	}
	return [...byCode.values()].sort((a, b) => b.count - a.count).slice(0, n);
}

export type {RunSummary};

/** Two parts of a run added up (the duration is the caller's: segments of workers overlap). */
function addSegments(a: EarlierSegments, b: EarlierSegments): EarlierSegments {
	return {
		segments: a.segments + b.segments,
		durationMs: a.durationMs + b.durationMs,
		requestsSent: a.requestsSent + b.requestsSent,
		retried: a.retried + b.retried,
		topErrors: addTopErrors(a.topErrors, b.topErrors),
		hosts: addHosts(a.hosts, b.hosts),
		sessions: addSessions(a.sessions, b.sessions),
	};
}

/** The workers whose segments a stored run summary already counts (see withOtherWorkers). */
export function summedWorkers(stored: unknown): string[] {
	const ids = isRecord(stored) ? stored.summedWorkers : undefined;
	return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
}

/** Total length of the union of [start, end] intervals: time during which at least one worker ran. */
function coveredMs(intervals: readonly (readonly [number, number])[]): number {
	let total = 0;
	let reach = -Infinity;
	for (const [start, end] of [...intervals].sort((x, y) => x[0] - y[0])) {
		if (end <= reach) continue;
		total += end - Math.max(start, reach);
		reach = end;
	}
	return total;
}

export interface WorkerSegment {
	readonly id: string;
	readonly startedAt: number;
	readonly leftAt: number | undefined;
	readonly segment: unknown;
}

/**
 * The earlier part of a run as this worker ends: the stored run summary (which names the workers
 * it counts) plus the segments of the workers that left since and are not counted yet. Workers
 * run at once, so the duration added is the time during which any of them ran, this one included
 * (`mine`: when this worker started, and now), minus this worker's own time (buildSummary adds it).
 */
export function withOtherWorkers(earlier: EarlierSegments, stored: unknown, workers: readonly WorkerSegment[], mine: {readonly id: string; readonly startedAt: number; readonly now: number}, runId: number): {earlier: EarlierSegments; summedWorkers: string[]} {
	const counted = summedWorkers(stored);
	const added = workers.filter((worker) => worker.id !== mine.id && worker.leftAt !== undefined && worker.segment !== undefined && !counted.includes(worker.id));
	let total = earlier;
	for (const worker of added) total = addSegments(total, {...earlierSegments(worker.segment, runId), durationMs: 0});
	const intervals = [...added.map((worker) => [worker.startedAt, worker.leftAt!] as const), [mine.startedAt, mine.now] as const];
	const durationMs = earlier.durationMs + coveredMs(intervals) - (mine.now - mine.startedAt);
	return {earlier: {...total, durationMs}, summedWorkers: [...counted, ...added.map((worker) => worker.id), mine.id]};
}
