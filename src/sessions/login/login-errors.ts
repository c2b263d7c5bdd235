// Errors a login step passes through untouched (a custom login function must rethrow them):
// they tell the pool's login loop (session-logins.ts) to wait, to defer, or that the endpoint
// failed for reasons that are not the account's. None of them is a rejection of the credentials.
import {CrawljarError} from '../../errors.js';
import type {Verdict} from '../../policy/judge.js';
import type {RedirectHop} from '../session-http.js';

/** A login request the policy said to send again after a wait (thrown through the login step). */
export class LoginRequestWait extends CrawljarError {
	override name = 'LoginRequestWait';
	constructor(
		readonly host: string,
		readonly verdict: Extract<Verdict, {kind: 'wait'}>,
		/** The hop of the redirect chain that got the wait, when there was a chain: the request before it was acted on. */
		readonly hop?: RedirectHop,
	) {
		super(verdict.counter === 'rateLimitCount' ? 'ERR_RATE_LIMITED' : 'ERR_NETWORK', `login request to ${host}: ${verdict.reason}`);
	}
}

/**
 * A login that cannot go on in this turn without waiting past `maxRetryAfterMs`: the session is
 * not disabled; its requests go back to the frontier until `retryAt`.
 */
export class LoginDeferred extends CrawljarError {
	override name = 'LoginDeferred';
	constructor(
		message: string,
		readonly retryAt: number,
	) {
		super('ERR_RATE_LIMITED', message);
	}
}

/** The login step gave up for a reason that is not the account's fault (the endpoint kept failing). */
export class LoginUnavailable extends CrawljarError {
	override name = 'LoginUnavailable';
}


/** True for the errors above: not a verdict on the credentials, so never wrapped as LOGIN_FAILED. */
export function isLoginControlError(error: unknown): boolean {
	return error instanceof LoginRequestWait || error instanceof LoginDeferred || error instanceof LoginUnavailable;
}
