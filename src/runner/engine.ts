// The crawl loop: the only place that moves data between the frontier, the session pool, the
// host throttle, HTTP, the retry policy, the handlers and the store (Scrapy's engine shape).
import PQueue from 'p-queue';
import {CrawljarError, describeError} from '../errors.js';
import type {CrawlerDefinition, Logger} from '../job/types.js';
import type {HostThrottle} from '../policy/host-throttle.js';
import type {SessionPool} from '../sessions/session-pool.js';
import type {Completion, Store, StoredRequest} from '../store/store.js';
import {CommitBuffer} from './commit-buffer.js';
import {processRequest, type ProcessDeps} from './process-request.js';
import type {RunStats} from './run-stats.js';

export type EngineEnd =
	| {readonly state: 'finished'}
	| {readonly state: 'stopped'; readonly reason: string}
	| {readonly state: 'aborted'; readonly code: string; readonly reason: string};

export interface EngineOptions {
	readonly concurrency: number;
	readonly maxRequests: number | undefined;
	/** How long a graceful stop waits for in-flight requests. @default 10_000 */
	readonly stopGraceMs: number;
	readonly now: () => number;
	/**
	 * Longest wait a request can have in a run (the retry options' maxRetryAfterMs and backoff
	 * cap). When nothing is due sooner, what is left was deferred by a host: the run stops,
	 * resumable, instead of sleeping until then. @default Infinity
	 */
	readonly maxWaitMs?: number;
	/**
	 * The worker this engine leases for: leases carry its id and expire leaseMs after they are
	 * taken (the heartbeat renews them), commits are fenced by them, and the run ends finished only
	 * when the store says so (no pending request, no lease held by any worker). Without it, leases
	 * have no owner and the run ends when this engine finds nothing left.
	 */
	readonly worker?: {readonly id: string; readonly leaseMs: number};
}

/** A blocked request whose wait is longer than this goes back to the store, freeing the buffer. */
const RELEASE_AFTER_MS = 500;
/**
 * Leased requests held at most. The buffer grows past twice the concurrency only while the
 * requests in it wait for their host (its concurrency or a short rate wait): the frontier is
 * leased in order, so without this one host's backlog would starve the hosts queued behind it.
 */
const MAX_BUFFER = 1_000;
const IDLE_POLL_MS = 1_000;
const DUE_REPOLL_MS = 50;

export class Engine {
	readonly #deps: ProcessDeps;
	readonly #store: Store;
	readonly #pool: SessionPool;
	readonly #throttle: HostThrottle;
	readonly #options: EngineOptions;
	readonly #log: Logger;
	readonly #queue: PQueue;
	#buffer: StoredRequest[] = [];
	/** Requests in the buffer found waiting for their host at the last dispatch. */
	#blocked = 0;
	/** Hosts those requests wait for: a lease passes over their other requests (it would only hoard them). */
	#closedHosts = new Set<string>();
	/**
	 * Requests this engine brought to an end (done or failed): what maxRequests counts. A retry,
	 * a 429 wait or a request handed back is not an end, and does not use up the budget.
	 */
	#completed = 0;
	/**
	 * False after a lease came back short: leasing again before a commit added requests (or a
	 * timer passed) would be an empty UPDATE — ~250 µs each, once per completed page when the
	 * frontier is narrow (measured in bench/).
	 */
	#mayHaveDue = true;
	#end: EngineEnd | undefined;
	#wakeUp: (() => void) | undefined;
	#commits: CommitBuffer | undefined;
	#commitError: unknown;
	/** Late completions the store refused (their leases had been reclaimed): logged, never re-applied. */
	#refused = 0;
	/**
	 * Requests leased and not yet committed (buffered, running, or waiting in the commit buffer):
	 * the leases the heartbeat renews. A lease the store gave but this engine never saw (its reply
	 * lost with the connection, the call run again) is not here, so it lapses and is reclaimed.
	 */
	readonly #held = new Set<number>();

	constructor(deps: ProcessDeps, options: EngineOptions) {
		this.#deps = deps;
		this.#store = deps.store;
		this.#pool = deps.pool;
		this.#throttle = deps.throttle;
		this.#options = options;
		this.#log = deps.log;
		this.#queue = new PQueue({concurrency: options.concurrency});
	}

	get inFlight(): number {
		return this.#queue.pending + this.#queue.size;
	}

	/** Leased but not started (waiting for their host): in flight for the store, pending for a user. */
	get buffered(): number {
		return this.#buffer.length;
	}

	/** Requests brought to an end (done or failed) by this engine. */
	get completed(): number {
		return this.#completed;
	}

	get refused(): number {
		return this.#refused;
	}

	get heldLeases(): number[] {
		return [...this.#held];
	}

	/** Graceful stop: no new requests; in-flight ones finish or are released. */
	stop(reason: string): void {
		this.#end ??= {state: 'stopped', reason};
		this.#wake();
	}

	async run(runId: number): Promise<EngineEnd> {
		const worker = this.#options.worker;
		const commits = new CommitBuffer(this.#store, runId, {
			...(worker ? {owner: worker.id} : {}),
			onCommitted: (batch) => this.#onCommitted(batch),
			onRefused: (ids) => {
				for (const id of ids) this.#held.delete(id);
				this.#refused += ids.length;
				this.#log.warn(
					`${ids.length} late completion(s) refused by the store (${this.#refused} in this worker so far): their leases had expired and were reclaimed — another worker does them, nothing is written twice`,
				);
			},
			onError: (error) => {
				this.#commitError ??= error;
				this.#end = {state: 'aborted', code: 'ERR_STORAGE', reason: `storage write failed: ${describeError(error).message}`};
				this.#wake();
			},
		});
		this.#commits = commits;
		// After the final flush, late completions (requests that outlived the stop grace period)
		// are dropped: their requests stay in-flight in the store and are retried on resume.
		let isClosed = false;
		const complete = (completion: Completion): void => {
			if (isClosed) return;
			if (completion.kind === 'done' || completion.kind === 'failed') this.#completed++;
			commits.add(completion);
		};

		while (!this.#end) {
			if (this.#pool.isExhausted) {
				this.#end = {
					state: 'aborted',
					code: 'NO_USABLE_SESSION',
					reason: 'no usable session left: every account failed to log in (see the errors above); pending requests stay queued — fix the accounts and run again',
				};
				break;
			}
			const max = this.#options.maxRequests;
			const budget = max === undefined ? Infinity : max - this.#completed - this.inFlight;
			if (budget <= 0 && this.inFlight === 0) {
				this.#end = {state: 'stopped', reason: `reached maxRequests (${max})`};
				break;
			}

			let isBufferFilled = false;
			const ready = this.#buffer.length - this.#blocked;
			if (ready < this.#options.concurrency && budget > 0 && this.#mayHaveDue) {
				const wanted = Math.min(this.#options.concurrency * 2 - ready, MAX_BUFFER - this.#buffer.length, budget);
				if (wanted > 0) {
					const leased = await this.#lease(runId, wanted);
					this.#buffer.push(...leased);
					isBufferFilled = leased.length === wanted;
					if (!isBufferFilled) this.#mayHaveDue = false;
				}
			}

			let waitMs = this.#dispatch(complete, budget);
			if (this.#buffer.length === 0 && this.inFlight < this.#options.concurrency && commits.feedsFrontier && this.inFlight > 0) {
				// Starving: the links that would keep workers busy sit in the commit buffer (a narrow
				// frontier, e.g. a chain of catalogue pages). Commit now rather than in up to 50 ms.
				// Only when the buffer holds such links (or requests handed back): committing done
				// pages alone feeds nothing, and cost one transaction per page at a narrow frontier.
				await commits.flush();
				continue;
			}
			// All we leased waits for busy hosts while workers are free: look further down the frontier.
			if (isBufferFilled && this.#buffer.length - this.#blocked < this.#options.concurrency && this.inFlight < this.#options.concurrency) continue;

			if (this.#buffer.length === 0 && this.inFlight === 0) {
				// Enqueued requests may still sit in the commit buffer: write them before deciding.
				await commits.flush();
				const leased = await this.#lease(runId, 1);
				if (leased.length > 0) {
					this.#buffer.push(...leased);
					continue;
				}
				const due = await this.#store.nextDueAt(runId, this.#options.now());
				if (due === undefined) {
					if (!worker) {
						this.#end = {state: 'finished'};
						break;
					}
					const check = await this.#store.tryFinishRun(runId, this.#options.now());
					if (check.state === 'finished') {
						this.#end = {state: 'finished'};
						break;
					}
					// Other workers hold leases (their pages may enqueue more), or an expired lease
					// was just reclaimed: look again, about once a second.
					this.#mayHaveDue = true;
					if (check.state === 'pending') continue;
				} else if (due - this.#options.now() > (this.#options.maxWaitMs ?? Infinity)) {
					// Deferred past maxRetryAfter: a later run picks these up (the host cooldown is persisted).
					const reason = `only deferred requests left, due at ${new Date(due).toISOString()}: run again then to resume`;
					this.#log.info(reason);
					this.#end = {state: 'stopped', reason};
					break;
				} else {
					// Due now yet not leased (it became due a moment ago, or a suspect another worker has
					// in flight holds it back): look again soon, not in a busy loop.
					const untilDue = due - this.#options.now();
					waitMs = Math.min(waitMs, untilDue > 0 ? untilDue : DUE_REPOLL_MS);
				}
			}
			if (await this.#sleep(waitMs)) this.#mayHaveDue = true;
		}

		await this.#drain();
		this.#buffer.forEach((request) => complete({kind: 'release', requestId: request.id, retryAt: 0}));
		this.#buffer = [];
		await commits.flush();
		isClosed = true;
		return this.#end;
	}

	async #lease(runId: number, limit: number): Promise<StoredRequest[]> {
		const now = this.#options.now();
		const worker = this.#options.worker;
		// Without this, a host held back by its concurrency or its share of it would fill the
		// buffer with up to MAX_BUFFER of its requests: leases another worker could use, and pages
		// fetched twice when this worker stalls past its leases.
		const waiting = new Set(this.#buffer.map((request) => request.host));
		const skipHosts = [...this.#closedHosts].filter((host) => waiting.has(host));
		if (!worker) return this.#store.lease(runId, limit, now, skipHosts);
		const leased = await this.#store.leaseAs(runId, limit, now, {owner: worker.id, expiresAt: now + worker.leaseMs}, skipHosts);
		for (const request of leased) this.#held.add(request.id);
		return leased;
	}

	/** Starts what can start now; returns how long to wait before trying again. */
	#dispatch(complete: (completion: Completion) => void, budget: number): number {
		let waitMs = IDLE_POLL_MS;
		let started = 0;
		this.#blocked = 0;
		// Hosts found closed in this pass: their other requests wait without asking again.
		const closedHosts = new Set<string>();
		this.#closedHosts = closedHosts;
		for (let index = 0; index < this.#buffer.length; ) {
			if (this.inFlight >= this.#options.concurrency || started >= budget) break;
			const request = this.#buffer[index]!;
			if (closedHosts.has(request.host)) {
				this.#blocked++;
				index++;
				continue;
			}
			const gate = this.#throttle.tryAcquire(request.host);
			if (!gate.ok) {
				if (gate.retryInMs > RELEASE_AFTER_MS) {
					// Long wait (cooldown, slow rate): give the slot in the buffer to other hosts.
					this.#buffer.splice(index, 1);
					complete({kind: 'release', requestId: request.id, retryAt: this.#options.now() + gate.retryInMs});
				} else {
					closedHosts.add(request.host);
					this.#blocked++;
					index++;
				}
				if (gate.retryInMs > 0) waitMs = Math.min(waitMs, gate.retryInMs);
				continue;
			}
			const session = this.#pool.lease();
			if (!session) {
				this.#throttle.release(request.host, 'cancelled');
				void this.#pool.whenCapacity().then(() => this.#wake());
				break;
			}
			this.#buffer.splice(index, 1);
			started++;
			void this.#queue
				.add(() => processRequest(this.#deps, request, session, complete))
				.catch((error: unknown) => {
					// processRequest handles its own errors; this is a bug guard that loses nothing.
					this.#log.error(`internal error on request ${request.id}: ${describeError(error).message}`);
					complete({kind: 'release', requestId: request.id, retryAt: this.#options.now() + 1_000});
				})
				.finally(() => this.#wake());
		}
		return waitMs;
	}

	async #drain(): Promise<void> {
		if (this.inFlight === 0) return;
		this.#log.info(`waiting up to ${Math.round(this.#options.stopGraceMs / 1000)}s for ${this.inFlight} request(s) in flight…`);
		// A ref'd timer: with a handler stuck on a promise that holds nothing in the event loop,
		// this timer is all that keeps the process alive until the grace period ends (unref'd,
		// Node saw an empty loop and exited 13, "unsettled top-level await", with no summary).
		let timer: NodeJS.Timeout | undefined;
		const expired = new Promise<'timeout'>((resolve) => {
			timer = setTimeout(() => resolve('timeout'), this.#options.stopGraceMs);
		});
		const outcome = await Promise.race([this.#queue.onIdle().then(() => 'idle' as const), expired]);
		clearTimeout(timer);
		if (outcome === 'timeout') {
			// Their requests stay in-flight in the store; the next run releases them at once.
			this.#log.warn(`${this.inFlight} request(s) still in flight after the grace period: they will be retried on resume`);
			this.#queue.clear();
		}
	}

	#onCommitted(batch: readonly Completion[]): void {
		for (const completion of batch) {
			this.#held.delete(completion.requestId);
			if (completion.kind === 'done') {
				this.#deps.stats.items += completion.items.length;
				if (completion.enqueued.length > 0) this.#mayHaveDue = true;
				for (const link of completion.enqueued) this.#deps.seenKeys.add(link.uniqueKey);
			} else {
				this.#mayHaveDue = true;
			}
		}
	}

	/** Resolves true when the time ran out, false when woken by an event. */
	#sleep(ms: number): Promise<boolean> {
		return new Promise((resolve) => {
			const timer = setTimeout(() => {
				this.#wakeUp = undefined;
				resolve(true);
			}, Math.max(1, ms));
			this.#wakeUp = () => {
				clearTimeout(timer);
				this.#wakeUp = undefined;
				resolve(false);
			};
		});
	}

	#wake(): void {
		this.#wakeUp?.();
	}

	/** Writes completions buffered so far (used by the hard-exit path on a second Ctrl-C). */
	flushNow(): Promise<void> {
		return this.#commits?.flush() ?? Promise.resolve();
	}

	get commitError(): unknown {
		return this.#commitError;
	}
}

export function assertNever(value: never): never {
	throw new CrawljarError('ERR_USAGE', `unexpected value ${String(value)}`);
}

export type {RunStats};
export type {CrawlerDefinition};
