// Group commit: completions are written in batches (one SQLite transaction per ~batchSize
// requests or per maxDelayMs), which halves the per-page storage cost (DESIGN.md). A request
// stays in-flight in the store until its batch commits, so a crash re-fetches it: never lost.
import type {Completion, Store} from '../store/store.js';

export interface CommitBufferOptions {
	/** @default 32 */
	readonly batchSize?: number;
	/** @default 50 */
	readonly maxDelayMs?: number;
	/** The worker whose leases fence every commit (Store.commitAs); without one, commits are unfenced. */
	readonly owner?: string;
	/** The completions that were written (the refused ones are not). */
	readonly onCommitted?: (completions: readonly Completion[]) => void;
	/** Completions the store refused: their leases expired and were reclaimed. Dropped, never retried. */
	readonly onRefused?: (requestIds: readonly number[]) => void;
	readonly onError: (error: unknown) => void;
}

export class CommitBuffer {
	readonly #store: Store;
	readonly #runId: number;
	readonly #batchSize: number;
	readonly #maxDelayMs: number;
	readonly #options: CommitBufferOptions;
	#pending: Completion[] = [];
	/** Pending completions that put requests back into the frontier (see feedsFrontier). */
	#feeding = 0;
	#timer: NodeJS.Timeout | undefined;
	#flushing: Promise<void> = Promise.resolve();

	constructor(store: Store, runId: number, options: CommitBufferOptions) {
		this.#store = store;
		this.#runId = runId;
		this.#batchSize = options.batchSize ?? 32;
		this.#maxDelayMs = options.maxDelayMs ?? 50;
		this.#options = options;
	}

	get size(): number {
		return this.#pending.length;
	}

	/**
	 * True when committing now could give the frontier requests to lease: new links, or a request
	 * handed back (retry, release). Done pages without new links and failures add nothing.
	 */
	get feedsFrontier(): boolean {
		return this.#feeding > 0;
	}

	add(completion: Completion): void {
		this.#pending.push(completion);
		if (completion.kind === 'retry' || completion.kind === 'release' || (completion.kind === 'done' && completion.enqueued.length > 0)) this.#feeding++;
		if (this.#pending.length >= this.#batchSize) void this.flush();
		else this.#timer ??= setTimeout(() => void this.flush(), this.#maxDelayMs);
	}

	/** Writes everything added so far; resolves once it is durable. */
	flush(): Promise<void> {
		if (this.#timer) {
			clearTimeout(this.#timer);
			this.#timer = undefined;
		}
		const batch = this.#pending;
		this.#pending = [];
		this.#feeding = 0;
		// Chained: batches commit in order, and flush() waits for the ones before it.
		this.#flushing = this.#flushing.then(async () => {
			if (batch.length === 0) return;
			try {
				const {owner} = this.#options;
				if (owner === undefined) {
					await this.#store.commit(this.#runId, batch);
					this.#options.onCommitted?.(batch);
					return;
				}
				const {refused} = await this.#store.commitAs(this.#runId, owner, batch);
				if (refused.length === 0) {
					this.#options.onCommitted?.(batch);
					return;
				}
				const isRefused = new Set(refused);
				this.#options.onCommitted?.(batch.filter((completion) => !isRefused.has(completion.requestId)));
				this.#options.onRefused?.(refused);
			} catch (error) {
				this.#options.onError(error);
			}
		});
		return this.#flushing;
	}
}
