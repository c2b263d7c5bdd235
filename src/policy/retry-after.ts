// Retry-After (RFC 9110 §10.2.3): delta-seconds or an HTTP-date, in any of its three forms.
// Date.parse is not used alone: V8 accepts strings like "hello 1" and reads asctime as local time.

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY = '(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/** Sun, 06 Nov 1994 08:49:37 GMT */
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{1,2}) ([a-z]{3}) (\\d{4}) ${TIME} gmt$`, 'i');
/** Sunday, 06-Nov-94 08:49:37 GMT */
const RFC_850 = new RegExp(`^${DAY}, (\\d{1,2})-([a-z]{3})-(\\d{2}) ${TIME} gmt$`, 'i');
/** Sun Nov  6 08:49:37 1994 (always GMT) */
const ASCTIME = new RegExp(`^${DAY} ([a-z]{3}) +(\\d{1,2}) ${TIME} (\\d{4})$`, 'i');

/**
 * Milliseconds to wait from `now`, or undefined when the header is missing or unreadable.
 * Negative seconds and dates in the past give 0.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
	if (value === undefined) return undefined;
	const text = value.trim();
	if (/^-?\d+(?:\.\d+)?$/.test(text)) {
		const ms = Math.max(0, Math.round(Number(text) * 1000));
		return Number.isFinite(ms) ? ms : undefined;
	}
	const at = parseHttpDate(text, now);
	return at === undefined ? undefined : Math.max(0, at - now);
}

function parseHttpDate(text: string, now: number): number | undefined {
	let match = IMF_FIXDATE.exec(text);
	if (match) return utc(match[3]!, match[2]!, match[1]!, match[4]!, match[5]!, match[6]!);
	match = RFC_850.exec(text);
	if (match) return utc(fullYear(Number(match[3]), now), match[2]!, match[1]!, match[4]!, match[5]!, match[6]!);
	match = ASCTIME.exec(text);
	if (match) return utc(match[6]!, match[1]!, match[2]!, match[3]!, match[4]!, match[5]!);
	return undefined;
}

function utc(year: string | number, month: string, day: string, hours: string, minutes: string, seconds: string): number | undefined {
	const monthIndex = MONTHS.indexOf(month.toLowerCase());
	if (monthIndex < 0) return undefined;
	const fields = [Number(day), Number(hours), Number(minutes), Number(seconds)] as const;
	if (fields[0] < 1 || fields[0] > 31 || fields[1] > 23 || fields[2] > 59 || fields[3] > 60) return undefined;
	return Date.UTC(Number(year), monthIndex, ...fields);
}

/** RFC 9110: a two-digit year more than 50 years ahead is in the previous century. */
function fullYear(twoDigits: number, now: number): number {
	const current = new Date(now).getUTCFullYear();
	let year = Math.floor(current / 100) * 100 + twoDigits;
	if (year > current + 50) year -= 100;
	return year;
}

/**
 * When a rate-limited answer has no Retry-After, the wait many APIs give in their rate-limit
 * headers: `RateLimit: …;t=30` and `RateLimit-Reset: 30` (IETF draft: seconds from now), or
 * `X-RateLimit-Reset` (GitHub, Twitter…: an epoch in seconds when it is that large, else seconds
 * from now). Undefined when none is readable.
 */
export function parseRateLimitReset(header: (name: string) => string | undefined, now: number): number | undefined {
	const structured = /(?:^|[;,\s])t=(\d+)/.exec(header('ratelimit') ?? '');
	if (structured) return Number(structured[1]) * 1000;
	for (const name of ['ratelimit-reset', 'x-ratelimit-reset']) {
		const text = header(name)?.trim();
		if (!text || !/^\d+(?:\.\d+)?$/.test(text)) continue;
		const value = Number(text);
		// 10^9 seconds is 2001: a number that large is a point in time, not a wait.
		if (value >= 1e9) return Math.max(0, Math.round(value * 1000 - now));
		return Math.round(value * 1000);
	}
	return undefined;
}
