// Retry timing as a pure function (got's calculate-retry-delay is the model).
import type {BackoffOptions} from './retry-options.js';

/**
 * "Full jitter" exponential backoff: a uniform delay in [0, min(capMs, baseMs * factor ** attempt)).
 * Spreading retries over the whole window (rather than around its end) keeps workers that
 * failed together from retrying together.
 * @param attempt retries already made (0 for the first retry)
 * @param random a [0, 1) source, injectable for tests
 */
export function backoffDelay(attempt: number, backoff: Required<BackoffOptions>, random: () => number = Math.random): number {
	// factor ** attempt may overflow to Infinity: min() with the cap absorbs it.
	const ceiling = Math.min(backoff.capMs, backoff.baseMs * backoff.factor ** Math.max(0, attempt));
	return Math.floor(random() * ceiling);
}
