// "Was this session let in since its last login?" — the fact that turns a 403 into a logout
// signal (judge's `sessionWasValid`). One owner: the runner asks and records here only.
// Keyed by the session object and its generation (a login or refresh starts a new one), so a
// re-login makes the session unproven again until a response is accepted.

const validatedGeneration = new WeakMap<object, number>();

/** True when a response on this generation of the session was judged done. */
export function wasSessionValid(session: object, generation: number): boolean {
	return validatedGeneration.get(session) === generation;
}

/** Records that a response on this generation was accepted. */
export function markSessionValid(session: object, generation: number): void {
	validatedGeneration.set(session, generation);
}
