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
	| 'ERR_SCHEDULE';

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

/** Drops userinfo, query values and the fragment from a URL so it can be logged. */
export function redactUrl(url: string): string {
	let parsed: URL;
	try {
		parsed = new URL(url);
	} catch {
		return '<invalid url>';
	}
	const base = `${parsed.origin}${parsed.pathname}`;
	if (!parsed.search) return base;
	const keys = [...new Set(parsed.searchParams.keys())];
	return `${base}?${keys.map((key) => `${encodeURIComponent(key)}=…`).join('&')}`;
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
