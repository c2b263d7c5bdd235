// The session pool (issue 3 item 3): accounts × perAccount sessions, lent synchronously to
// workers (STYLE.md pattern 7), logged in lazily with one shared promise per session
// (single-flight), at most `loginConcurrency` logins at once, persisted whenever they change.
import {CrawljarError, describeError} from '../errors.js';
import type {Store} from '../store/store.js';
import {resolveKey} from './crypto.js';
import type {LoginStrategy} from './login/login-strategy.js';
import {SESSION_DEFAULTS} from './session-options.js';
import {Session, type Account} from './session.js';
import type {FetchDefaults} from './session-http.js';
import {SessionLogins, type LoginTraffic} from './session-logins.js';
import {fromStoredSession, summarizeSession, type SessionSummary} from './session-persistence.js';
import {SessionSaver} from './session-saver.js';
import {AccountRejections} from './account-rejections.js';
import {SessionShares, sessionShareOwner} from './session-shares.js';
import {SharedSessions, type SharedSessionsTiming} from './shared-sessions.js';

export interface SessionPoolOptions {
	readonly accounts: readonly Account[];
	/** Without it the pool holds one anonymous session (cookies kept and persisted, no login). */
	readonly login?: LoginStrategy;
	/** Sessions per account. @default 1 */
	readonly perAccount?: number;
	/** Requests in flight per session. @default 4 with a login, unlimited without */
	readonly maxConcurrency?: number;
	/** Logins (and token refreshes) at once across the pool. @default 2 */
	readonly loginConcurrency?: number;
	/**
	 * Definite rejections (wrong credentials) per account before its sessions are disabled; a
	 * rejected login is not posted again by default (sites lock accounts). Rate limits, 5xx and
	 * network errors on a login never count. @default 1
	 */
	readonly loginMaxAttempts?: number;
	/** Wait before login attempt n+1 after a rejection: n × this. @default 500 */
	readonly loginRetryDelayMs?: number;
	/** The crawler's first start URL: relative login URLs resolve against it. */
	readonly baseUrl: string;
	readonly fetchDefaults?: FetchDefaults;
	/** Send credentials over plain http to a non-loopback host. @default false */
	readonly allowInsecureLogin?: boolean;
	/** Where sessions persist; without it they live for this process only. */
	readonly store?: Store;
	/** 32-byte encryption key. @default resolveKey() (CRAWLJAR_SECRET or the key file) */
	readonly key?: Buffer;
	readonly log?: {info(message: string): void; warn(message: string): void};
	readonly now?: () => number;
	/** The run's host throttle, retry policy and stats, for login requests. Without it they go unthrottled. */
	readonly traffic?: LoginTraffic;
	/**
	 * This worker's id in the store's login locks and session shares (with a store, sessions are
	 * shared by every pool on it: README "Many workers on one store"). @default `<host>:<pid>:<random>`
	 */
	readonly workerId?: string;
	/** Login rejections count per account within this scope (the run id). @default '' */
	readonly accountScope?: string;
	/** Lock, poll and wait timing of the shared sessions (tests shorten them). */
	readonly sharedTiming?: Partial<SharedSessionsTiming>;
	/** The storage folder: a failed browser login leaves its screenshot under it. */
	readonly storageDir?: string;
}

/** What relogin() did: started one, joined one already running, or found it already done. */
export type ReloginResult = 'started' | 'joined' | 'stale';

export interface RequestParts {
	readonly jar: Session['jar'];
	/** The crawler's default headers plus the session's extra headers. */
	readonly headers: Record<string, string>;
	/** Authorization and the like: for the request's own origin only (fetchPage drops them on cross-origin hops). */
	readonly credentialHeaders: Record<string, string>;
	/** One object per session, for got-scraping's header cache. */
	readonly sessionToken: object;
	/** Pass back to relogin(): a logout seen on an older generation was already handled. */
	readonly generation: number;
}

export interface PoolStats {
	readonly sessions: number;
	readonly usable: number;
	readonly disabled: number;
	readonly logins: number;
	readonly relogins: number;
	readonly refreshes: number;
	readonly refreshesAfterLogout: number;
	readonly loginFailures: number;
	readonly unauthorized: number;
	readonly requests: number;
}

export class SessionPool {
	readonly #sessions: Session[] = [];
	readonly #login: LoginStrategy | undefined;
	readonly #options: SessionPoolOptions;
	readonly #maxConcurrency: number;
	readonly #logins: SessionLogins | undefined;
	readonly #waiters: Array<() => void> = [];
	readonly #now: () => number;
	readonly #log: {info(message: string): void; warn(message: string): void};
	#saver: SessionSaver | undefined;
	#shared: {readonly sessions: SharedSessions; readonly rejections: AccountRejections} | undefined;
	#shares: SessionShares | undefined;
	#leases = 0;

	constructor(options: SessionPoolOptions) {
		this.#options = options;
		this.#login = options.login;
		this.#now = options.now ?? Date.now;
		this.#log = options.log ?? {info() {}, warn() {}};
		const perAccount = options.perAccount ?? SESSION_DEFAULTS.perAccount;
		this.#maxConcurrency = options.maxConcurrency ?? (options.login ? SESSION_DEFAULTS.maxConcurrency : Infinity);
		checkPositive('perAccount', perAccount);
		checkPositive('maxConcurrency', this.#maxConcurrency);
		checkPositive('loginConcurrency', options.loginConcurrency ?? SESSION_DEFAULTS.loginConcurrency);
		checkPositive('loginMaxAttempts', options.loginMaxAttempts ?? SESSION_DEFAULTS.loginMaxAttempts);
		if (!options.login) {
			this.#logins = undefined;
			const anonymous = new Session('anonymous', {username: 'anonymous'});
			anonymous.state = 'ready';
			this.#sessions.push(anonymous);
			return;
		}
		if (options.accounts.length === 0) throw new TypeError('Expected at least one account with a login step');
		this.#logins = new SessionLogins({
			login: options.login,
			loginConcurrency: options.loginConcurrency ?? SESSION_DEFAULTS.loginConcurrency,
			loginMaxAttempts: options.loginMaxAttempts ?? SESSION_DEFAULTS.loginMaxAttempts,
			loginRetryDelayMs: options.loginRetryDelayMs ?? SESSION_DEFAULTS.loginRetryDelayMs,
			baseUrl: options.baseUrl,
			fetchDefaults: options.fetchDefaults ?? {},
			allowInsecureLogin: options.allowInsecureLogin ?? false,
			now: this.#now,
			log: this.#log,
			...(options.traffic ? {traffic: options.traffic} : {}),
			...(options.storageDir === undefined ? {} : {storageDir: options.storageDir}),
			save: async (session) => this.#saver?.save(session),
			disable: (session, code, reason) => this.disable(session, code, reason),
			shared: () => this.#shared,
		});
		for (const account of options.accounts) {
			for (let n = 1; n <= perAccount; n++) this.#sessions.push(new Session(`${account.username}#${n}`, account));
		}
	}

	/**
	 * Loads persisted sessions: valid ones are reused without a login; undecryptable ones are
	 * ignored. From then on the sessions are shared with every other pool on the store: saves are
	 * compare-and-set, newer rows are polled and swapped in, logins are single-flight across them.
	 */
	async init(): Promise<void> {
		const {store} = this.#options;
		if (!store) return;
		const key = this.#options.key ?? resolveKey();
		const sessions = new SharedSessions({
			store,
			key,
			...(this.#options.workerId === undefined ? {} : {owner: this.#options.workerId}),
			now: this.#now,
			log: this.#log,
			isBusy: (session) => this.#logins?.running(session) !== undefined,
			onDisabled: () => this.#wake(),
			...(this.#options.sharedTiming ? {timing: this.#options.sharedTiming} : {}),
		});
		this.#saver = new SessionSaver((session) => sessions.save(session), this.#log);
		let undecryptable = 0;
		const stored = await sessions.load();
		for (const row of stored) {
			const index = this.#sessions.findIndex((session) => session.id === row.id);
			const current = this.#sessions[index];
			// A session of an account no longer in the definition stays in the store, unused.
			if (!current || row.account !== current.username) continue;
			try {
				const restored = fromStoredSession(row, current.account, key, this.#now());
				if (!this.#login) restored.state = 'ready';
				this.#sessions[index] = restored;
			} catch (error) {
				undecryptable++;
				if (undecryptable === 1) this.#log.warn(`${describeError(error).message}; those sessions log in again`);
			}
		}
		sessions.track(this.#sessions, stored);
		this.#shared = {sessions, rejections: new AccountRejections({store, key, scope: this.#options.accountScope ?? ''})};
		if (this.#login && Number.isFinite(this.#maxConcurrency)) {
			this.#shares = new SessionShares({store, owner: sessionShareOwner(sessions.owner), limit: this.#maxConcurrency, now: this.#now, log: this.#log, onGranted: () => this.#wake()});
			await this.#shares.start(this.#sessions);
		}
	}

	get sessions(): readonly Session[] {
		return this.#sessions;
	}

	get usableCount(): number {
		return this.#sessions.filter((session) => session.isUsable).length;
	}

	/** Every session is disabled: the runner stops with NO_USABLE_SESSION. */
	get isExhausted(): boolean {
		// Asked once per turn of the crawl loop: no array built for it.
		return !this.#sessions.some((session) => session.isUsable);
	}

	/**
	 * Lends the usable session with spare capacity and the fewest requests in flight, or
	 * undefined when none has capacity now (then await whenCapacity()). Synchronous on purpose:
	 * with no await inside, two workers cannot over-book a session.
	 */
	lease(): Session | undefined {
		let best: Session | undefined;
		for (const session of this.#sessions) {
			if (!session.isUsable || session.inFlight >= this.#allowed(session)) continue;
			if (!best || isBetterLease(session, best)) best = session;
		}
		if (best) {
			best.inFlight++;
			best.lastLeasedAt = ++this.#leases;
		}
		return best;
	}

	release(session: Session): void {
		session.inFlight = Math.max(0, session.inFlight - 1);
		this.#wake();
	}

	/** Resolves at the next release (or when a session is disabled: the pool may be exhausted). */
	whenCapacity(): Promise<void> {
		return new Promise((resolve) => this.#waiters.push(resolve));
	}

	/** True when prepare() has work (a login, a refresh, a flight to wait on) or would throw. */
	needsPreparation(session: Session): boolean {
		if (session.state === 'disabled') return true;
		if (!this.#login || !this.#logins) return false;
		if (session.state === 'new' || this.#logins.running(session)) return true;
		return this.#login.needsRefresh?.(session, this.#now()) ?? false;
	}

	/** Logs the session in if needed and renews its token if due; waits on a login already running. */
	async prepare(session: Session): Promise<void> {
		let hasRefreshed = false;
		for (let round = 0; round < 4; round++) {
			throwIfDisabled(session);
			if (!this.#login || !this.#logins) return;
			const flight = this.#logins.running(session);
			if (flight) {
				await flight;
				continue;
			}
			if (session.state === 'new') {
				await this.#logins.start(session, 'login');
				continue;
			}
			if (!hasRefreshed && this.#login.needsRefresh?.(session, this.#now())) {
				hasRefreshed = true;
				await this.#logins.start(session, 'refresh');
				continue;
			}
			return;
		}
		throwIfDisabled(session);
	}

	requestParts(session: Session): RequestParts {
		return {
			jar: session.jar,
			headers: {...this.#options.fetchDefaults?.headers},
			// Headers a login step set are credentials too: same-origin only, like Authorization.
			credentialHeaders: {...session.headers, ...this.#login?.credentialHeaders(session)},
			sessionToken: session.sessionToken,
			generation: session.generation,
		};
	}

	/**
	 * The session was seen logged out by a request sent at `seenGeneration`. Single-flight: the
	 * first caller starts one re-login (a token refresh first, when possible) and every other
	 * caller awaits it; a caller whose generation is already stale returns at once.
	 */
	async relogin(session: Session, seenGeneration: number, reason: string): Promise<ReloginResult> {
		if (!this.#logins || session.generation > seenGeneration) return 'stale';
		const flight = this.#logins.running(session);
		if (flight) {
			await flight;
			return 'joined';
		}
		throwIfDisabled(session);
		const next = this.#login?.refresh && session.tokens?.refreshToken ? 'refreshing the token' : 'logging in again';
		this.#log.info(`session ${session.id}: logged out (${reason}); ${next}`);
		await this.#logins.start(session, 'relogin');
		return 'started';
	}

	/** Counts the response and saves the session when its cookies changed. */
	async afterResponse(session: Session, response: {setCookie: boolean; status: number}): Promise<void> {
		session.stats.requests++;
		if (response.status === 401) session.stats.unauthorized++;
		if (response.setCookie) await this.#saver?.save(session);
	}

	/** Takes a session out of rotation (e.g. the account is blocked). */
	async disable(session: Session, code: string, reason: string): Promise<void> {
		session.disable(code, reason);
		this.#log.warn(`session ${session.id} disabled (${code}): ${reason}`);
		this.#wake();
		await this.#saver?.save(session);
	}

	list(): SessionSummary[] {
		return this.#sessions.map((session) => summarizeSession(session));
	}

	stats(): PoolStats {
		const sum = (pick: (session: Session) => number) => this.#sessions.reduce((total, session) => total + pick(session), 0);
		return {
			sessions: this.#sessions.length,
			usable: this.usableCount,
			disabled: this.#sessions.length - this.usableCount,
			logins: sum((session) => session.stats.logins),
			relogins: sum((session) => session.stats.relogins),
			refreshes: sum((session) => session.stats.refreshes),
			refreshesAfterLogout: sum((session) => session.stats.refreshesAfterLogout),
			loginFailures: sum((session) => session.stats.loginFailures),
			unauthorized: sum((session) => session.stats.unauthorized),
			requests: sum((session) => session.stats.requests),
		};
	}

	/**
	 * Waits for pending saves (call before closing the store). Also ends this pool's part in the
	 * shared sessions: it stops polling for other workers' changes and gives up its session shares.
	 */
	async flush(): Promise<void> {
		this.#shared?.sessions.stop();
		await this.#shares?.stop();
		await this.#saver?.flush();
	}

	/** Requests in flight allowed on `session` here: maxConcurrency, or this worker's share of it across the crawl. */
	#allowed(session: Session): number {
		return this.#shares ? this.#shares.allowed(session) : this.#maxConcurrency;
	}

	#wake(): void {
		for (const resolve of this.#waiters.splice(0)) resolve();
	}
}

/** Fewest in flight; then sessions not busy logging in; then the least recently leased. */
function isBetterLease(candidate: Session, best: Session): boolean {
	if (candidate.inFlight !== best.inFlight) return candidate.inFlight < best.inFlight;
	const candidateBusy = candidate.state === 'logging-in';
	if (candidateBusy !== (best.state === 'logging-in')) return !candidateBusy;
	return candidate.lastLeasedAt < best.lastLeasedAt;
}

function throwIfDisabled(session: Session): void {
	if (session.state !== 'disabled') return;
	const code = session.disabledCode === 'ERR_INSECURE_CREDENTIALS' ? 'ERR_INSECURE_CREDENTIALS' : 'LOGIN_FAILED';
	throw new CrawljarError(code, `session ${session.id} is disabled: ${session.disabledReason ?? 'unknown reason'}`);
}

function checkPositive(name: string, value: number): void {
	if (!(value >= 1)) throw new TypeError(`Expected \`${name}\` to be a number >= 1, got ${value}`);
}
