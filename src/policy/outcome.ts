// What the runner tells the policy about one request attempt: data only, computed by the runner
// (the policy never touches a response object, a cookie jar or a handler).

/** A fetch error (src/http/fetch.ts) or a handler error, reduced to what classification needs. */
export interface OutcomeError {
	/** `CrawljarError.code` (ERR_NETWORK, ERR_TIMEOUT, ERR_BODY_TOO_LARGE, …) or a handler error's code. */
	readonly code: string;
	/** The socket-level code fetch keeps on ERR_NETWORK/ERR_TIMEOUT (ECONNRESET, ECONNREFUSED, …). */
	readonly networkCode?: string;
	/** Set by a handler to force the decision: false is permanent, true is retried with backoff. */
	readonly retryable?: boolean;
}

export interface Outcome {
	/** The final URL, after redirects. */
	readonly url: string;
	readonly status?: number;
	readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
	/** Each URL redirected to, in order (the final URL last): a hop to `loginUrl` means logged out. */
	readonly redirects: readonly string[];
	/** The session's login page. Compared on origin + path, so `?next=…` does not hide it. */
	readonly loginUrl?: string;
	readonly error?: OutcomeError;
	/** The definition's `loggedOut` predicate, run by the runner on the page. */
	readonly isLoggedOutPage?: boolean;
	/** The response deleted the session's auth cookie. */
	readonly deletedAuthCookie?: boolean;
	/** The session was known good before this request (turns a 403 into a logout signal). */
	readonly sessionWasValid?: boolean;
	/** The definition's soft rate-limit predicate (a 200 "slow down" page). */
	readonly isRateLimitedPage?: boolean;
	/** False when the crawler has no login: logged-out signals are then plain failures. */
	readonly hasSession: boolean;
}

/** How often this request has already been retried, re-logged-in and rate-limited. */
export interface AttemptCounters {
	/** Transient-failure retries so far (0 on the first attempt). */
	readonly retryCount: number;
	readonly reloginCount: number;
	readonly rateLimitCount: number;
}

/** A thrown fetch error reduced to what the policy classifies on (its code and socket code). */
export function outcomeErrorOf(error: unknown): OutcomeError {
	const raw = error as {code?: unknown; networkCode?: unknown; name?: unknown} | undefined;
	const code = typeof raw?.code === 'string' ? raw.code : typeof raw?.name === 'string' ? raw.name : 'ERR_UNKNOWN';
	const networkCode = typeof raw?.networkCode === 'string' ? raw.networkCode : undefined;
	return {code, ...(networkCode ? {networkCode} : {})};
}
