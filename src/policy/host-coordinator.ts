// Host limits for the whole crawl (issue 10): this worker's share of each host's maxConcurrency
// and rate, and the cooldowns and adaptive rates every worker must share. The throttle stays a
// synchronous gate; this module talks to the store beside it, about twice a second (one batched
// claim and one read of the small hosts table), and sets the throttle's local caps.
//
// - Claims: for each host asked for lately, the fair part (limit ÷ claimants, see fair-share.ts)
//   but never less than what is in flight (the store's record must cover what this worker really
//   uses); the local cap is the grant, at most the fair part, so a holder drains down to its part
//   and a newcomer gets the rest at its next claim. Grants never add up past the limit, so
//   neither do the caps.
// - Rate: each worker sends at (its cap / the host's maxConcurrency) of the host's rate. Not
//   limit ÷ claimants: a newcomer is counted before the holders have given anything back, so
//   parts by claimants would add up past the whole rate for up to a claim round; parts by grant
//   never do.
// - A cooldown or a cut of the adaptive rate seen here is written at once; the others read it
//   at their next poll (≤ intervalMs), and their leases skip the host as soon as it is written.
import {hostname} from 'node:os';
import {randomBytes} from 'node:crypto';
import type {Logger} from '../job/types.js';
import type {HostUpdate, ShareClaim, ShareGrant, Store} from '../store/store.js';
import {fairShare} from './fair-share.js';
import type {HostState, HostThrottle} from './host-throttle.js';

export interface HostCoordinatorOptions {
	readonly store: Pick<Store, 'claimShares' | 'releaseShares' | 'updateHosts' | 'hosts'>;
	readonly throttle: HostThrottle;
	/** This worker's id in the store's shares. @default `host:pid:random` */
	readonly owner?: string;
	/** How often shares are claimed and host state is read. @default 500 */
	readonly intervalMs?: number;
	/**
	 * How long a claimed share holds without renewal: a dead worker's share is free after it, and
	 * a worker that could not renew (store unreachable, process paused) stops sending then. @default 5000
	 */
	readonly shareTtlMs?: number;
	/** A host not asked for this long is no longer claimed (its share lapses). @default 10_000 */
	readonly demandWindowMs?: number;
	readonly log?: Pick<Logger, 'warn'>;
	/** @default Date.now */
	readonly now?: () => number;
}

/** Shares of a host with no concurrency limit are claimed in these units: they only split its rate. */
const UNLIMITED_UNITS = 64;

interface Held {
	readonly grant: ShareGrant;
	readonly limit: number;
	readonly expiresAt: number;
}

export class HostCoordinator {
	readonly #store: HostCoordinatorOptions['store'];
	readonly #throttle: HostThrottle;
	readonly #owner: string;
	readonly #intervalMs: number;
	readonly #ttlMs: number;
	readonly #demandWindowMs: number;
	readonly #log: Pick<Logger, 'warn'> | undefined;
	readonly #now: () => number;
	readonly #held = new Map<string, Held>();
	/** Hosts whose cooldown or rate changed here and is not written yet. */
	readonly #changed = new Set<string>();
	#timer: NodeJS.Timeout | undefined;
	#tick: Promise<void> | undefined;
	#isTickAgain = false;
	#writes: Promise<void> = Promise.resolve();
	#isFailing = false;
	#isStopped = false;

	constructor(options: HostCoordinatorOptions) {
		this.#store = options.store;
		this.#throttle = options.throttle;
		this.#owner = options.owner ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
		this.#intervalMs = options.intervalMs ?? 500;
		this.#ttlMs = options.shareTtlMs ?? 5_000;
		this.#demandWindowMs = options.demandWindowMs ?? 10_000;
		this.#log = options.log;
		this.#now = options.now ?? Date.now;
		if (!(this.#ttlMs > this.#intervalMs)) throw new TypeError(`Expected \`shareTtlMs\` (${this.#ttlMs}) to be longer than \`intervalMs\` (${this.#intervalMs})`);
	}

	get owner(): string {
		return this.#owner;
	}

	/** Adopts the stored host state, attaches to the throttle and starts claiming. */
	async start(): Promise<void> {
		this.#adopt(await this.#store.hosts());
		this.#throttle.attachShares({
			// Claim at once: the host's requests wait for it (a lone worker gets the whole limit then).
			onShareNeeded: () => {
				if (!this.#isFailing) this.#runTick();
			},
			onChange: (host) => {
				this.#changed.add(host);
				this.#writeChanges();
			},
		});
		this.#timer = setInterval(() => this.#runTick(), this.#intervalMs);
		this.#timer.unref();
	}

	/** Stops claiming, writes the host state (cooldowns, learned rates) and gives the shares back. Idempotent. */
	async stop(): Promise<void> {
		if (this.#isStopped) return;
		this.#isStopped = true;
		clearInterval(this.#timer);
		await this.#tick?.catch(() => {});
		await this.#writes;
		await this.#store.updateHosts(this.#throttle.snapshot().map(toUpdate));
		await this.#store.releaseShares(this.#owner);
	}

	/** One round now (claims and host state); resolves when it is done. Rounds never overlap. */
	async tick(): Promise<void> {
		this.#runTick();
		while (this.#tick) await this.#tick;
	}

	#runTick(): void {
		if (this.#isStopped) return;
		if (this.#tick) {
			this.#isTickAgain = true;
			return;
		}
		this.#tick = this.#round()
			.then(
				() => {
					this.#isFailing = false;
				},
				(error: unknown) => {
					if (!this.#isFailing) this.#log?.warn(`could not claim host shares: ${error instanceof Error ? error.message : String(error)}`);
					this.#isFailing = true;
				},
			)
			.finally(() => {
				this.#tick = undefined;
				if (this.#isTickAgain) {
					this.#isTickAgain = false;
					this.#runTick();
				}
			});
	}

	async #round(): Promise<void> {
		const now = this.#now();
		this.#lapseExpired(now);
		const claims = this.#claims(now);
		const expiresAt = now + this.#ttlMs;
		const [grants, hosts] = await Promise.all([
			claims.length === 0 ? [] : this.#store.claimShares(claims.map(({claim}) => claim), this.#owner, now, expiresAt),
			this.#store.hosts(),
		]);
		// Host state first: a cooldown must be in force before a new share lets a request through.
		this.#adopt(hosts);
		grants.forEach((grant, index) => {
			const {host, limit, isUnlimited} = claims[index]!;
			this.#held.set(host, {grant, limit, expiresAt});
			const cap = Math.min(grant.granted, fairShare(limit, grant.claimants, grant.rank));
			this.#throttle.setShare(host, isUnlimited && cap > 0 ? Infinity : cap, cap / limit, expiresAt);
		});
	}

	/** Claims for the hosts asked for lately (a host that needs a share was asked for just now). */
	#claims(now: number): Array<{host: string; limit: number; isUnlimited: boolean; claim: ShareClaim}> {
		return this.#throttle.demand(now - this.#demandWindowMs).map(({host, maxConcurrency, inFlight}) => {
			const isUnlimited = !Number.isFinite(maxConcurrency);
			const limit = isUnlimited ? UNLIMITED_UNITS : maxConcurrency;
			const held = this.#held.get(host);
			const fair = held ? fairShare(limit, held.grant.claimants, held.grant.rank) : limit;
			const wanted = Math.min(limit, Math.max(fair, isUnlimited ? 0 : inFlight));
			return {host, limit, isUnlimited, claim: {key: `host:${host}`, wanted, limit}};
		});
	}

	/** Shares not renewed in time (no demand, or the store unreachable): the throttle stops using them at their expiry too. */
	#lapseExpired(now: number): void {
		for (const [host, held] of this.#held) {
			if (held.expiresAt > now) continue;
			this.#held.delete(host);
			this.#throttle.clearShare(host);
		}
	}

	#adopt(hosts: Awaited<ReturnType<Store['hosts']>>): void {
		for (const stored of hosts) {
			this.#throttle.adopt({
				host: stored.host,
				...(stored.cooldownUntil > 0 ? {cooldownUntil: stored.cooldownUntil} : {}),
				...(stored.rate === undefined ? {} : {adaptiveRate: stored.rate, rateSetAt: stored.rateSetAt}),
				...(stored.ceiling === undefined ? {} : {ceilingRate: stored.ceiling}),
			});
		}
	}

	/** Writes changed cooldowns and rates at once (one write at a time, changes batched meanwhile). */
	#writeChanges(): void {
		this.#writes = this.#writes.then(async () => {
			if (this.#changed.size === 0) return;
			const hosts = new Set(this.#changed);
			this.#changed.clear();
			try {
				await this.#store.updateHosts(this.#throttle.snapshot(hosts).map(toUpdate));
			} catch (error) {
				this.#log?.warn(`could not share host cooldowns: ${error instanceof Error ? error.message : String(error)}`);
			}
		});
	}
}

function toUpdate(state: HostState): HostUpdate {
	return {
		host: state.host,
		...(state.cooldownUntil === undefined ? {} : {cooldownUntil: state.cooldownUntil}),
		...(state.adaptiveRate === undefined || !state.rateSetAt
			? {}
			: {rate: {rate: state.adaptiveRate, ceiling: state.ceilingRate, setAt: state.rateSetAt}}),
	};
}
