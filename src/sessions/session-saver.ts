// Saves sessions when they change (issue 3 item 5: on change, not on a timer). Saves of one
// session run in order, and a burst of changes while a save is running collapses into one
// more save, which serializes the session when it starts and so carries every change so far.
import {describeError} from '../errors.js';
import type {Session} from './session.js';

interface SaveState {
	tail: Promise<void>;
	queued: Promise<void> | undefined;
}

export class SessionSaver {
	readonly #write: (session: Session) => Promise<void>;
	readonly #log: {warn(message: string): void};
	readonly #states = new Map<string, SaveState>();

	/** `write` persists one session (shared-sessions.ts: a compare-and-set, merged on conflict). */
	constructor(write: (session: Session) => Promise<void>, log: {warn(message: string): void}) {
		this.#write = write;
		this.#log = log;
	}

	/** Resolves once a save that includes the session's current state is written (failures are logged). */
	save(session: Session): Promise<void> {
		let state = this.#states.get(session.id);
		if (!state) {
			state = {tail: Promise.resolve(), queued: undefined};
			this.#states.set(session.id, state);
		}
		if (state.queued) return state.queued;
		const current = state;
		const next = current.tail.then(async () => {
			current.queued = undefined;
			try {
				await this.#write(session);
			} catch (error) {
				this.#log.warn(`could not save session ${session.id}: ${describeError(error).message}`);
			}
		});
		current.queued = next;
		current.tail = next;
		return next;
	}

	async flush(): Promise<void> {
		await Promise.all([...this.#states.values()].map((state) => state.tail));
	}
}
