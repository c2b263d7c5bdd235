// Per-host gate shared by every worker of a crawl: concurrency, requests per second (a token
// bucket of burst 1, so 20 req/s means one request every 50 ms), cooldown (a host that said
// "wait" waits for everyone) and an adaptive rate learned from rate-limited responses.
// Synchronous and timer-free: the runner owns the clock and asks before each dispatch.
// With shares (several workers on one store, see host-coordinator.ts) each host also has a
// local cap, this worker's share of the crawl's limits, set from outside; the gate still never
// waits on I/O.
import {AdaptiveRate} from './adaptive-rate.js';
import {compileHostPattern, type HostPattern} from './host-pattern.js';
import {HOST_DEFAULTS} from './host-options.js';
import {checkLimits, definedFields} from './host-limits-check.js';
import {observedRate, recordUsage, USAGE_WINDOW_S, type UsageWindow} from './host-usage.js';

export interface HostLimits {
	/** Requests in flight to one host at a time. @default 4 */
	readonly maxConcurrency?: number;
	/** Requests per second to one host; undefined: unlimited (until the host rate-limits). @default undefined */
	readonly maxRequestsPerSecond?: number;
}

export interface HostThrottleOptions {
	readonly defaults?: HostLimits;
	/** Per-host overrides; the first matching entry wins. See compileHostPattern for `match`. */
	readonly hosts?: ReadonlyArray<HostLimits & {readonly match: HostPattern}>;
	/** @default Date.now */
	readonly now?: () => number;
}

export type AcquireResult =
	| {readonly ok: true}
	/** `retryInMs` 0 with 'concurrency': try again when a request to the host is released. */
	| {readonly ok: false; readonly retryInMs: number; readonly reason: 'cooldown' | 'concurrency' | 'rate' | 'share'};

/** Told synchronously of what a coordinator of shared limits must act on (see attachShares). */
export interface ShareObserver {
	/** A host was asked for and has no share (new, or its share lapsed): requests wait with reason 'share' until setShare. */
	onShareNeeded(host: string): void;
	/** The host's cooldown was extended or its adaptive rate was cut: others must hear of it. */
	onChange(host: string): void;
}

/** What a coordinator needs to claim a host's share. */
export interface ShareDemand {
	readonly host: string;
	readonly maxConcurrency: number;
	readonly inFlight: number;
	/** Last tryAcquire of the host (epoch ms). */
	readonly lastAskedAt: number;
}

/**
 * How a request ended, for the host's adaptive rate. 'cancelled': acquired but never sent
 * (no session free, …): the slot and the rate token are given back.
 */
export type ReleaseResult = 'ok' | 'rate-limited' | 'error' | 'cancelled';

/** What survives a restart (the runner stores it in the store's meta). */
export interface HostState {
	readonly host: string;
	readonly cooldownUntil?: number;
	/** The learned rate limit, req/s. */
	readonly adaptiveRate?: number;
	/** The rate the host last refused, req/s. */
	readonly ceilingRate?: number;
	/** When the learned rate was last cut (or adopted from another worker), epoch ms. */
	readonly rateSetAt?: number;
}

export interface HostStats {
	readonly host: string;
	readonly inFlight: number;
	/** The limit in force (configured or learned), req/s; undefined: unlimited. */
	readonly rateLimit: number | undefined;
	readonly rateLimitedCount: number;
	/** Time spent cooling down so far (the part of a cooldown still ahead is not counted). */
	readonly cooldownMs: number;
	readonly cooldownUntil: number | undefined;
}

const DEFAULT_MAX_CONCURRENCY = HOST_DEFAULTS.maxConcurrency;
/** The limit counts as in use while a request was held back by it this recently. */
const LIMITING_WINDOW_MS = 2_000;
/** A host with no share yet asks again this soon (its first claim is on its way). */
const FIRST_SHARE_WAIT_MS = 20;
/** A host whose share is 0 asks again after this long: shares change at the next claim. */
const NO_SHARE_WAIT_MS = 1_000;

interface HostEntry extends UsageWindow {
	readonly maxConcurrency: number;
	readonly configuredRate: number | undefined;
	readonly adaptive: AdaptiveRate;
	/** This worker's share: requests in flight (Infinity without shares; undefined: not granted yet). */
	shareConcurrency: number | undefined;
	/** This worker's part of the host's rate (1 without shares). */
	rateFraction: number;
	/** The share lapses then unless renewed (epoch ms; Infinity without shares). */
	shareUntil: number;
	lastAskedAt: number;
	inFlight: number;
	tokens: number;
	refilledAt: number;
	cooldownUntil: number;
	/** Cooldown time accounted so far, including the part of the current one still ahead. */
	cooldownBookedMs: number;
	rateLimitedCount: number;
	lastRateDenialAt: number;
}

export class HostThrottle {
	readonly #defaults: Required<Pick<HostLimits, 'maxConcurrency'>> & HostLimits;
	readonly #rules: ReadonlyArray<{readonly test: (host: string) => boolean; readonly limits: HostLimits}>;
	readonly #now: () => number;
	readonly #hosts = new Map<string, HostEntry>();
	/** One-shot callbacks run (synchronously) when a request to the host is released. */
	readonly #releaseListeners = new Map<string, Array<() => void>>();
	#shares: ShareObserver | undefined;

	constructor(options: HostThrottleOptions = {}) {
		const defaults = {maxConcurrency: DEFAULT_MAX_CONCURRENCY, ...definedFields(options.defaults)};
		checkLimits('defaults', defaults);
		this.#defaults = defaults;
		this.#rules = (options.hosts ?? []).map(({match, ...limits}, index) => {
			checkLimits(`hosts[${index}]`, limits);
			return {test: compileHostPattern(match), limits: definedFields(limits)};
		});
		this.#now = options.now ?? Date.now;
	}

	tryAcquire(host: string): AcquireResult {
		const now = this.#now();
		const entry = this.#entry(host);
		entry.lastAskedAt = now;
		if (entry.cooldownUntil > now) return {ok: false, retryInMs: entry.cooldownUntil - now, reason: 'cooldown'};
		if (entry.inFlight >= entry.maxConcurrency) return {ok: false, retryInMs: 0, reason: 'concurrency'};
		const share = entry.shareUntil > now ? entry.shareConcurrency : undefined;
		if (share === undefined) {
			this.#shares?.onShareNeeded(host);
			return {ok: false, retryInMs: FIRST_SHARE_WAIT_MS, reason: 'share'};
		}
		if (entry.inFlight >= share) {
			// Below its share a release frees a slot; with no share at all only the next claim can.
			return entry.inFlight === 0 ? {ok: false, retryInMs: NO_SHARE_WAIT_MS, reason: 'share'} : {ok: false, retryInMs: 0, reason: 'concurrency'};
		}
		const rate = localRate(entry);
		if (rate === 0) return {ok: false, retryInMs: NO_SHARE_WAIT_MS, reason: 'share'};
		if (rate !== undefined) {
			refill(entry, rate, now);
			if (entry.tokens < 1) {
				entry.lastRateDenialAt = now;
				return {ok: false, retryInMs: Math.max(1, Math.ceil(((1 - entry.tokens) * 1000) / rate)), reason: 'rate'};
			}
			entry.tokens -= 1;
		}
		entry.inFlight++;
		recordUsage(entry, now);
		return {ok: true};
	}

	release(host: string, result: ReleaseResult): void {
		const entry = this.#hosts.get(host);
		if (!entry || entry.inFlight === 0) throw new Error(`HostThrottle.release(): nothing in flight for ${host}`);
		const now = this.#now();
		entry.inFlight--;
		// Settle the bucket at the old rate before the rate changes.
		const before = localRate(entry);
		if (before !== undefined) refill(entry, before, now);
		// The limit is in use while it held requests back recently. "Recently" scales with the
		// interval: at 0.5 req/s a denial is 2 s old.
		const isLimiting = now - entry.lastRateDenialAt <= Math.max(LIMITING_WINDOW_MS, before === undefined ? 0 : 2_000 / before);
		if (result === 'cancelled') {
			entry.tokens = Math.min(1, entry.tokens + 1);
			entry.adaptive.onReleased();
		} else if (result === 'rate-limited') {
			entry.rateLimitedCount++;
			// The adaptive rate is the host's, for the whole crawl: this worker saw its part of the traffic.
			const observed = observedRate(entry, now) / Math.max(entry.rateFraction, 1e-9);
			if (entry.adaptive.onRateLimited(now, observed, entry.inFlight, isLimiting)) this.#shares?.onChange(host);
		} else if (result === 'ok') {
			entry.adaptive.onSuccess(isLimiting, 1 / Math.max(entry.rateFraction, 1e-9));
		} else {
			entry.adaptive.onReleased();
		}
		this.#settleRate(entry, before, now);
		const listeners = this.#releaseListeners.get(host);
		if (listeners) {
			this.#releaseListeners.delete(host);
			for (const listener of listeners) listener();
		}
	}

	/**
	 * Calls `listener` once, synchronously, at the next release of a request to `host`: a waiter
	 * (a login request, see host-slot.ts) can take the freed slot before the next dispatch does.
	 */
	onNextRelease(host: string, listener: () => void): void {
		const listeners = this.#releaseListeners.get(host);
		if (listeners) listeners.push(listener);
		else this.#releaseListeners.set(host, [listener]);
	}

	/** Pauses the host until `untilMs` for every worker. Extends a cooldown, never shortens it. */
	cooldown(host: string, untilMs: number): void {
		if (this.#extendCooldown(this.#entry(host), untilMs)) this.#shares?.onChange(host);
	}

	/**
	 * Shared limits: from now on a host's requests wait (reason 'share') until `setShare` gives it
	 * a share, and `observer` hears of new hosts and of cooldowns and rate cuts to pass on.
	 */
	attachShares(observer: ShareObserver): void {
		this.#shares = observer;
		for (const entry of this.#hosts.values()) entry.shareConcurrency = undefined;
	}

	/**
	 * This worker's share of a host's limits until `untilMs` (then the host waits for a new one):
	 * at most `maxConcurrency` in flight (never above the host's own limit) and `rateFraction`
	 * (0..1) of its rate, configured or learned.
	 */
	setShare(host: string, maxConcurrency: number, rateFraction: number, untilMs: number): void {
		const entry = this.#entry(host);
		// A first share sets the part of the rate, it does not cut a rate that was never in use.
		const before = entry.shareConcurrency === undefined ? undefined : localRate(entry);
		entry.shareConcurrency = Math.max(0, maxConcurrency);
		entry.rateFraction = Math.min(1, Math.max(0, rateFraction));
		entry.shareUntil = untilMs;
		if (before !== undefined) this.#settleRate(entry, before, this.#now());
	}

	/** The host's share lapsed (not renewed): its requests wait until the next setShare. */
	clearShare(host: string): void {
		const entry = this.#hosts.get(host);
		if (entry && this.#shares) entry.shareConcurrency = undefined;
	}

	/** Hosts asked for since `sinceMs` or with requests in flight: the shares worth claiming. */
	demand(sinceMs: number): ShareDemand[] {
		const demand: ShareDemand[] = [];
		for (const [host, entry] of this.#hosts) {
			if (entry.inFlight === 0 && entry.lastAskedAt < sinceMs) continue;
			demand.push({host, maxConcurrency: entry.maxConcurrency, inFlight: entry.inFlight, lastAskedAt: entry.lastAskedAt});
		}
		return demand;
	}

	/**
	 * Applies what another worker learned: a cooldown (extends only) and, when it was set later
	 * than the one this throttle has, the host's adaptive rate. Tells no observer (it came from one).
	 */
	adopt(state: HostState): void {
		const entry = this.#entry(state.host);
		if (typeof state.cooldownUntil === 'number') this.#extendCooldown(entry, state.cooldownUntil);
		if (state.adaptiveRate !== undefined && (state.rateSetAt ?? 0) > entry.adaptive.setAt) {
			const before = localRate(entry);
			entry.adaptive.restore(state.adaptiveRate, state.ceilingRate, state.rateSetAt);
			this.#settleRate(entry, before, this.#now());
		}
	}

	#extendCooldown(entry: HostEntry, untilMs: number): boolean {
		const from = Math.max(this.#now(), entry.cooldownUntil);
		if (untilMs <= from) return false;
		entry.cooldownBookedMs += untilMs - from;
		entry.cooldownUntil = untilMs;
		return true;
	}

	/** A slower rate must not inherit a token banked at the faster (or no) rate. */
	#settleRate(entry: HostEntry, before: number | undefined, now: number): void {
		const after = localRate(entry);
		if (after !== undefined && (before === undefined || after < before)) {
			entry.tokens = Math.min(entry.tokens, 0);
			entry.refilledAt = now;
		}
	}

	/** The end of the host's cooldown, or undefined when it is not cooling down. */
	cooldownUntil(host: string): number | undefined {
		const until = this.#hosts.get(host)?.cooldownUntil ?? 0;
		return until > this.#now() ? until : undefined;
	}

	isCoolingDown(host: string): boolean {
		return this.cooldownUntil(host) !== undefined;
	}

	/** Hosts with a cooldown ahead or a learned rate, for persisting (`hosts`: only these). */
	snapshot(hosts?: ReadonlySet<string>): HostState[] {
		const now = this.#now();
		const states: HostState[] = [];
		for (const [host, entry] of this.#hosts) {
			if (hosts && !hosts.has(host)) continue;
			const rate = entry.adaptive.rate;
			const isCooling = entry.cooldownUntil > now;
			if (!isCooling && rate === undefined) continue;
			states.push({
				host,
				...(isCooling ? {cooldownUntil: entry.cooldownUntil} : {}),
				...(rate === undefined ? {} : {adaptiveRate: rate, ceilingRate: entry.adaptive.ceiling ?? rate, rateSetAt: entry.adaptive.setAt}),
			});
		}
		return states;
	}

	/**
	 * Applies a snapshot (after a restart): cooldowns only extend, learned rates replace.
	 * Stored data is not trusted blindly: malformed entries (or a non-array) are skipped.
	 */
	restore(states: readonly HostState[]): void {
		if (!Array.isArray(states)) return;
		for (const state of states as unknown[]) {
			if (!isHostState(state)) continue;
			if (typeof state.cooldownUntil === 'number' && Number.isFinite(state.cooldownUntil)) {
				this.cooldown(state.host, state.cooldownUntil);
			}
			this.#entry(state.host).adaptive.restore(state.adaptiveRate, state.ceilingRate);
		}
	}

	stats(host: string): HostStats;
	stats(): HostStats[];
	stats(host?: string): HostStats | HostStats[] {
		const now = this.#now();
		if (host !== undefined) return statsOf(host, this.#entry(host), now);
		return [...this.#hosts].map(([name, entry]) => statsOf(name, entry, now));
	}

	#entry(host: string): HostEntry {
		let entry = this.#hosts.get(host);
		if (!entry) {
			const limits = {...this.#defaults, ...this.#rules.find((rule) => rule.test(host))?.limits};
			entry = {
				maxConcurrency: limits.maxConcurrency,
				configuredRate: limits.maxRequestsPerSecond,
				adaptive: new AdaptiveRate(limits.maxRequestsPerSecond),
				shareConcurrency: this.#shares ? undefined : Infinity,
				rateFraction: 1,
				shareUntil: Infinity,
				lastAskedAt: -Infinity,
				inFlight: 0,
				tokens: 1,
				refilledAt: this.#now(),
				cooldownUntil: 0,
				cooldownBookedMs: 0,
				rateLimitedCount: 0,
				lastRateDenialAt: -Infinity,
				firstAcquireAt: -Infinity,
				usage: Array.from({length: USAGE_WINDOW_S}, () => 0),
				usageSeconds: Array.from({length: USAGE_WINDOW_S}, () => -1),
			};
			this.#hosts.set(host, entry);
		}
		return entry;
	}
}

function isHostState(value: unknown): value is HostState {
	return typeof value === 'object' && value !== null && typeof (value as {host?: unknown}).host === 'string';
}

function effectiveRate(entry: HostEntry): number | undefined {
	const learned = entry.adaptive.rate;
	if (learned === undefined) return entry.configuredRate;
	return entry.configuredRate === undefined ? learned : Math.min(learned, entry.configuredRate);
}

/** The rate this worker sends at: its part of the host's rate. */
function localRate(entry: HostEntry): number | undefined {
	const rate = effectiveRate(entry);
	return rate === undefined ? undefined : rate * entry.rateFraction;
}

function refill(entry: HostEntry, rate: number, now: number): void {
	if (now > entry.refilledAt) {
		entry.tokens = Math.min(1, entry.tokens + ((now - entry.refilledAt) * rate) / 1000);
	}
	entry.refilledAt = Math.max(entry.refilledAt, now);
}

function statsOf(host: string, entry: HostEntry, now: number): HostStats {
	const ahead = Math.max(0, entry.cooldownUntil - now);
	return {
		host,
		inFlight: entry.inFlight,
		rateLimit: effectiveRate(entry),
		rateLimitedCount: entry.rateLimitedCount,
		cooldownMs: entry.cooldownBookedMs - ahead,
		cooldownUntil: ahead > 0 ? entry.cooldownUntil : undefined,
	};
}
