// One host's learned request rate (AIMD with a remembered ceiling, as TCP CUBIC remembers
// W_max). Pure state machine: the caller passes the time and what it observed.
//
// - Rate-limited: remember the rate the host refused (the ceiling) and cut the rate in use.
//   While the limit is in force (it held requests back just now), the refused rate is the rate
//   in force: that is the pace the requests were sent at. Otherwise it is the lower of the
//   limit and the rate observed over the last second or two, so a limit far above real use
//   still bites (TCP cuts the flight size, not the window). Both are the pace just refused; an
//   average over more seconds, taken while the rate was climbing, lies below it, and a ceiling
//   learned from it settles below the host's limit (~87% of it in simulation, not ~92%). When
//   concurrency rather than the rate paces the requests, the rate in force may lie above the
//   pace and the cut not slow them: the next refusal, after the hold, cuts again.
// - The cut: to half on a first refusal (the observed rate says little about the host's
//   limit), to 70% (CUBIC's β) when a learned limit in force is refused: the host's limit is
//   known to lie just below it. Further refusals are ignored for HOLD_MS and until the
//   requests already in flight have come back: they were sent at the old rate and say nothing
//   about the new one; without this hold one burst of refusals would cut the rate to the floor.
// - Each success, while the limit is actually being used and the request was sent after the
//   last cut, adds (RECOVERY * max(0, TARGET * ceiling - rate) + PROBE * ceiling
//   + CONVEX * max(0, rate - ceiling)) / rate req/s: at saturation `rate` successes arrive per
//   second, so per second the rate closes RECOVERY (60%) of the gap to 95% of the ceiling,
//   creeps up by PROBE (0.3%) of the ceiling, and past the ceiling grows CONVEX (30%) of its
//   excess. The curve has CUBIC's shape: back to ~90% of the refused rate in about 3 s, a
//   plateau of ~15 s just under it (where a host that refused at the ceiling admits), then a
//   probe that speeds up once past it. A host whose limit stays put refuses again near the
//   ceiling: one 429 every ~20 s. Without the plateau (the previous curve: 40% of the gap to
//   the ceiling itself, +2%/s) the rate reached the ceiling ~6 s after each cut and spent the
//   cycle climbing back (~80% of the limit). Simulated against a server admitting 20 req/s in
//   any sliding second (test/policy/host-throttle-aimd.test.ts): about 92% of the limit after
//   warm-up, well under 1% refused; scale-free, the same shape at 2 req/s or 500 req/s.
// - The adaptive limit is dropped when it has climbed to the configured maximum, or to twice
//   the refused rate with no refusal on the way (about 30 s of saturation): the host's limit
//   has gone or moved far up, and a new refusal re-learns it from the observed rate.

/** Fraction of the rate kept on a first refusal, or one that does not refuse the limit in force. */
const FIRST_DECREASE = 0.5;
/** Fraction of the rate kept when the learned limit in force is refused. */
const DECREASE = 0.7;
/** No adaptive rate goes below this (req/s): one request every 2 s still makes progress. */
const MIN_ADAPTIVE_RATE = 0.5;
const HOLD_MS = 1_000;
/** The rate recovers quickly to this share of the ceiling; above it, it only probes. */
const TARGET = 0.95;
/** Per second of saturated success: share of the gap to TARGET * ceiling closed. */
const RECOVERY = 0.6;
/** Per second of saturated success: growth as a share of the ceiling. */
const PROBE = 0.003;
/** Per second of saturated success above the ceiling: growth as a share of the excess. */
const CONVEX = 0.3;
/** The limit is dropped at this multiple of the refused rate. */
const DROP_AT = 2;

export class AdaptiveRate {
	readonly #max: number | undefined;
	#rate: number | undefined;
	#ceiling: number | undefined;
	#lastCutAt = -Infinity;
	/** When the rate was last cut here or adopted from elsewhere (0: never): the newest wins across workers. */
	#setAt = 0;
	#inFlightAtCut = 0;

	/** @param max the configured requests per second (undefined: unlimited) */
	constructor(max: number | undefined) {
		this.#max = max;
	}

	/** The learned limit in req/s; undefined when not limiting (the configured max applies). */
	get rate(): number | undefined {
		return this.#rate;
	}

	get ceiling(): number | undefined {
		return this.#ceiling;
	}

	get setAt(): number {
		return this.#setAt;
	}

	/**
	 * @param observedRate requests per second sent over the last second or two
	 * @param inFlight requests still in flight, not counting the refused one
	 * @param isLimiting whether requests were held back by the rate in force recently (it is the pace they were sent at)
	 * @returns whether the rate was cut
	 */
	onRateLimited(now: number, observedRate: number, inFlight: number, isLimiting: boolean): boolean {
		const wasSentBeforeCut = this.#takeSentBeforeCut();
		if (wasSentBeforeCut || now - this.#lastCutAt < HOLD_MS) return false;
		const inForce = Math.min(this.#rate ?? Infinity, this.#max ?? Infinity);
		const isInForce = isLimiting && Number.isFinite(inForce);
		const refused = isInForce ? inForce : Math.min(inForce, observedRate);
		// No observation at all (a refusal on the first request): start from the floor's double.
		const current = Number.isFinite(refused) && refused > 0 ? refused : 2 * MIN_ADAPTIVE_RATE;
		const decrease = isInForce && this.#ceiling !== undefined ? DECREASE : FIRST_DECREASE;
		this.#ceiling = current;
		this.#rate = Math.max(MIN_ADAPTIVE_RATE, current * decrease);
		this.#lastCutAt = now;
		this.#setAt = now;
		this.#inFlightAtCut = inFlight;
		return true;
	}

	/** A request came back neither refused nor successful (an error, cancelled). */
	onReleased(): void {
		this.#takeSentBeforeCut();
	}

	/**
	 * @param isLimiting whether requests were held back by the rate recently (the limit is in use)
	 * @param weight successes this one stands for: a worker sending a part f of the host's traffic
	 *   sees f of its successes, and passes 1 / f, so every worker's copy of the rate climbs as one would
	 */
	onSuccess(isLimiting: boolean, weight = 1): void {
		// A success sent before the cut says nothing about the new rate.
		if (this.#takeSentBeforeCut()) return;
		const rate = this.#rate;
		if (rate === undefined || !isLimiting) return;
		const ceiling = this.#ceiling ?? rate;
		const growth = RECOVERY * Math.max(0, TARGET * ceiling - rate) + PROBE * ceiling + CONVEX * Math.max(0, rate - ceiling);
		const next = rate + (weight * growth) / rate;
		if ((this.#max !== undefined && next >= this.#max) || next >= DROP_AT * ceiling) {
			this.#rate = undefined;
			this.#ceiling = undefined;
		} else {
			this.#rate = next;
		}
	}

	/** Counts down the requests in flight at the last cut; true while this is one of them (FIFO guess). */
	#takeSentBeforeCut(): boolean {
		if (this.#inFlightAtCut === 0) return false;
		this.#inFlightAtCut--;
		return true;
	}

	/**
	 * Restores persisted state, or adopts the rate another worker set at `setAt` (its cut holds
	 * here too: the requests in flight were sent at the old rate); values out of range are ignored.
	 */
	restore(rate: number | undefined, ceiling: number | undefined, setAt?: number): void {
		if (rate !== undefined && Number.isFinite(rate) && rate >= MIN_ADAPTIVE_RATE) {
			this.#rate = this.#max === undefined ? rate : Math.min(rate, this.#max);
			this.#ceiling = ceiling !== undefined && Number.isFinite(ceiling) && ceiling > 0 ? ceiling : rate;
			if (setAt !== undefined && Number.isFinite(setAt)) {
				this.#setAt = Math.max(this.#setAt, setAt);
				this.#lastCutAt = Math.max(this.#lastCutAt, setAt);
			}
		}
	}
}
