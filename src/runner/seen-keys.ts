// A bounded memory of unique keys the store already holds, so that the links a page repeats
// (navigation, "related" lists) are not sent to the store again and again: an INSERT OR IGNORE
// per link is the largest storage cost per page. Only keys of committed requests enter it, so a
// key here is always in the store; a key missing here is simply deduped by the store, as before.
// Bounded, because a frontier of a million URLs must not live in memory.

export class SeenKeys {
	readonly #keys = new Set<string>();
	readonly #maxSize: number;

	constructor(maxSize = 100_000) {
		this.#maxSize = maxSize;
	}

	has(key: string): boolean {
		return this.#keys.has(key);
	}

	add(key: string): void {
		if (this.#keys.has(key)) return;
		if (this.#keys.size >= this.#maxSize) {
			// Sets iterate in insertion order: drop the oldest key.
			const oldest = this.#keys.values().next().value;
			if (oldest !== undefined) this.#keys.delete(oldest);
		}
		this.#keys.add(key);
	}
}
