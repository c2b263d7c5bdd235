// The end-of-run summary: the record the runner fills in (and persists with the run), and its
// human rendering for the terminal.
import {formatBytes, formatCount, formatDuration, formatRate, toDisplayText} from './format.js';
import {formatTable} from './table.js';
import type {TopError} from './top-errors.js';

export {formatDuration} from './format.js';
export {formatTable} from './table.js';
export type {TableColumn} from './table.js';

export interface HostSummary {
	/** Every request sent, login requests included. */
	readonly requests: number;
	/** Login, refresh and custom-login requests among `requests`. */
	readonly loginRequests?: number;
	readonly bytes: number;
	/** Retries by cause: a status (`'429'`) or an error code (`'ERR_TIMEOUT'`). */
	readonly retries: Readonly<Record<string, number>>;
	readonly status401: number;
	readonly status429: number;
	/** Total time the host spent paused by cooldowns. */
	readonly cooldownMs: number;
	/** Configured request rate limit (requests/s), if any. */
	readonly rate?: number | undefined;
}

export interface SessionSummary {
	readonly requests: number;
	/** First logins this run (the session had no valid login). */
	readonly logins: number;
	/** Full logins again after a logout or a failed refresh. */
	readonly relogins: number;
	/** Token refreshes ahead of the expiry. */
	readonly refreshes?: number;
	/** Token refreshes after a 401 (instead of a re-login). */
	readonly refreshesAfterLogout?: number;
	readonly status401: number;
}

export interface RunSummary {
	readonly runId: number;
	readonly crawler: string;
	readonly state: 'finished' | 'stopped' | 'aborted';
	/** Epoch ms (like the store's RunRecord): when the run's first segment started. */
	readonly startedAt: number;
	/** Epoch ms. */
	readonly finishedAt: number;
	/** Time spent running, over every segment (the gaps between a stop and its resume are left out). */
	readonly durationMs: number;
	/**
	 * Segments of the run: this one plus each earlier one that ended with a summary (a stop, a
	 * finish, an abort; a kill -9 stores none). The counts below cover them all.
	 */
	readonly segments?: number | undefined;
	readonly requests: {readonly done: number; readonly failed: number; readonly retried: number};
	readonly items: number;
	/** Run-wide average (done / duration). */
	readonly pagesPerSecond: number;
	readonly topErrors: readonly TopError[];
	/** By host name. */
	readonly hosts?: Readonly<Record<string, HostSummary>> | undefined;
	/** By session id (never the credentials). */
	readonly sessions?: Readonly<Record<string, SessionSummary>> | undefined;
	readonly stoppedReason?: string | undefined;
	/** Ids of the workers whose segments the counts include (several may run one crawl at once). */
	readonly summedWorkers?: readonly string[] | undefined;
}

function timestamp(epochMs: number): string {
	const date = new Date(epochMs);
	return Number.isNaN(date.getTime()) ? '-' : date.toISOString();
}

function keyValues(pairs: ReadonlyArray<readonly [string, string]>): string[] {
	const width = Math.max(...pairs.map(([key]) => key.length));
	return pairs.map(([key, value]) => `  ${key.padEnd(width)}  ${value}`);
}

function indent(table: string): string[] {
	return table.split('\n').map((line) => `  ${line}`);
}

function retriesCell(retries: Readonly<Record<string, number>>): string {
	const causes = Object.entries(retries).filter(([, count]) => count > 0);
	if (causes.length === 0) return '0';
	const total = causes.reduce((sum, [, count]) => sum + count, 0);
	return `${formatCount(total)} (${causes.map(([cause, count]) => `${cause}:${formatCount(count)}`).join(' ')})`;
}

const count = (value: unknown): string => (typeof value === 'number' ? formatCount(value) : '');

function hostTable(hosts: Readonly<Record<string, HostSummary>>): string {
	const rows = Object.entries(hosts).map(([host, stats]) => ({host, ...stats}));
	const hasLogins = rows.some((row) => (row.loginRequests ?? 0) > 0);
	return formatTable(rows, [
		{key: 'host', header: 'HOST'},
		{key: 'requests', header: 'REQUESTS', format: count},
		...(hasLogins ? [{key: 'loginRequests' as const, header: 'LOGIN REQUESTS', format: count}] : []),
		{key: 'bytes', header: 'BYTES', align: 'right', format: (value) => formatBytes(Number(value))},
		{key: 'retries', header: 'RETRIES', format: (value) => retriesCell(value as HostSummary['retries'])},
		{key: 'status401', header: '401', format: count},
		{key: 'status429', header: '429', format: count},
		{key: 'cooldownMs', header: 'COOLDOWN', align: 'right', format: (value) => formatDuration(Number(value))},
		{key: 'rate', header: 'RATE', align: 'right', format: (value) => (typeof value === 'number' ? `${formatRate(value)}/s` : '-')},
	]);
}

function sessionTable(sessions: Readonly<Record<string, SessionSummary>>): string {
	const rows = Object.entries(sessions).map(([session, stats]) => ({session, ...stats}));
	// Refresh columns only for crawlers that refresh tokens: a form login never does.
	const hasRefreshes = rows.some((row) => (row.refreshes ?? 0) + (row.refreshesAfterLogout ?? 0) > 0);
	return formatTable(rows, [
		{key: 'session', header: 'SESSION'},
		{key: 'requests', header: 'REQUESTS', format: count},
		{key: 'logins', header: 'LOGINS', format: count},
		{key: 'relogins', header: 'RELOGINS', format: count},
		...(hasRefreshes
			? [
					{key: 'refreshes' as const, header: 'REFRESHES', format: count},
					{key: 'refreshesAfterLogout' as const, header: 'REFRESHES AFTER 401', format: count},
				]
			: []),
		{key: 'status401', header: '401', format: count},
	]);
}

/** A multi-line summary for the terminal (no trailing newline). Sections without data are left out. */
export function formatSummary(summary: RunSummary): string {
	const {requests} = summary;
	const pairs: Array<readonly [string, string]> = [
		['started', timestamp(summary.startedAt)],
		['finished', timestamp(summary.finishedAt)],
		['duration', `${formatDuration(summary.durationMs)}${(summary.segments ?? 1) > 1 ? ` (${summary.segments} segments: resumed ${summary.segments! - 1}×)` : ''}`],
		['requests', `${formatCount(requests.done)} done, ${formatCount(requests.failed)} failed, ${formatCount(requests.retried)} retried`],
		['items', formatCount(summary.items)],
		['rate', `${formatRate(summary.pagesPerSecond)} pages/s`],
	];
	if (summary.stoppedReason !== undefined) pairs.push(['reason', toDisplayText(summary.stoppedReason)]);
	const lines = [`Run ${summary.runId} of ${toDisplayText(summary.crawler)} ${summary.state}`, ...keyValues(pairs)];

	if (summary.topErrors.length > 0) {
		const rows = summary.topErrors.map((error) => ({...error}));
		const table = formatTable(rows, [
			{key: 'code', header: 'CODE'},
			{key: 'count', header: 'COUNT', format: count},
			{key: 'example', header: 'EXAMPLE'},
		]);
		lines.push('', 'Top errors', ...indent(table));
	}
	if (summary.hosts !== undefined && Object.keys(summary.hosts).length > 0) {
		lines.push('', 'Hosts', ...indent(hostTable(summary.hosts)));
	}
	if (summary.sessions !== undefined && Object.keys(summary.sessions).length > 0) {
		lines.push('', 'Sessions', ...indent(sessionTable(summary.sessions)));
	}
	return lines.join('\n');
}
