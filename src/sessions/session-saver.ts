// Saves sessions when they change (issue 3 item 5: on change, not on a timer). Saves of one
// session run in order, and a burst of changes while a save is running collapses into one
// more save, which serializes the session when it starts and so carries every change so far.
import {describeError} from '../errors.js';
import type {Store, StoredSession} from '../store/store.js';
import type {Session} from './session.js';

interface SaveState {
	tail: Promise<void>;
	queued: Promise<void> | undefined;
}

export class SessionSaver {
	readonly #store: Store;
	readonly #toStored: (session: Session) => StoredSession;
	readonly #log: {warn(message: string): void};
	readonly #states = new Map<string, SaveState>();

	constructor(store: Store, toStored: (session: Session) => StoredSession, log: {warn(message: string): void}) {
		this.#store = store;
		this.#toStored = toStored;
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
				await this.#store.saveSession(this.#toStored(session));
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
