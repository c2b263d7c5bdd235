// Logins and token refreshes for the pool: one promise per session that every waiter shares
// (single-flight), at most `loginConcurrency` at once across the pool.
//
// Login requests are requests (issue 9 item 1): each one takes a slot of the host throttle and
// its outcome is judged by policy/judge.ts like any page. A 429 (or a Retry-After) cools the host
// for every worker and the login goes again after the wait (only the refused hop when it came
// after a redirect: the server acted on the POST before it); 5xx and network errors back off
// (bounded by the retry options). Neither counts as a failed attempt. Only a definite rejection
// (LOGIN_FAILED from the login step: the form came back, a 4xx from the token endpoint, the
// success check or the custom function said no) counts, per ACCOUNT: with the same credentials
// it is not posted again by this run's other sessions of the account either (sites lock
// accounts after a few bad passwords); `loginMaxAttempts` allows more.
import {setTimeout as delay} from 'node:timers/promises';
import PQueue from 'p-queue';
import {CrawljarError, describeError, redactUrl} from '../errors.js';
import type {FetchResult} from '../http/fetch.js';
import {acquireHostSlot, type HostGate} from '../policy/host-slot.js';
import type {HostThrottle, ReleaseResult} from '../policy/host-throttle.js';
import {judge, type Verdict} from '../policy/judge.js';
import {outcomeErrorOf, type Outcome} from '../policy/outcome.js';
import {DEFAULT_RETRY_OPTIONS, type ResolvedRetryOptions} from '../policy/retry-options.js';
import {LoginDeferred, LoginRequestWait, LoginUnavailable} from './login/login-errors.js';
import type {LoginContext, LoginStrategy} from './login/login-strategy.js';
import type {Session} from './session.js';
import {createSessionHttp, type FetchDefaults, type LoginRequestSender} from './session-http.js';
import {AccountRejections} from './account-rejections.js';
import type {SharedSessions} from './shared-sessions.js';

export type LoginKind = 'login' | 'refresh' | 'relogin';

/** How login requests meet the rest of the crawl: the run's host throttle, retry policy and stats. */
export interface LoginTraffic {
	readonly throttle: HostGate & Pick<HostThrottle, 'release'>;
	/** The crawl's retry options (the definition's `retry`). @default DEFAULT_RETRY_OPTIONS */
	readonly retry?: ResolvedRetryOptions;
	/** A host asked to be left alone (a 429 on a login): pause it for every worker, persisted. */
	readonly onHostCooldown: (host: string, untilMs: number) => void;
	readonly stats?: {loginRequest(host: string, status: number | undefined, bytes: number): void};
	readonly random?: () => number;
}

export interface SessionLoginsOptions {
	readonly login: LoginStrategy;
	readonly loginConcurrency: number;
	/** Definite rejections per account before its sessions are disabled. */
	readonly loginMaxAttempts: number;
	readonly loginRetryDelayMs: number;
	readonly baseUrl: string;
	readonly fetchDefaults: FetchDefaults;
	readonly allowInsecureLogin: boolean;
	readonly traffic?: LoginTraffic;
	readonly now: () => number;
	readonly log: {info(message: string): void; warn(message: string): void};
	/** The storage folder (browser logins put failure screenshots under it). */
	readonly storageDir?: string;
	/** Persists the session; awaited before a login or refresh counts as done. */
	readonly save: (session: Session) => Promise<void>;
	readonly disable: (session: Session, code: string, reason: string) => Promise<void>;
	/** Set once the pool shares its sessions through a store: logins single-flight across workers. */
	readonly shared?: () => {readonly sessions: SharedSessions; readonly rejections: AccountRejections} | undefined;
}

interface FlightCounters {
	retryCount: number;
	reloginCount: number;
	rateLimitCount: number;
}

export class SessionLogins {
	readonly #options: SessionLoginsOptions;
	readonly #slots: PQueue;
	readonly #flights = new Map<Session, Promise<void>>();
	/** Definite rejections by account (in this process, or the crawl's when shared). */
	readonly #localRejections = new AccountRejections();
	/** Accounts let in at least once this run: their sessions log in side by side. */
	readonly #acceptedAccounts = new Set<string>();
	/** Until an account is accepted, its sessions log in one at a time (one POST of a bad password). */
	readonly #accountTurns = new Map<string, Promise<void>>();

	constructor(options: SessionLoginsOptions) {
		this.#options = options;
		this.#slots = new PQueue({concurrency: options.loginConcurrency});
	}

	/** The login or refresh running for this session, if any. */
	running(session: Session): Promise<void> | undefined {
		return this.#flights.get(session);
	}

	/**
	 * Starts a login (`login`), a refresh (`refresh`: falls back to a login) or a re-login after a
	 * logout (`relogin`: a refresh first when the strategy can) — or joins the one already running.
	 */
	start(session: Session, kind: LoginKind): Promise<void> {
		const existing = this.#flights.get(session);
		if (existing) return existing;
		const flight = this.#acrossWorkers(session, kind).finally(() => this.#flights.delete(session));
		this.#flights.set(session, flight);
		return flight;
	}

	/**
	 * With shared sessions, the login runs under the session's lock across workers, after loading
	 * the newest row: if another worker already did what this one set out to do, it is not done again.
	 */
	async #acrossWorkers(session: Session, kind: LoginKind): Promise<void> {
		const shared = this.#options.shared?.();
		if (!shared) return this.#authenticate(session, kind);
		const {login, now} = this.#options;
		const generation = session.generation;
		const isSatisfied = (): boolean => {
			if (session.state === 'disabled') return true;
			if (kind === 'relogin') return session.generation > generation;
			return session.state === 'ready' && (kind === 'login' || !(login.needsRefresh?.(session, now()) ?? false));
		};
		const result = await shared.sessions.singleFlight(session, isSatisfied, () => this.#authenticate(session, kind));
		if (result === 'loaded') this.#options.log.info(`session ${session.id}: ${session.state === 'disabled' ? 'disabled' : 'logged in'} by another worker; loaded`);
	}

	get #rejections(): AccountRejections {
		return this.#options.shared?.()?.rejections ?? this.#localRejections;
	}

	async #authenticate(session: Session, kind: LoginKind): Promise<void> {
		const {login, log, save} = this.#options;
		const stateBefore = session.state;
		session.state = 'logging-in';
		const counters: FlightCounters = {retryCount: 0, reloginCount: 0, rateLimitCount: 0};
		const context = this.#context(session, counters);
		try {
			if (kind !== 'login' && login.refresh && session.tokens?.refreshToken) {
				try {
					await this.#withWaits(session, counters, () => this.#slots.add(() => login.refresh!(context)));
					session.markRefreshed(kind === 'relogin');
					// Saved before anyone uses the new tokens: a rotated refresh token must survive a kill -9.
					await save(session);
					log.info(`session ${session.id}: token refreshed (${kind === 'relogin' ? 'after a logout' : 'early, before it expired'})`);
					return;
				} catch (error) {
					if (error instanceof LoginDeferred) throw error;
					log.warn(`session ${session.id}: ${describeError(error).message}; logging in again`);
				}
			}
			await this.#loginAsAccount(session, context, counters, kind !== 'login' || stateBefore === 'ready');
		} catch (error) {
			// Deferred: not the session's fault. It keeps its state and logs in on a later turn.
			if (error instanceof LoginDeferred && session.state === 'logging-in') session.state = stateBefore === 'ready' ? 'ready' : 'new';
			throw error;
		}
	}

	async #loginAsAccount(session: Session, context: LoginContext, counters: FlightCounters, isRelogin: boolean): Promise<void> {
		const {login, log, save, loginMaxAttempts, loginRetryDelayMs, now} = this.#options;
		const {username, account} = session;
		for (;;) {
			const rejected = await this.#rejections.of(account);
			if (rejected && rejected.count >= loginMaxAttempts) {
				// The site said no to these credentials: another POST could lock the account.
				const reason = `not tried: the account was rejected ${rejected.count} time(s) this run (loginMaxAttempts ${loginMaxAttempts}): ${rejected.reason}`;
				await this.#options.disable(session, 'LOGIN_FAILED', reason);
				throw new CrawljarError('LOGIN_FAILED', `session ${session.id} disabled: ${reason}`);
			}
			if (rejected) await delay(loginRetryDelayMs * rejected.count);
			const outcome = await this.#accountTurn(username, async () => {
				// Another session of the account may have been rejected while this one waited its turn.
				const latest = await this.#rejections.of(account);
				if (latest && latest.count >= loginMaxAttempts) return {kind: 'rejected' as const};
				// Start clean: a stale login cookie or token must not ride along with the new login.
				session.resetAuth();
				try {
					await this.#withWaits(session, counters, () => this.#slots.add(() => login.login(context)));
					return {kind: 'ok' as const};
				} catch (error) {
					if (error instanceof LoginDeferred) throw error;
					session.stats.loginFailures++;
					const {code, message} = describeError(error);
					if (code !== 'LOGIN_FAILED' || error instanceof LoginUnavailable) return {kind: 'error' as const, error, code, message};
					// Recorded before the turn ends: the account's next login (any worker's) sees it first.
					const {count} = await this.#rejections.add(account, message);
					return {kind: 'rejection' as const, error, count, message};
				}
			});
			if (outcome.kind === 'ok') {
				this.#acceptedAccounts.add(username);
				session.markLoggedIn(now(), isRelogin);
				await save(session);
				log.info(`session ${session.id}: ${isRelogin ? 'logged in again' : 'logged in'}`);
				return;
			}
			if (outcome.kind === 'rejected') continue;
			if (outcome.kind === 'rejection') {
				const {count, message} = outcome;
				if (count < loginMaxAttempts) {
					log.warn(`session ${session.id}: ${message} (attempt ${count}/${loginMaxAttempts} for the account)`);
					continue;
				}
				await this.#options.disable(session, 'LOGIN_FAILED', message);
				throw new CrawljarError('LOGIN_FAILED', `session ${session.id} disabled after ${count} failed login attempt(s): ${message}`, {cause: outcome.error});
			}
			// Not the credentials (plain http refused, a redirect loop, an endpoint that kept failing): this session stops.
			const finalCode = outcome.code === 'ERR_INSECURE_CREDENTIALS' ? outcome.code : 'LOGIN_FAILED';
			await this.#options.disable(session, finalCode, outcome.message);
			throw new CrawljarError(finalCode, `session ${session.id} disabled after a failed login: ${outcome.message}`, {cause: outcome.error});
		}
	}

	/** Runs `step` (a login or refresh), sending it again after each wait the policy asked for. */
	async #withWaits(session: Session, counters: FlightCounters, step: () => Promise<void>): Promise<void> {
		for (;;) {
			try {
				await step();
				return;
			} catch (error) {
				if (!(error instanceof LoginRequestWait)) throw error;
				await this.#waitOut(session, counters, error, 'the login goes again then');
			}
		}
	}

	/** Counts the wait, cools the host for everyone, and sleeps it (or defers the login when it is too long). */
	async #waitOut(session: Session, counters: FlightCounters, wait: LoginRequestWait, then: string): Promise<void> {
		const {traffic, log, now} = this.#options;
		const {verdict, host} = wait;
		counters[verdict.counter]++;
		if (verdict.hostCooldownMs > 0) traffic?.onHostCooldown(host, now() + verdict.hostCooldownMs);
		if (verdict.deferred) {
			throw new LoginDeferred(`session ${session.id}: login deferred: ${host} asked to wait ${Math.round(verdict.delayMs / 1000)}s (over maxRetryAfter)`, now() + verdict.delayMs);
		}
		log.warn(`session ${session.id}: login request to ${host}: ${verdict.reason}; ${then}`);
		await delay(verdict.delayMs);
	}

	/**
	 * One login at a time per account until the account has been let in once this run: in this
	 * process, and with shared sessions across workers too (the account's lock in the store).
	 */
	async #accountTurn<T>(username: string, turn: () => Promise<T>): Promise<T> {
		if (this.#acceptedAccounts.has(username)) return turn();
		const shared = this.#options.shared?.();
		if (shared) return this.#localAccountTurn(username, () => shared.sessions.whenLocked(`account ${username}`, turn));
		return this.#localAccountTurn(username, turn);
	}

	async #localAccountTurn<T>(username: string, turn: () => Promise<T>): Promise<T> {
		const previous = this.#accountTurns.get(username) ?? Promise.resolve();
		let done!: () => void;
		const mine = new Promise<void>((resolve) => (done = resolve));
		const chained = previous.then(() => mine);
		this.#accountTurns.set(username, chained);
		await previous;
		try {
			return await turn();
		} finally {
			done();
			if (this.#accountTurns.get(username) === chained) this.#accountTurns.delete(username);
		}
	}

	#context(session: Session, counters: FlightCounters): LoginContext {
		const {baseUrl, fetchDefaults, login} = this.#options;
		const allowInsecureLogin = this.#options.allowInsecureLogin || (login.allowInsecureLogin ?? false);
		const send = this.#sender(session, counters);
		return {
			session,
			account: session.account,
			http: createSessionHttp(session, {baseUrl, fetchDefaults, allowInsecureLogin, send}),
			baseUrl,
			now: this.#options.now,
			log: this.#options.log,
			sendRequest: send,
			allowInsecureLogin,
			...(this.#options.storageDir === undefined ? {} : {storageDir: this.#options.storageDir}),
		};
	}

	/**
	 * Sends one login request like the runner sends a page: a host slot acquired before and
	 * released after, here; the outcome judged; a wait thrown as LoginRequestWait for #withWaits.
	 * A wait that came at a later hop of a redirect chain is waited out here and only that hop
	 * goes again: the server acted on the request (a login form's POST answered by a redirect
	 * has logged in), so sending the whole login step again would log in twice.
	 */
	#sender(session: Session, counters: FlightCounters): LoginRequestSender {
		return async (url, method, send, resendHop) => {
			let wait: LoginRequestWait;
			try {
				return await this.#sendOnce(session, counters, url, method, send);
			} catch (error) {
				if (!(error instanceof LoginRequestWait) || !error.hop || !resendHop) throw error;
				wait = error;
			}
			for (;;) {
				const hop = wait.hop!;
				await this.#waitOut(session, counters, wait, `${hop.method} ${redactUrl(hop.url)} goes again then`);
				try {
					return await this.#sendOnce(session, counters, hop.url, hop.method, () => resendHop(hop));
				} catch (error) {
					if (!(error instanceof LoginRequestWait)) throw error;
					wait = error.hop ? error : new LoginRequestWait(error.host, error.verdict, hop);
				}
			}
		};
	}

	async #sendOnce(session: Session, counters: FlightCounters, url: string, method: string, send: () => Promise<FetchResult>): Promise<FetchResult> {
		const {traffic, now} = this.#options;
		const retry = traffic?.retry ?? DEFAULT_RETRY_OPTIONS;
		const host = new URL(url).host;
		if (traffic) {
			const slot = await acquireHostSlot(traffic.throttle, host, retry.maxRetryAfterMs);
			if (!slot.ok) {
				throw new LoginDeferred(`session ${session.id}: login deferred: ${host} is cooling down for ${Math.round(slot.retryInMs / 1000)}s`, now() + slot.retryInMs);
			}
		}
		let result: FetchResult | undefined;
		let fetchError: unknown;
		let release: ReleaseResult = 'error';
		try {
			try {
				result = await send();
			} catch (error) {
				fetchError = error;
			}
			const answeredAt = result ? new URL(result.url).host : host;
			traffic?.stats?.loginRequest(answeredAt, result?.status, result?.body.length ?? 0);
			// A login request has no session to re-log-in: a 401/403 is an answer for the login step.
			const outcome: Outcome = result
				? {url: result.url, status: result.status, headers: result.headers, redirects: result.redirects, hasSession: false}
				: {url, redirects: [], hasSession: false, error: outcomeErrorOf(fetchError)};
			const verdict = judge(outcome, counters, retry, traffic?.random ?? Math.random, now());
			release = releaseResultOf(verdict);
			if (verdict.kind === 'wait') {
				// The hop that got the wait, when the request was redirected before it (fetchPage results only).
				const hop = result && result.redirects.length > 0 && result.method ? {url: result.url, method: result.method} : undefined;
				throw new LoginRequestWait(answeredAt, verdict, hop);
			}
			if (verdict.kind === 'fail' && verdict.exhausted) {
				throw new LoginUnavailable('LOGIN_FAILED', `login for account '${session.username}': ${method} ${redactUrl(url)}: ${verdict.reason}`);
			}
			if (!result) throw fetchError;
			return result;
		} finally {
			traffic?.throttle.release(host, release);
		}
	}
}

export function releaseResultOf(verdict: Verdict): ReleaseResult {
	if (verdict.kind === 'done') return 'ok';
	if (verdict.kind === 'wait' && verdict.counter === 'rateLimitCount') return 'rate-limited';
	if (verdict.kind === 'fail' && verdict.exhausted === 'rateLimitCount') return 'rate-limited';
	return 'error';
}
