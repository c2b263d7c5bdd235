// A one-shot timer for an absolute time on injected timers. setTimeout fires at once for delays
// above 2^31-1 ms (~24.8 days), so a far fire (a yearly cron) is reached in chunks; each chunk
// re-reads the clock, which also absorbs a timer that fires a little early.

export interface TimerDeps {
	now(): number;
	setTimer(fn: () => void, ms: number): unknown;
	clearTimer(handle: unknown): void;
}

export const maxTimerDelayMs = 2 ** 31 - 1;

export class TimerAt {
	readonly #deps: TimerDeps;
	#handle: unknown;
	#isArmed = false;

	constructor(deps: TimerDeps) {
		this.#deps = deps;
	}

	/** Calls `fn` once the clock reads `atMs` or later; replaces any earlier setting. */
	set(atMs: number, fn: () => void): void {
		this.clear();
		this.#arm(atMs, fn);
	}

	clear(): void {
		if (this.#isArmed) this.#deps.clearTimer(this.#handle);
		this.#isArmed = false;
	}

	#arm(atMs: number, fn: () => void): void {
		const delayMs = Math.min(Math.max(0, atMs - this.#deps.now()), maxTimerDelayMs);
		this.#isArmed = true;
		this.#handle = this.#deps.setTimer(() => {
			this.#isArmed = false;
			if (this.#deps.now() < atMs) this.#arm(atMs, fn);
			else fn();
		}, delayMs);
	}
}
