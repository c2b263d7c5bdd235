// Definite login rejections (wrong credentials) per account. With a store they are shared by
// every worker of the crawl, so a wrong password is posted loginMaxAttempts times in total, not
// that many times per worker. A record counts only for the same scope (the run) and the same
// credentials: a fixed password, or the next run, starts again from zero. The credentials are
// recorded only as an HMAC under the session key, never in clear.
import {createHmac} from 'node:crypto';
import type {Store} from '../store/store.js';
import type {Account} from './session.js';

export interface Rejections {
	readonly count: number;
	readonly reason: string;
}

interface StoredRejections extends Rejections {
	readonly scope: string;
	readonly credentials: string;
}

export class AccountRejections {
	readonly #local = new Map<string, Rejections>();
	readonly #shared: {readonly store: Store; readonly key: Buffer; readonly scope: string} | undefined;

	constructor(shared?: {store: Store; key: Buffer; scope: string}) {
		this.#shared = shared;
	}

	async of(account: Account): Promise<Rejections | undefined> {
		if (!this.#shared) return this.#local.get(account.username);
		const raw = await this.#shared.store.getMeta(metaKey(account));
		const stored = raw === undefined ? undefined : (JSON.parse(raw) as StoredRejections);
		if (!stored || stored.scope !== this.#shared.scope || stored.credentials !== this.#credentials(account)) return undefined;
		return {count: stored.count, reason: stored.reason};
	}

	/** One more rejection; returns the new total. Called under the account's login turn. */
	async add(account: Account, reason: string): Promise<Rejections> {
		const count = ((await this.of(account))?.count ?? 0) + 1;
		const rejections = {count, reason};
		if (!this.#shared) {
			this.#local.set(account.username, rejections);
			return rejections;
		}
		const stored: StoredRejections = {...rejections, scope: this.#shared.scope, credentials: this.#credentials(account)};
		await this.#shared.store.setMeta(metaKey(account), JSON.stringify(stored));
		return rejections;
	}

	#credentials(account: Account): string {
		const sorted = Object.keys(account)
			.sort()
			.map((name) => [name, account[name]]);
		return createHmac('sha256', this.#shared!.key).update(JSON.stringify(sorted)).digest('base64url').slice(0, 22);
	}
}

function metaKey(account: Account): string {
	return `login-rejections ${account.username}`;
}
