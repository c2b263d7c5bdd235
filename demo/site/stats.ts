// What the server saw, for tests to assert on. Plain mutable counters: tests read them directly.

export interface DemoLogEntry {
	/** Arrival time, ms since the epoch. */
	readonly at: number;
	readonly method: string;
	/** Path and query. */
	readonly path: string;
	readonly hasCookie: boolean;
	readonly hasAuthorization: boolean;
	/** Filled in when the response ends; 0 if it never did (hang, reset, client abort). */
	status: number;
}

export interface DemoStats {
	requests: number;
	catalogue: number;
	category: number;
	search: number;
	book: number;
	loginPage: number;
	loginSuccess: number;
	/** Wrong username or password (the form comes back with an error). */
	loginFailure: number;
	/** Missing or stale CSRF token on POST /login (403). */
	csrfRejected: number;
	logout: number;
	sessionsCreated: number;
	sessionsExpired: number;
	/** Protected HTML pages answered per `logoutStyle` (missing, unknown or expired session). */
	loggedOut: number;
	/** Requests carrying a session cookie that is invalid and was replaced by a newer login of the same client. */
	staleCookieRequests: number;
	tokenLogin: number;
	tokenLoginFailure: number;
	tokenRefresh: number;
	/** A refresh token used a second time: rejected, and its whole token family revoked. */
	refreshReuseRejected: number;
	/** API calls with a valid bearer token. */
	apiRequests: number;
	/** API calls with an expired access token whose family had already been refreshed. */
	staleTokenRequests: number;
	sent401: number;
	sent429: number;
	/** Responses by status code (counted when a response ends). */
	statuses: Record<number, number>;
	/** The latest requests, oldest first (bounded: see `logLimit`). */
	log: DemoLogEntry[];
	logLimit: number;
}

export function createStats(logLimit = 20_000): DemoStats {
	return {
		requests: 0,
		catalogue: 0,
		category: 0,
		search: 0,
		book: 0,
		loginPage: 0,
		loginSuccess: 0,
		loginFailure: 0,
		csrfRejected: 0,
		logout: 0,
		sessionsCreated: 0,
		sessionsExpired: 0,
		loggedOut: 0,
		staleCookieRequests: 0,
		tokenLogin: 0,
		tokenLoginFailure: 0,
		tokenRefresh: 0,
		refreshReuseRejected: 0,
		apiRequests: 0,
		staleTokenRequests: 0,
		sent401: 0,
		sent429: 0,
		statuses: {},
		log: [],
		logLimit,
	};
}

/** Zero every counter in place (tests keep a reference to the same object). */
export function resetStats(stats: DemoStats): void {
	Object.assign(stats, createStats(stats.logLimit));
}

export function logRequest(stats: DemoStats, entry: DemoLogEntry): void {
	stats.requests++;
	stats.log.push(entry);
	// Trim in chunks: one splice per 10% overflow instead of a shift per request.
	if (stats.log.length > stats.logLimit * 1.1) stats.log.splice(0, stats.log.length - stats.logLimit);
}

export function countStatus(stats: DemoStats, status: number): void {
	stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
	if (status === 401) stats.sent401++;
	else if (status === 429) stats.sent429++;
}
