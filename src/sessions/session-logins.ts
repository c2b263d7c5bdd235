// Logins and token refreshes for the pool: one promise per session that every waiter shares
// (single-flight), at most `loginConcurrency` at once across the pool, retried up to
// `loginMaxAttempts` times before the session is disabled.
import {setTimeout as delay} from 'node:timers/promises';
import PQueue from 'p-queue';
import {CrawljarError, describeError} from '../errors.js';
import type {LoginContext, LoginStrategy} from './login/login-strategy.js';
import type {Session} from './session.js';
import {createSessionHttp, type FetchDefaults} from './session-http.js';

export type LoginKind = 'login' | 'refresh' | 'relogin';

export interface SessionLoginsOptions {
	readonly login: LoginStrategy;
	readonly loginConcurrency: number;
	readonly loginMaxAttempts: number;
	readonly loginRetryDelayMs: number;
	readonly baseUrl: string;
	readonly fetchDefaults: FetchDefaults;
	readonly allowInsecureLogin: boolean;
	readonly now: () => number;
	readonly log: {info(message: string): void; warn(message: string): void};
	/** Persists the session; awaited before a login or refresh counts as done. */
	readonly save: (session: Session) => Promise<void>;
	readonly disable: (session: Session, code: string, reason: string) => Promise<void>;
}

export class SessionLogins {
	readonly #options: SessionLoginsOptions;
	readonly #slots: PQueue;
	readonly #flights = new Map<Session, Promise<void>>();

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
		const flight = this.#authenticate(session, kind).finally(() => this.#flights.delete(session));
		this.#flights.set(session, flight);
		return flight;
	}

	async #authenticate(session: Session, kind: LoginKind): Promise<void> {
		const {login, log, save} = this.#options;
		session.state = 'logging-in';
		const context = this.#context(session);
		if (kind !== 'login' && login.refresh && session.tokens?.refreshToken) {
			try {
				await this.#slots.add(() => login.refresh!(context));
				session.markRefreshed();
				// Saved before anyone uses the new tokens: a rotated refresh token must survive a kill -9.
				await save(session);
				return;
			} catch (error) {
				log.warn(`session ${session.id}: ${describeError(error).message}; logging in again`);
			}
		}
		await this.#loginWithRetries(session, context);
	}

	async #loginWithRetries(session: Session, context: LoginContext): Promise<void> {
		const {login, log, save, loginMaxAttempts, loginRetryDelayMs, now} = this.#options;
		let lastError: unknown;
		let attempt = 0;
		while (attempt < loginMaxAttempts) {
			attempt++;
			// Start clean: a stale login cookie or token must not ride along with the new login.
			session.resetAuth();
			try {
				await this.#slots.add(() => login.login(context));
				session.markLoggedIn(now());
				await save(session);
				log.info(`session ${session.id}: logged in`);
				return;
			} catch (error) {
				lastError = error;
				session.stats.loginFailures++;
				// No retry can make plain http safe.
				if ((error as {code?: unknown}).code === 'ERR_INSECURE_CREDENTIALS') break;
				if (attempt < loginMaxAttempts) {
					log.warn(`session ${session.id}: ${describeError(error).message} (attempt ${attempt}/${loginMaxAttempts})`);
					await delay(loginRetryDelayMs * attempt);
				}
			}
		}
		const {code, message} = describeError(lastError);
		const finalCode = code === 'ERR_INSECURE_CREDENTIALS' ? code : 'LOGIN_FAILED';
		await this.#options.disable(session, finalCode, message);
		throw new CrawljarError(finalCode, `session ${session.id} disabled after ${attempt} failed login attempt(s): ${message}`, {cause: lastError});
	}

	#context(session: Session): LoginContext {
		const {baseUrl, fetchDefaults, login} = this.#options;
		const allowInsecureLogin = this.#options.allowInsecureLogin || (login.allowInsecureLogin ?? false);
		return {
			session,
			account: session.account,
			http: createSessionHttp(session, {baseUrl, fetchDefaults, allowInsecureLogin}),
			baseUrl,
			now: this.#options.now,
		};
	}
}
