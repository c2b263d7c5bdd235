// One host's learned request rate (AIMD with a remembered ceiling, as TCP CUBIC remembers
// W_max). Pure state machine: the caller passes the time and the observed rate.
//
// - Rate-limited: remember the rate the host refused (the ceiling) and halve the rate in use.
//   The base is the lower of the current limit and the rate actually observed, so a limit far
//   above real use still bites (TCP halves the flight size, not the window). Further refusals
//   are ignored for HOLD_MS and until the requests already in flight have come back: they were
//   sent at the old rate and say nothing about the new one; without this hold one burst of
//   refusals would cut the rate to the floor.
// - Each success, while the limit is actually being used, adds
//   (RECOVERY * max(0, ceiling - rate) + PROBE * ceiling) / rate req/s: at saturation `rate`
//   successes arrive per second, so per second the rate closes RECOVERY (40%) of the gap to
//   the ceiling and climbs PROBE (2%) of the ceiling. The curve is concave: quick back to
//   ~90% of the refused rate in about 4 s, then a slow probe past it (about 5 s more to
//   reach it). Linear AIMD (+1 req/s each second) spends half its cycle far below the limit;
//   a fast linear climb overshoots and is refused every few seconds. Simulated against a
//   server admitting 20 req/s (test/policy/host-throttle-aimd.test.ts): 80-95% of the
//   limit, under 1% refused (×0.7 gains only ~3 points and is harsher on the host). Scale-free: the same shape at 2 req/s or 500 req/s.
// - The adaptive limit is dropped when it has climbed to the configured maximum, or to twice
//   the refused rate with no refusal on the way (about 50 s of saturation): the host's limit
//   has gone or moved far up, and a new refusal re-learns it from the observed rate.

/** Fraction of the current rate kept on a refusal. */
const DECREASE = 0.5;
/** No adaptive rate goes below this (req/s): one request every 2 s still makes progress. */
const MIN_ADAPTIVE_RATE = 0.5;
const HOLD_MS = 1_000;
/** Per second of saturated success: share of the gap to the ceiling closed. */
const RECOVERY = 0.4;
/** Per second of saturated success: growth as a share of the ceiling. */
const PROBE = 0.02;
/** The limit is dropped at this multiple of the refused rate. */
const DROP_AT = 2;

export class AdaptiveRate {
	readonly #max: number | undefined;
	#rate: number | undefined;
	#ceiling: number | undefined;
	#lastCutAt = -Infinity;
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

	/**
	 * @param observedRate requests per second admitted recently
	 * @param inFlight requests still in flight, not counting the refused one
	 * @returns whether the rate was cut
	 */
	onRateLimited(now: number, observedRate: number, inFlight: number): boolean {
		const wasSentBeforeCut = this.#takeSentBeforeCut();
		if (wasSentBeforeCut || now - this.#lastCutAt < HOLD_MS) return false;
		const base = Math.min(this.#rate ?? Infinity, this.#max ?? Infinity, observedRate);
		// No observation at all (a refusal on the first request): start from the floor's double.
		const current = Number.isFinite(base) && base > 0 ? base : 2 * MIN_ADAPTIVE_RATE;
		this.#ceiling = current;
		this.#rate = Math.max(MIN_ADAPTIVE_RATE, current * DECREASE);
		this.#lastCutAt = now;
		this.#inFlightAtCut = inFlight;
		return true;
	}

	/** A request came back neither refused nor successful (an error, cancelled). */
	onReleased(): void {
		this.#takeSentBeforeCut();
	}

	/** @param isLimiting whether requests were held back by the rate recently (the limit is in use) */
	onSuccess(now: number, isLimiting: boolean): void {
		this.#takeSentBeforeCut();
		const rate = this.#rate;
		if (rate === undefined || !isLimiting || now - this.#lastCutAt < HOLD_MS) return;
		const ceiling = this.#ceiling ?? rate;
		const next = rate + (RECOVERY * Math.max(0, ceiling - rate) + PROBE * ceiling) / rate;
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

	/** Restores persisted state; values out of range are ignored. */
	restore(rate: number | undefined, ceiling: number | undefined): void {
		if (rate !== undefined && Number.isFinite(rate) && rate >= MIN_ADAPTIVE_RATE) {
			this.#rate = this.#max === undefined ? rate : Math.min(rate, this.#max);
			this.#ceiling = ceiling !== undefined && Number.isFinite(ceiling) && ceiling > 0 ? ceiling : rate;
		}
	}
}
