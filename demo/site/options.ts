// Options of the demo target site, resolved once against one defaults object.

export type LogoutStyle = '401' | 'redirect' | 'soft' | 'delete-cookie';

export interface RateLimitOptions {
	/** Requests allowed per client (remote address) in each one-second window. */
	readonly perSecond: number;
	/** Send `Retry-After: 1` with each 429. @default true */
	readonly retryAfter?: boolean;
}

export interface DemoSiteOptions {
	/** @default 300 */
	readonly books?: number;
	/** Pad each book page to about this many bytes. @default 3_000 */
	readonly pageBytes?: number;
	/** Books per catalogue page. @default 20 */
	readonly perPage?: number;
	/** Catalogue, category, search and book pages need the `sid` session cookie. @default true */
	readonly requireLogin?: boolean;
	/** Username -> password. @default {demo: 'demo-password'} plus DEMO_USER/DEMO_PASSWORD when both are set */
	readonly users?: Readonly<Record<string, string>>;
	/** A session expires after this many authenticated page requests. @default no limit */
	readonly sessionMaxRequests?: number;
	/** A session expires this long after its login. @default no limit */
	readonly sessionTtlMs?: number;
	/** How a protected HTML page answers a missing or expired session. @default 'redirect' */
	readonly logoutStyle?: LogoutStyle;
	/** Lifetime of JSON API access tokens. @default 60_000 */
	readonly accessTokenTtlMs?: number;
	/** Answer 429 past this rate, per client. @default no limit */
	readonly rateLimit?: RateLimitOptions;
	/** Port on 127.0.0.1. @default 0 (a free port) */
	readonly port?: number;
}

export interface ResolvedOptions {
	readonly books: number;
	readonly pageBytes: number;
	readonly perPage: number;
	readonly requireLogin: boolean;
	readonly users: ReadonlyMap<string, string>;
	readonly sessionMaxRequests: number;
	readonly sessionTtlMs: number;
	readonly logoutStyle: LogoutStyle;
	readonly accessTokenTtlMs: number;
	readonly rateLimit: {readonly perSecond: number; readonly retryAfter: boolean} | undefined;
	readonly port: number;
}

const defaults = {
	books: 300,
	pageBytes: 3_000,
	perPage: 20,
	requireLogin: true,
	sessionMaxRequests: Number.POSITIVE_INFINITY,
	sessionTtlMs: Number.POSITIVE_INFINITY,
	logoutStyle: 'redirect',
	accessTokenTtlMs: 60_000,
	port: 0,
} as const;

const logoutStyles: readonly LogoutStyle[] = ['401', 'redirect', 'soft', 'delete-cookie'];

export function defaultUsers(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
	const users: Record<string, string> = {demo: 'demo-password'};
	if (env['DEMO_USER'] && env['DEMO_PASSWORD']) users[env['DEMO_USER']] = env['DEMO_PASSWORD'];
	return users;
}

export function resolveOptions(options: DemoSiteOptions = {}): ResolvedOptions {
	const resolved: ResolvedOptions = {
		books: options.books ?? defaults.books,
		pageBytes: options.pageBytes ?? defaults.pageBytes,
		perPage: options.perPage ?? defaults.perPage,
		requireLogin: options.requireLogin ?? defaults.requireLogin,
		users: new Map(Object.entries(options.users ?? defaultUsers())),
		sessionMaxRequests: options.sessionMaxRequests ?? defaults.sessionMaxRequests,
		sessionTtlMs: options.sessionTtlMs ?? defaults.sessionTtlMs,
		logoutStyle: options.logoutStyle ?? defaults.logoutStyle,
		accessTokenTtlMs: options.accessTokenTtlMs ?? defaults.accessTokenTtlMs,
		rateLimit: options.rateLimit && {
			perSecond: options.rateLimit.perSecond,
			retryAfter: options.rateLimit.retryAfter ?? true,
		},
		port: options.port ?? defaults.port,
	};
	checkInteger('books', resolved.books, 1);
	checkInteger('pageBytes', resolved.pageBytes, 0);
	checkInteger('perPage', resolved.perPage, 1);
	checkInteger('port', resolved.port, 0);
	if (options.sessionMaxRequests !== undefined) checkInteger('sessionMaxRequests', options.sessionMaxRequests, 1);
	if (!(resolved.sessionTtlMs > 0)) throw new TypeError(`sessionTtlMs: expected > 0, received ${resolved.sessionTtlMs}`);
	if (!(resolved.accessTokenTtlMs > 0)) {
		throw new TypeError(`accessTokenTtlMs: expected > 0, received ${resolved.accessTokenTtlMs}`);
	}
	if (resolved.rateLimit) checkInteger('rateLimit.perSecond', resolved.rateLimit.perSecond, 1);
	if (!logoutStyles.includes(resolved.logoutStyle)) {
		throw new TypeError(`logoutStyle: expected one of ${logoutStyles.join(', ')}, received ${String(resolved.logoutStyle)}`);
	}
	return resolved;
}

function checkInteger(name: string, value: number, min: number): void {
	if (!Number.isInteger(value) || value < min) {
		throw new TypeError(`${name}: expected an integer >= ${min}, received ${value}`);
	}
}
