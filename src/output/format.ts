// Number, duration and byte formatting shared by the progress line, the summary and tables.

const countFormat = new Intl.NumberFormat('en-US', {maximumFractionDigits: 0});
const rateFormat = new Intl.NumberFormat('en-US', {minimumFractionDigits: 1, maximumFractionDigits: 1});

/** `1234567` → `1,234,567`. */
export function formatCount(value: number): string {
	return countFormat.format(value);
}

/** `41.234` → `41.2`, `1234.5` → `1,234.5`; NaN and infinities (no sample yet) → `0.0`. */
export function formatRate(perSecond: number): string {
	return rateFormat.format(Number.isFinite(perSecond) ? perSecond : 0);
}

function pad2(value: number): string {
	return String(value).padStart(2, '0');
}

/**
 * Human duration: `350ms`, `4.2s`, `2m 03s`, `1h 02m 03s` (hours keep counting past a day, so
 * columns of durations stay comparable). Negative or non-finite input reads as `0ms`.
 */
export function formatDuration(ms: number): string {
	const safe = Number.isFinite(ms) && ms > 0 ? ms : 0;
	if (safe < 1000) return `${Math.round(safe)}ms`;
	if (safe < 60_000) {
		// Round before choosing the unit so 59,960 ms reads `1m 00s`, never `60.0s`.
		const tenths = Math.round(safe / 100);
		if (tenths < 600) return `${(tenths / 10).toFixed(1)}s`;
	}
	const totalSeconds = Math.round(safe / 1000);
	const hours = Math.floor(totalSeconds / 3600);
	const minutes = Math.floor((totalSeconds % 3600) / 60);
	const seconds = totalSeconds % 60;
	if (hours === 0) return `${minutes}m ${pad2(seconds)}s`;
	return `${hours}h ${pad2(minutes)}m ${pad2(seconds)}s`;
}

/** Wall-clock style elapsed time for the live status line: `00:01:12`. */
export function formatClock(ms: number): string {
	const totalSeconds = Math.floor(Number.isFinite(ms) && ms > 0 ? ms / 1000 : 0);
	const hours = Math.floor(totalSeconds / 3600);
	return `${pad2(hours)}:${pad2(Math.floor((totalSeconds % 3600) / 60))}:${pad2(totalSeconds % 60)}`;
}

const byteUnits = ['KiB', 'MiB', 'GiB', 'TiB'];

/** `512` → `512 B`, `1536` → `1.5 KiB`. */
export function formatBytes(bytes: number): string {
	if (!Number.isFinite(bytes) || bytes < 1024) return `${Number.isFinite(bytes) ? Math.max(0, Math.round(bytes)) : 0} B`;
	let value = bytes;
	let unit = -1;
	while (value >= 1024 && unit < byteUnits.length - 1) {
		value /= 1024;
		unit++;
	}
	return `${value.toFixed(1)} ${byteUnits[unit]}`;
}

// Scraped text reaches the terminal through tables (`failed` prints error messages and URLs):
// an escape sequence in it could rewrite the screen, a newline would break the row.
const controlCharacters = /[\u0000-\u001f\u007f-\u009f]/g;

/** Makes text safe for one terminal line: control characters become visible `\xNN` escapes. */
export function toDisplayText(text: string): string {
	return text.replace(controlCharacters, (character) => {
		if (character === '\t') return ' ';
		if (character === '\n') return '\\n';
		if (character === '\r') return '\\r';
		return `\\x${character.charCodeAt(0).toString(16).padStart(2, '0')}`;
	});
}
