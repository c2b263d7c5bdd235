// Per-host gate shared by every worker of a crawl: concurrency, requests per second (a token
// bucket of burst 1, so 20 req/s means one request every 50 ms), cooldown (a host that said
// "wait" waits for everyone) and an adaptive rate learned from rate-limited responses.
// Synchronous and timer-free: the runner owns the clock and asks before each dispatch.
import {AdaptiveRate} from './adaptive-rate.js';
import {compileHostPattern, type HostPattern} from './host-pattern.js';
import {HOST_DEFAULTS} from './host-options.js';

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
	| {readonly ok: false; readonly retryInMs: number; readonly reason: 'cooldown' | 'concurrency' | 'rate'};

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
/** Recent use is measured over at most this many one-second buckets... */
const USAGE_WINDOW_S = 5;
/** ...and over as few as give this many requests. */
const OBSERVED_MIN_COUNT = 10;
/** The limit counts as in use while a request was held back by it this recently. */
const LIMITING_WINDOW_MS = 2_000;

interface HostEntry {
	readonly maxConcurrency: number;
	readonly configuredRate: number | undefined;
	readonly adaptive: AdaptiveRate;
	inFlight: number;
	tokens: number;
	refilledAt: number;
	cooldownUntil: number;
	/** Cooldown time accounted so far, including the part of the current one still ahead. */
	cooldownBookedMs: number;
	rateLimitedCount: number;
	lastRateDenialAt: number;
	firstAcquireAt: number;
	/** Acquires per second, ring indexed by the second (`usageSeconds` says which second each holds). */
	readonly usage: number[];
	readonly usageSeconds: number[];
}

export class HostThrottle {
	readonly #defaults: Required<Pick<HostLimits, 'maxConcurrency'>> & HostLimits;
	readonly #rules: ReadonlyArray<{readonly test: (host: string) => boolean; readonly limits: HostLimits}>;
	readonly #now: () => number;
	readonly #hosts = new Map<string, HostEntry>();
	/** One-shot callbacks run (synchronously) when a request to the host is released. */
	readonly #releaseListeners = new Map<string, Array<() => void>>();

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
		if (entry.cooldownUntil > now) return {ok: false, retryInMs: entry.cooldownUntil - now, reason: 'cooldown'};
		if (entry.inFlight >= entry.maxConcurrency) return {ok: false, retryInMs: 0, reason: 'concurrency'};
		const rate = effectiveRate(entry);
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
		const before = effectiveRate(entry);
		if (before !== undefined) refill(entry, before, now);
		// The limit is in use while it held requests back recently. "Recently" scales with the
		// interval: at 0.5 req/s a denial is 2 s old.
		const isLimiting = now - entry.lastRateDenialAt <= Math.max(LIMITING_WINDOW_MS, before === undefined ? 0 : 2_000 / before);
		if (result === 'cancelled') {
			entry.tokens = Math.min(1, entry.tokens + 1);
			entry.adaptive.onReleased();
		} else if (result === 'rate-limited') {
			entry.rateLimitedCount++;
			entry.adaptive.onRateLimited(now, observedRate(entry, now), entry.inFlight, isLimiting);
		} else if (result === 'ok') {
			entry.adaptive.onSuccess(isLimiting);
		} else {
			entry.adaptive.onReleased();
		}
		const after = effectiveRate(entry);
		if (after !== undefined && (before === undefined || after < before)) {
			// A slower rate must not inherit a token banked at the faster (or no) rate.
			entry.tokens = Math.min(entry.tokens, 0);
			entry.refilledAt = now;
		}
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
		const now = this.#now();
		const entry = this.#entry(host);
		const from = Math.max(now, entry.cooldownUntil);
		if (untilMs <= from) return;
		entry.cooldownBookedMs += untilMs - from;
		entry.cooldownUntil = untilMs;
	}

	/** The end of the host's cooldown, or undefined when it is not cooling down. */
	cooldownUntil(host: string): number | undefined {
		const until = this.#hosts.get(host)?.cooldownUntil ?? 0;
		return until > this.#now() ? until : undefined;
	}

	isCoolingDown(host: string): boolean {
		return this.cooldownUntil(host) !== undefined;
	}

	/** Hosts with a cooldown ahead or a learned rate, for persisting. */
	snapshot(): HostState[] {
		const now = this.#now();
		const states: HostState[] = [];
		for (const [host, entry] of this.#hosts) {
			const rate = entry.adaptive.rate;
			const isCooling = entry.cooldownUntil > now;
			if (!isCooling && rate === undefined) continue;
			states.push({
				host,
				...(isCooling ? {cooldownUntil: entry.cooldownUntil} : {}),
				...(rate === undefined ? {} : {adaptiveRate: rate, ceilingRate: entry.adaptive.ceiling ?? rate}),
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

function refill(entry: HostEntry, rate: number, now: number): void {
	if (now > entry.refilledAt) {
		entry.tokens = Math.min(1, entry.tokens + ((now - entry.refilledAt) * rate) / 1000);
	}
	entry.refilledAt = Math.max(entry.refilledAt, now);
}

function recordUsage(entry: HostEntry, now: number): void {
	if (entry.firstAcquireAt === -Infinity) entry.firstAcquireAt = now;
	const second = Math.floor(now / 1000);
	const slot = second % USAGE_WINDOW_S;
	if (entry.usageSeconds[slot] !== second) {
		entry.usageSeconds[slot] = second;
		entry.usage[slot] = 0;
	}
	entry.usage[slot]!++;
}

/**
 * Requests per second sent lately: over the current second and the ones before it, back to
 * the first that gives at least a second of span and OBSERVED_MIN_COUNT requests (at most
 * USAGE_WINDOW_S seconds). A short window: a longer average, taken while the rate was
 * climbing or after a pause, lies below the pace the host just refused.
 */
function observedRate(entry: HostEntry, now: number): number {
	const second = Math.floor(now / 1000);
	let count = 0;
	let spanMs = 0;
	for (let back = 0; back < USAGE_WINDOW_S; back++) {
		const slot = (second - back) % USAGE_WINDOW_S;
		if (entry.usageSeconds[slot] === second - back) count += entry.usage[slot]!;
		spanMs = Math.min(now - (second - back) * 1000, now - entry.firstAcquireAt);
		if (spanMs >= 1000 && count >= OBSERVED_MIN_COUNT) break;
	}
	return (count * 1000) / Math.max(1000, spanMs);
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

function checkLimits(where: string, limits: HostLimits): void {
	const {maxConcurrency, maxRequestsPerSecond} = limits;
	if (maxConcurrency !== undefined && !(Number.isInteger(maxConcurrency) && maxConcurrency >= 1) && maxConcurrency !== Infinity) {
		throw new TypeError(`Expected \`${where}.maxConcurrency\` to be an integer >= 1, got \`${String(maxConcurrency)}\``);
	}
	if (maxRequestsPerSecond !== undefined && !(Number.isFinite(maxRequestsPerSecond) && maxRequestsPerSecond > 0)) {
		throw new TypeError(`Expected \`${where}.maxRequestsPerSecond\` to be a number > 0, got \`${String(maxRequestsPerSecond)}\``);
	}
}

function definedFields<T extends object>(value: T | undefined): Partial<T> {
	if (!value) return {};
	return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as Partial<T>;
}
