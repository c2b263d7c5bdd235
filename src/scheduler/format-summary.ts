// The short summary on a scheduler's `finish` line. The run result is read defensively: the
// scheduler only knows it is RunSummary-like, and a missing field is left out, never guessed.

export function formatRunSummary(summary: unknown, measuredMs: number): string {
	const record = isRecord(summary) ? summary : {};
	const durationMs = typeof record['durationMs'] === 'number' ? record['durationMs'] : measuredMs;
	const parts: string[] = [];
	const requests = isRecord(record['requests']) ? record['requests'] : {};
	if (typeof requests['done'] === 'number') parts.push(`${requests['done']} requests done`);
	if (typeof requests['failed'] === 'number') parts.push(`${requests['failed']} failed`);
	if (typeof record['items'] === 'number') parts.push(`${record['items']} items`);
	const duration = `in ${formatDuration(durationMs)}`;
	return parts.length === 0 ? duration : `${duration}: ${parts.join(', ')}`;
}

export function formatDuration(ms: number): string {
	if (ms < 1000) return `${Math.round(ms)}ms`;
	if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
	const minutes = Math.floor(ms / 60_000);
	const seconds = Math.round((ms % 60_000) / 1000);
	return minutes < 60 ? `${minutes}m${seconds}s` : `${Math.floor(minutes / 60)}h${minutes % 60}m`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null;
}
