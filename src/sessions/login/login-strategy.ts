// The one shape every login step has. formLogin() and tokenLogin() build one; a plain async
// function (custom login) is wrapped by toLoginStrategy(). The pool calls login/refresh; the
// runner sends credentialHeaders to the session's own origin only.
import {z} from 'zod';
import {CrawljarError, describeError} from '../../errors.js';
import {bool, formatIssues, urlOrPath, type Assert, type Describes} from '../../util/option-schemas.js';
import type {Account, Session} from '../session.js';
import type {LoginRequestSender, SessionHttp} from '../session-http.js';
import {isLoginControlError} from './login-errors.js';

export interface LoginContext {
	readonly session: Session;
	readonly account: Account;
	/** A client bound to the session: its cookies are kept across calls. */
	readonly http: SessionHttp;
	/** The crawler's first start URL: relative login URLs resolve against it. */
	readonly baseUrl: string;
	readonly now: () => number;
	/** The crawl's log (warnings about the login's configuration). */
	readonly log?: {info(message: string): void; warn(message: string): void};
	/** Sends one request through the host throttle and the retry policy: for a login whose requests do not go through `http` (a browser's). */
	readonly sendRequest?: LoginRequestSender;
	/** Credentials may go over plain http to a non-loopback host (the crawler's or the strategy's setting). */
	readonly allowInsecureLogin?: boolean;
	/** The storage folder: a failed browser login leaves its screenshot under it. */
	readonly storageDir?: string;
}

export interface LoginStrategy {
	readonly kind: 'form' | 'token' | 'custom' | 'browser';
	/**
	 * The options the factory was given, as given: the crawler definition check validates them
	 * against the kind's schema and reports problems under `login.` (`login.fields: expected a function`).
	 */
	readonly options?: unknown;
	/** Absolute, or relative to the first start URL; a redirect there means "logged out". */
	readonly loginUrl?: string;
	/** Lets `http` send bodies over plain http to a non-loopback host (the crawler-wide option also does). */
	readonly allowInsecureLogin?: boolean;
	/** Logs the session in, or throws (LOGIN_FAILED, ERR_INSECURE_CREDENTIALS, a network error). */
	login(context: LoginContext): Promise<void>;
	/** Renews the session's tokens without a full login; throws when it cannot. */
	refresh?(context: LoginContext): Promise<void>;
	/** True when the session's tokens should be renewed before the next request. */
	needsRefresh?(session: Session, now: number): boolean;
	/** Headers sent with every request of the session, to the request's own origin only. */
	credentialHeaders(session: Session): Record<string, string>;
}

/** What a custom login function receives. */
export type CustomLoginContext = LoginContext;
export type CustomLogin = (context: CustomLoginContext) => Promise<boolean | void> | boolean | void;

/** `login` in a crawler definition: formLogin(…), tokenLogin(…), customLogin(…) or an async function. */
export type LoginOption = LoginStrategy | CustomLogin;

export interface CustomLoginOptions {
	/** Where the site's login page lives: a redirect there means "logged out". */
	readonly loginUrl?: string;
	/** Allow POST bodies over plain http to a non-loopback host. @default false */
	readonly allowInsecureLogin?: boolean;
}

export const customLoginOptionsSchema = z.strictObject({
	loginUrl: urlOrPath().optional(),
	allowInsecureLogin: bool().optional(),
});

export type CustomLoginSchemaCheck = Assert<Describes<typeof customLoginOptionsSchema, CustomLoginOptions>>;

/**
 * The factories' validation hook. Factories run while the crawler file is imported, where a
 * throw could not name the file: invalid options give a strategy that carries them (for the
 * definition check to report with their `login.` path) and that fails if used unchecked.
 */
export function invalidLoginStrategy(kind: LoginStrategy['kind'], schema: z.ZodType, options: unknown): LoginStrategy | undefined {
	const checked = schema.safeParse(options);
	if (checked.success) return undefined;
	const problems = formatIssues(checked.error.issues, schema, 'login').join('; ');
	const error = () => new CrawljarError('ERR_DEFINITION', `invalid ${kind} login options: ${problems}`);
	return {
		kind,
		options,
		login: () => Promise.reject(error()),
		credentialHeaders: () => {
			throw error();
		},
	};
}

export function toLoginStrategy(option: LoginOption): LoginStrategy {
	return typeof option === 'function' ? customLogin(option) : option;
}

/**
 * A login written by hand: `login: async ({http, account, session}) => { … }`. It may set
 * `session.setToken(…)` (sent as `Authorization: Bearer …`), `session.setHeader(…)` or
 * `session.addCookie(…)`. Throwing or returning false fails the login.
 */
export function customLogin(login: CustomLogin, options: CustomLoginOptions = {}): LoginStrategy {
	const invalid = invalidLoginStrategy('custom', customLoginOptionsSchema, options);
	if (invalid) return invalid;
	return {
		kind: 'custom',
		options,
		...(options.loginUrl === undefined ? {} : {loginUrl: options.loginUrl}),
		...(options.allowInsecureLogin === undefined ? {} : {allowInsecureLogin: options.allowInsecureLogin}),
		async login(context) {
			let result: boolean | void;
			try {
				result = await login(context);
			} catch (error) {
				// A wait for a rate-limited host (and the like) is not a verdict on the credentials.
				if (isLoginControlError(error)) throw error;
				if (error instanceof CrawljarError && (error.code === 'LOGIN_FAILED' || error.code === 'ERR_INSECURE_CREDENTIALS')) throw error;
				throw loginFailed(context.account, `the login function threw: ${describeError(error).message}`, error);
			}
			if (result === false) throw loginFailed(context.account, 'the login function returned false');
		},
		credentialHeaders: bearerHeaders,
	};
}

/** `Authorization: Bearer <token>` when the session holds an access token. */
export function bearerHeaders(session: Session): Record<string, string> {
	return session.tokens ? {authorization: `Bearer ${session.tokens.accessToken}`} : {};
}

/** LOGIN_FAILED naming the account (username only, never a password) and the reason. */
export function loginFailed(account: Account, reason: string, cause?: unknown): CrawljarError {
	return new CrawljarError('LOGIN_FAILED', `login failed for account '${account.username}': ${reason}`, cause === undefined ? undefined : {cause});
}
