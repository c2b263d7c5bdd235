// Counts failures per error code for the run summary, keeping one example URL per code.
// The example is redacted on the way in, so the summary (persisted with the run) never holds
// credentials or query values.
import {redactUrl} from '../errors.js';

export interface TopError {
	readonly code: string;
	readonly count: number;
	/** A URL that failed with this code, redacted. */
	readonly example: string;
}

export class ErrorTally {
	// Insertion order doubles as the tie-break: among equal counts, the code seen first wins.
	readonly #byCode = new Map<string, {count: number; example: string}>();

	/** Number of distinct codes. */
	get size(): number {
		return this.#byCode.size;
	}

	add(code: string, url: string): void {
		const entry = this.#byCode.get(code);
		if (entry === undefined) this.#byCode.set(code, {count: 1, example: redactUrl(url)});
		else entry.count++;
	}

	/** The `n` most frequent codes, most frequent first. */
	top(n = 5): TopError[] {
		return [...this.#byCode]
			.map(([code, {count, example}]) => ({code, count, example}))
			.sort((a, b) => b.count - a.count)
			.slice(0, Math.max(0, n));
	}
}
