// sessions.maxConcurrency across the whole crawl (issue 10 item 3): each worker claims a share
// of every session's limit from the store (Store.claimShares, one batched call about once a
// second), asks for at most its fair part (limit ÷ claimants, see policy/fair-share.ts), and the
// pool enforces the granted share locally, with no round trip per request. A share expires with
// its holder: a dead worker's part is back within `expiryMs`.
import {describeError} from '../errors.js';
import {fairShare} from '../policy/fair-share.js';
import type {ShareGrant, Store} from '../store/store.js';
import type {Session} from './session.js';

/**
 * The claimant name of a worker's session shares: its own, so releasing them does not drop the
 * worker's host shares (which are claimed under the worker's id itself).
 */
export function sessionShareOwner(workerOwner: string): string {
	return `${workerOwner} sessions`;
}

export interface SessionSharesOptions {
	readonly store: Store;
	/** The claimant in the store, for session shares only (stop() releases everything it holds). */
	readonly owner: string;
	readonly limit: number;
	readonly now: () => number;
	readonly log: {warn(message: string): void};
	/** Called after every claim: a grown share may let waiting requests go. */
	readonly onGranted: () => void;
	/** @default 1000 */
	readonly claimEveryMs?: number;
}

export class SessionShares {
	readonly #options: SessionSharesOptions;
	readonly #granted = new Map<string, number>();
	readonly #last = new Map<string, ShareGrant>();
	#timer: NodeJS.Timeout | undefined;
	#failing = false;

	constructor(options: SessionSharesOptions) {
		this.#options = options;
	}

	/** Requests this worker may have in flight on `session` now: its grant, and never past its fair part. */
	allowed(session: Session): number {
		return Math.min(this.#granted.get(session.id) ?? 0, this.#fairPart(session));
	}

	/** limit ÷ claimants (by rank), once the last claim said how many there are; the limit before. */
	#fairPart(session: Session): number {
		const last = this.#last.get(session.id);
		return last ? fairShare(this.#options.limit, last.claimants, last.rank) : this.#options.limit;
	}

	/** Claims once (awaited: the first leases need a grant), then about once a second. */
	async start(sessions: readonly Session[]): Promise<void> {
		await this.claim(sessions);
		const every = this.#options.claimEveryMs ?? 1_000;
		this.#timer = setInterval(() => void this.claim(sessions), every);
		this.#timer.unref();
	}

	async claim(sessions: readonly Session[]): Promise<void> {
		const {store, owner, limit, now, log} = this.#options;
		const every = this.#options.claimEveryMs ?? 1_000;
		const claims = sessions
			.filter((session) => session.isUsable)
			// Its fair part, or what it still has in flight if more: a worker draining down to a
			// smaller part keeps holding what it uses, so the grants never add up past the limit.
			.map((session) => ({key: `session:${session.id}`, wanted: Math.max(session.inFlight, this.#fairPart(session)), limit}));
		try {
			const grants = await store.claimShares(claims, owner, now(), now() + 5 * every);
			this.#failing = false;
			for (const grant of grants) {
				const id = grant.key.slice('session:'.length);
				this.#last.set(id, grant);
				this.#granted.set(id, grant.granted);
			}
		} catch (error) {
			// Keep the last grants: they expire in the store on their own if this worker is cut off.
			if (!this.#failing) log.warn(`could not claim session shares: ${describeError(error).message}`);
			this.#failing = true;
		}
		this.#options.onGranted();
	}

	async stop(): Promise<void> {
		if (this.#timer) clearInterval(this.#timer);
		this.#timer = undefined;
		await this.#options.store.releaseShares(this.#options.owner).catch(() => {});
	}
}
