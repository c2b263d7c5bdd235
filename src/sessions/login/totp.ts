// One-time codes for `account.totpSecret` (RFC 6238: SHA-1, 6 digits, 30 s steps), computed by
// otpauth. A code is used at most once per account: a site that saw a code accept it once, and
// sessions of one account logging in within the same 30 s would otherwise send the same one.
// So the logins of an account that has a totpSecret take turns, and a turn whose window's code
// was already used waits for the next window before it starts. (Within one process; workers on
// other machines each keep their own record.)
import {setTimeout as delay} from 'node:timers/promises';
import {Secret, TOTP} from 'otpauth';
import {CrawljarError} from '../../errors.js';
import type {Account} from '../session.js';

export const TOTP_PERIOD_MS = 30_000;

/** `totp()` in a login step: the current code of the account's secret. */
export type TotpCode = () => string;

/** Why `value` is not a usable base32 TOTP secret, or undefined when it is one. */
export function totpSecretProblem(value: unknown): string | undefined {
	if (typeof value !== 'string' || value.trim() === '') return 'expected a base32 TOTP secret (A–Z, 2–7)';
	const compact = value.replace(/[\s-]/g, '').replace(/=+$/, '');
	if (!/^[A-Za-z2-7]+$/.test(compact)) return 'expected a base32 TOTP secret (A–Z, 2–7; spaces and padding allowed)';
	if (compact.length < 16) return 'expected a base32 TOTP secret of at least 16 characters (80 bits)';
	return undefined;
}

/** The RFC 6238 code of `secret` at `timestampMs`. */
export function totpCodeAt(secret: string, timestampMs: number): string {
	const compact = secret.replace(/[\s-]/g, '').replace(/=+$/, '').toUpperCase();
	return TOTP.generate({secret: Secret.fromBase32(compact), algorithm: 'SHA1', digits: 6, period: TOTP_PERIOD_MS / 1000, timestamp: timestampMs});
}

export interface TotpGuardOptions {
	readonly now?: () => number;
	readonly sleep?: (ms: number) => Promise<void>;
}

export class TotpGuard {
	readonly #now: () => number;
	readonly #sleep: (ms: number) => Promise<void>;
	/** The last 30 s window whose code each account used. */
	readonly #lastWindow = new Map<string, number>();
	readonly #turns = new Map<string, Promise<void>>();

	constructor(options: TotpGuardOptions = {}) {
		this.#now = options.now ?? Date.now;
		this.#sleep = options.sleep ?? ((ms) => delay(ms));
	}

	/**
	 * Runs one login attempt with a `totp()` for the account. Accounts without a totpSecret run at
	 * once (their `totp()` throws LOGIN_FAILED); the others take turns, each in a fresh window.
	 */
	async run<T>(account: Account, attempt: (totp: TotpCode) => Promise<T>): Promise<T> {
		const secret = typeof account.totpSecret === 'string' ? account.totpSecret : undefined;
		if (secret === undefined) {
			return attempt(() => {
				throw new CrawljarError('LOGIN_FAILED', `login failed for account '${account.username}': totp() was called but the account has no totpSecret`);
			});
		}
		const key = account.username;
		const previous = this.#turns.get(key) ?? Promise.resolve();
		let done!: () => void;
		const mine = new Promise<void>((resolve) => (done = resolve));
		const chained = previous.then(() => mine);
		this.#turns.set(key, chained);
		await previous;
		try {
			const used = this.#lastWindow.get(key);
			const nowMs = this.#now();
			if (used !== undefined && windowOf(nowMs) <= used) await this.#sleep((used + 1) * TOTP_PERIOD_MS - nowMs + 50);
			return await attempt(() => {
				const at = this.#now();
				this.#lastWindow.set(key, Math.max(windowOf(at), this.#lastWindow.get(key) ?? -1));
				return totpCodeAt(secret, at);
			});
		} finally {
			done();
			if (this.#turns.get(key) === chained) this.#turns.delete(key);
		}
	}
}

function windowOf(ms: number): number {
	return Math.floor(ms / TOTP_PERIOD_MS);
}

/** The process's guard: every login strategy of every crawl in this process shares it. */
export const totpGuard = new TotpGuard();
