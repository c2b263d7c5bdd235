// A fixed one-second window per client: simple to reason about in tests ("the 6th request
// within a second gets 429"), unlike a token bucket whose refill depends on timing.

interface Window {
	startedAt: number;
	count: number;
}

export class RateLimiter {
	readonly #perSecond: number;
	readonly #windows = new Map<string, Window>();

	constructor(perSecond: number) {
		this.#perSecond = perSecond;
	}

	/** Counts one request; false when the client is over its limit for the current second. */
	take(client: string, now = Date.now()): boolean {
		let window = this.#windows.get(client);
		if (!window || now - window.startedAt >= 1000) {
			window = {startedAt: now, count: 0};
			this.#windows.set(client, window);
		}
		window.count++;
		return window.count <= this.#perSecond;
	}
}
