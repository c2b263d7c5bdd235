// One base error with stable codes (got's RequestError is the model). Messages never carry
// secrets: URLs go through redactUrl, and no error embeds a header, cookie or body.

export type ErrorCode =
	| 'ERR_DEFINITION'
	| 'ERR_USAGE'
	| 'ERR_STORAGE'
	| 'ERR_LOCKED'
	| 'ERR_HANDLER'
	| 'ERR_NO_ROUTE'
	| 'ERR_HANDLER_TIMEOUT'
	| 'ERR_THREAD_SESSION'
	| 'ERR_NOT_HTML'
	| 'ERR_NOT_JSON'
	| 'ERR_BODY_TOO_LARGE'
	| 'ERR_TOO_MANY_REDIRECTS'
	| 'ERR_REDIRECT_LOOP'
	| 'ERR_HTTP_STATUS'
	| 'ERR_TIMEOUT'
	| 'ERR_NETWORK'
	| 'ERR_INSECURE_CREDENTIALS'
	| 'ERR_RATE_LIMITED'
	| 'ERR_LOGGED_OUT'
	| 'LOGIN_FAILED'
	| 'NO_USABLE_SESSION'
	| 'ERR_CRYPTO'
	| 'ERR_SCHEDULE'
	/** The crawler needs a browser (browserLogin, a browser route) and none can be launched. */
	| 'ERR_NO_BROWSER'
	/** A browser step (a login step, a browser route's page) failed or timed out. */
	| 'ERR_BROWSER'
	/** In flight at two resumes in a row: it probably killed the process (store.ts CRASHES_BEFORE_FAILING). */
	| 'ERR_CRASHED_WORKER';

export class CrawljarError extends Error {
	override name = 'CrawljarError';
	readonly code: ErrorCode;

	constructor(code: ErrorCode, message: string, options?: {cause?: unknown}) {
		super(message, options);
		this.code = code;
	}
}

export function isCrawljarError(error: unknown): error is CrawljarError {
	return error instanceof CrawljarError;
}

/**
 * Query parameter names that carry credentials: token, access_token, api_key, apikey, key,
 * secret, password, pass, pwd, sig, signature, auth, session, sessionid, PHPSESSID, sid, code,
 * jwt, credential, and the same with a prefix (`auth_token`, `client_secret`, `X-Amz-Signature`).
 * One list for log redaction and for the start-URL check, so the two never disagree.
 */
const CREDENTIAL_NAME =
	/^(?:.*[_.-])?(?:(?:access|refresh|id|auth|session|csrf|xsrf)?_?token|api_?key|apikey|key|secret|passw(?:or)?d|pass|pwd|sig|signature|auth|authorization|session(?:_?id)?|\w*sess(?:ion)?_?id|sid|code|jwt|credentials?)$/i;

export function isCredentialName(name: string): boolean {
	return CREDENTIAL_NAME.test(name);
}

/**
 * A URL safe to log: no userinfo, no fragment, and `…` for the value of every query parameter
 * whose name looks like a credential (isCredentialName). Other values stay, so two failures
 * read differently (`/chain/0?to=3` vs `?to=7`); a value that is itself a URL is redacted the
 * same way (`?next=https://…?token=…`).
 */
export function redactUrl(url: string): string {
	let parsed: URL;
	try {
		parsed = new URL(url);
	} catch {
		return '<invalid url>';
	}
	const base = `${parsed.origin}${parsed.pathname}`;
	if (!parsed.search) return base;
	const pairs = [...parsed.searchParams].map(([name, value]) => `${encodeURIComponent(name)}=${redactValue(name, value)}`);
	return `${base}?${pairs.join('&')}`;
}

function redactValue(name: string, value: string): string {
	if (isCredentialName(name)) return '…';
	if (/^https?:\/\//i.test(value)) return encodeURIComponent(redactUrl(value)).replaceAll('%E2%80%A6', '…');
	return encodeURIComponent(value);
}

/** A short, secret-free description of any thrown value. */
export function describeError(error: unknown): {code: string; message: string} {
	if (error instanceof CrawljarError) return {code: error.code, message: error.message};
	if (error instanceof Error) {
		const code = (error as {code?: unknown}).code;
		return {code: typeof code === 'string' ? code : error.name, message: error.message};
	}
	return {code: 'ERR_UNKNOWN', message: String(error)};
}

/** Throw from a handler to fail the request at once, without retries (e.g. a 'not found' page). */
export class NonRetryableError extends CrawljarError {
	override name = 'NonRetryableError';
	readonly retryable = false;

	constructor(message: string, options?: {cause?: unknown}) {
		super('ERR_HANDLER', message, options);
	}
}
