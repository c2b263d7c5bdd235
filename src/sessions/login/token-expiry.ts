// Reading tokens out of a login response: dot paths, and when the access token expires.

/** `data.access_token` → body.data.access_token; `items.0.id` indexes arrays. */
export function readPath(body: unknown, path: string): unknown {
	let value: unknown = body;
	for (const key of path.split('.')) {
		if (value === null || typeof value !== 'object') return undefined;
		value = (value as Record<string, unknown>)[key];
	}
	return value;
}

// Above these, a number cannot be a lifetime (10^9 s is 31 years): it is a point in time.
const EPOCH_MS_FLOOR = 1e12;
const EPOCH_S_FLOOR = 1e9;

/**
 * When the access token expires (epoch ms), from the `expiresIn` value read from the response:
 * - a number (or numeric string) ≥ 10^12 is an epoch in milliseconds, ≥ 10^9 an epoch in seconds;
 * - a smaller number is a lifetime in `unit` (seconds by default, as OAuth's `expires_in`);
 * - an ISO date string is the moment itself;
 * - nothing usable: the JWT `exp` claim when the access token is a JWT, else undefined
 *   (no expiry known: only a 401 triggers a refresh).
 */
export function resolveExpiresAt(raw: unknown, accessToken: string, now: number, unit: 's' | 'ms' = 's'): number | undefined {
	const number = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : undefined;
	if (number !== undefined && Number.isFinite(number) && number > 0) {
		if (number >= EPOCH_MS_FLOOR) return number;
		if (number >= EPOCH_S_FLOOR) return number * 1000;
		return now + (unit === 'ms' ? number : number * 1000);
	}
	if (typeof raw === 'string') {
		const date = Date.parse(raw);
		if (Number.isFinite(date)) return date;
	}
	return jwtExpiresAt(accessToken);
}

/** The `exp` claim (seconds) of a JWT, as epoch ms; undefined when it is not a JWT or has none. */
export function jwtExpiresAt(token: string): number | undefined {
	const parts = token.split('.');
	if (parts.length !== 3 || !parts[1]) return undefined;
	try {
		const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as {exp?: unknown};
		return typeof payload.exp === 'number' && Number.isFinite(payload.exp) ? payload.exp * 1000 : undefined;
	} catch {
		return undefined;
	}
}

/** How far a configured lifetime may stray from the JWT's own `exp` before `exp` wins. */
const MAX_DISAGREEMENT = 2;

export interface ReconciledExpiry {
	readonly expiresAt: number | undefined;
	/** Set when the JWT `exp` replaced the value read from the response (warn about it once). */
	readonly overridden?: {readonly readMs: number; readonly jwtMs: number};
}

/**
 * The expiry to use: the one read from the response, unless the access token is a JWT whose
 * `exp` disagrees with it by more than 2× (a lifetime in ms read as seconds, or the reverse):
 * the token's own claim is what the server will enforce.
 */
export function reconcileWithJwt(expiresAt: number | undefined, accessToken: string, now: number): ReconciledExpiry {
	const jwtAt = jwtExpiresAt(accessToken);
	if (expiresAt === undefined || jwtAt === undefined) return {expiresAt: expiresAt ?? jwtAt};
	const readMs = expiresAt - now;
	const jwtMs = jwtAt - now;
	// An expired exp says more about the clocks than about the lifetime: keep what was read.
	if (jwtMs <= 0) return {expiresAt};
	const ratio = readMs <= 0 ? Infinity : Math.max(readMs, jwtMs) / Math.min(readMs, jwtMs);
	return ratio > MAX_DISAGREEMENT ? {expiresAt: jwtAt, overridden: {readMs, jwtMs}} : {expiresAt};
}
