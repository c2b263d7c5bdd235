// The one persistence interface. The runner sees only this; SQLite (embedded default) and,
// later, PostgreSQL implement it and pass the same contract suite (test/store/contract.ts).
// Every method is async so a networked engine fits; the SQLite engine answers synchronously.

export type RequestState = 'pending' | 'inflight' | 'done' | 'failed';

/** A request as the frontier stores it. */
export interface StoredRequest {
	readonly id: number;
	readonly runId: number;
	readonly url: string;
	readonly uniqueKey: string;
	readonly method: string;
	readonly label: string | undefined;
	readonly userData: Record<string, unknown>;
	readonly headers: Record<string, string> | undefined;
	readonly depth: number;
	/** Failed attempts so far (network, 5xx, handler errors). */
	readonly retryCount: number;
	/** Re-logins and rate-limit waits: bounded separately, not counted as failures. */
	readonly reloginCount: number;
	readonly rateLimitCount: number;
	readonly host: string;
}

/** A request to add to the frontier (deduped by uniqueKey within the run). */
export interface NewRequest {
	readonly url: string;
	readonly uniqueKey: string;
	readonly method?: string;
	readonly label?: string | undefined;
	readonly userData?: Record<string, unknown>;
	readonly headers?: Record<string, string> | undefined;
	readonly depth: number;
}

/**
 * What became of one leased request. Applied atomically: a `done` completion marks the request
 * done, writes its items and enqueues its new requests in ONE transaction (exactly-once results).
 */
export type Completion =
	| {
			readonly kind: 'done';
			readonly requestId: number;
			readonly items: readonly unknown[];
			/**
			 * `items` already serialized, JSON.stringify(items[i]) at index i (the runner checks each
			 * item when it is pushed): a store writing JSON may use these instead of serializing again.
			 */
			readonly itemsJson?: readonly string[];
			readonly enqueued: readonly NewRequest[];
			readonly status: number | undefined;
	  }
	| {
			readonly kind: 'retry';
			readonly requestId: number;
			/** Epoch ms before which the request must not be leased again. */
			readonly retryAt: number;
			readonly retryCount: number;
			readonly reloginCount: number;
			readonly rateLimitCount: number;
			readonly error: string | undefined;
	  }
	| {
			readonly kind: 'failed';
			readonly requestId: number;
			readonly retryCount: number;
			readonly status: number | undefined;
			readonly errorCode: string;
			readonly error: string;
	  }
	/** Hand an in-flight request back untouched (graceful stop, host cooldown). */
	| {readonly kind: 'release'; readonly requestId: number; readonly retryAt: number};

/** What a resume did with the requests it found in flight (see Store.releaseInflight). */
export interface ReleasedInflight {
	/** Back to pending, due now. */
	readonly released: number;
	/** Failed with ERR_CRASHED_WORKER: in flight at CRASHES_BEFORE_FAILING resumes. */
	readonly crashed: number;
}

/**
 * A request found in flight by this many resumes is failed rather than fetched again: its body or
 * handler most likely killed the process (out of memory), and would again at every resume.
 */
export const CRASHES_BEFORE_FAILING = 2;

export const CRASHED_WORKER_MESSAGE = `the process died ${CRASHES_BEFORE_FAILING} times while this request was in flight (out of memory on its body or in its handler?); not fetched again: \`crawljar run --retry-failed\` tries it once more`;

/** Who holds a leased request (a worker id) and until when (epoch ms): see `leaseAs`. */
export interface LeaseHolder {
	readonly owner: string;
	readonly expiresAt: number;
}

/** What a fenced commit did: completions it wrote, and the requests whose completion it refused. */
export interface FencedCommit {
	readonly applied: number;
	/** Not in flight under this owner any more: reclaimed (and maybe leased by another), or completed already. */
	readonly refused: readonly number[];
}

/** A worker as it registers in the store (see joinRun): one per runCrawler call. */
export interface WorkerIdentity {
	/** `host:pid:random`. */
	readonly id: string;
	readonly host: string;
	readonly pid: number;
}

/** What a worker reports with each heartbeat and when it leaves (JSON, no secrets). */
export interface WorkerStats {
	readonly pagesDone: number;
	readonly pagesPerSecond: number;
	readonly requests: number;
	readonly items: number;
	/** The worker's own segment summary, written when it leaves (a kill -9 leaves none). */
	readonly segment?: unknown;
}

export interface WorkerRecord extends WorkerIdentity {
	readonly runId: number;
	readonly startedAt: number;
	readonly heartbeatAt: number;
	/** Live until then (heartbeat + leaseMs), unless it left. */
	readonly expiresAt: number;
	readonly leftAt: number | undefined;
	readonly stats: WorkerStats | undefined;
}

/** live: heartbeat younger than its lease and not left; left: said goodbye; dead: neither (kill -9, lost). */
export type WorkerState = 'live' | 'left' | 'dead';

export function workerState(worker: WorkerRecord, now: number): WorkerState {
	if (worker.leftAt !== undefined) return 'left';
	return worker.expiresAt > now ? 'live' : 'dead';
}

export interface JoinRunOptions {
	readonly worker: WorkerIdentity;
	readonly now: number;
	/** The worker is live until now + leaseMs unless it heartbeats again. */
	readonly leaseMs: number;
	/** Start a new run even if the last one is unfinished; refused (ERR_LOCKED) while other workers are live. */
	readonly fresh: boolean;
	/** Queue the last run's failed requests again and continue it (even a finished one). */
	readonly retryFailed: boolean;
	/**
	 * Workers the caller knows to be dead although their heartbeat is recent (on this host, their
	 * pid is gone): treated as not live at once. Called inside the store's join lock: keep it synchronous and cheap.
	 */
	readonly isGone?: (worker: WorkerRecord) => boolean;
}

export interface JoinedRun {
	readonly run: RunRecord;
	/** A new run was started (none to continue, or --fresh). */
	readonly created: boolean;
	/** The other live workers of the run, at the moment this one joined. */
	readonly others: readonly WorkerRecord[];
	/** Requests found in flight under owners that are not live, released or failed as a resume does. */
	readonly released: ReleasedInflight;
	/** Failed requests queued again (retryFailed). */
	readonly requeued: number;
}

export interface Heartbeat {
	/** Leases of this worker moved to the new expiry. */
	readonly renewed: number;
	/** Expired leases of other workers put back to pending. */
	readonly reclaimed: number;
}

/** What `tryFinishRun` found: finished (by this call or earlier), work left to lease, or leases still held. */
export type FinishCheck = {readonly state: 'finished'; readonly byThisCall: boolean} | {readonly state: 'pending'} | {readonly state: 'leased'};

export type RunState = 'running' | 'stopped' | 'finished' | 'aborted';

export interface RunRecord {
	readonly id: number;
	readonly state: RunState;
	readonly startedAt: number;
	readonly finishedAt: number | undefined;
	readonly summary: unknown;
}

export interface FrontierCounts {
	readonly pending: number;
	readonly inflight: number;
	readonly done: number;
	readonly failed: number;
}

export interface FailedRequest {
	readonly id: number;
	readonly url: string;
	readonly label: string | undefined;
	readonly status: number | undefined;
	readonly errorCode: string;
	readonly error: string;
	readonly retryCount: number;
}

/** A persisted session. `secret` is opaque to the store (already encrypted by sessions/). */
export interface StoredSession {
	readonly id: string;
	readonly account: string;
	readonly state: string;
	/** Non-secret metadata (cookie names and expiries, token expiry, stats) for `sessions ls`. */
	readonly meta: Record<string, unknown>;
	/** Encrypted blob: cookie jar, tokens, credentials. */
	readonly secret: string;
	readonly updatedAt: number;
	/**
	 * Bumped by every write of the row (1 for a new row). Set by the store on what it returns;
	 * ignored on what it is given. Compare-and-set (saveSessionIf) is on this number.
	 */
	readonly version?: number;
}

/** Session rows written since a cursor (see Store.sessionChanges). */
export interface SessionChanges {
	/** In write order; each with its version. */
	readonly sessions: StoredSession[];
	/** Pass back to the next call: only rows written after these come back. */
	readonly cursor: number;
}

/**
 * A claim on a share of a limit held by the whole crawl (a host's maxConcurrency, a session's):
 * `key` names the limit (callers prefix it: `host:…`, `session:…`), `wanted` is what this
 * owner would use, `limit` the whole limit.
 */
export interface ShareClaim {
	readonly key: string;
	readonly wanted: number;
	readonly limit: number;
}

/** What a claim got: see Store.claimShares. */
export interface ShareGrant {
	readonly key: string;
	/** min(wanted, limit − what other owners with unexpired shares hold), at least 0. */
	readonly granted: number;
	/** Owners with an unexpired share of the key, this one included (granted 0 or not). */
	readonly claimants: number;
	/** This owner's place among those claimants (0-based, by owner id): who gets the remainder of limit ÷ claimants. */
	readonly rank: number;
}

/** A host's state shared by the whole crawl (the `hosts` table): its cooldown and its one adaptive rate. */
export interface StoredHost {
	readonly host: string;
	/** Epoch ms; no request goes to the host (and none is leased for it) before. 0: none. */
	readonly cooldownUntil: number;
	/** The learned rate (req/s) for the whole crawl; undefined: not limiting. */
	readonly rate: number | undefined;
	/** The rate the host last refused, req/s. */
	readonly ceiling: number | undefined;
	/** When the rate was last set (epoch ms): a rate only replaces one set earlier. */
	readonly rateSetAt: number;
}

/** What to write for a host: a cooldown only extends the stored one; a rate replaces an older one. */
export interface HostUpdate {
	readonly host: string;
	readonly cooldownUntil?: number;
	readonly rate?: {readonly rate: number | undefined; readonly ceiling: number | undefined; readonly setAt: number};
}

export interface Store {
	/** The newest run, whatever its state. */
	latestRun(): Promise<RunRecord | undefined>;
	listRuns(limit: number): Promise<RunRecord[]>;
	createRun(now: number): Promise<RunRecord>;
	setRunState(runId: number, state: RunState, now: number, summary?: unknown): Promise<void>;

	/** Adds requests that are new to this run; returns how many were new. */
	addRequests(runId: number, requests: readonly NewRequest[]): Promise<number>;
	/**
	 * Moves up to `limit` pending requests whose retryAt <= now, and whose host is not cooling
	 * down at `now` (see updateHosts), to in-flight, oldest first. A
	 * request a resume found in flight (releaseInflight) and not retried since is a suspect: one
	 * that is due is leased first and alone, and nothing is leased while a suspect is in flight.
	 * Ordinary requests of `skipHosts` are passed over (the caller already holds requests of
	 * those hosts that wait for their turn); a suspect is not.
	 */
	lease(runId: number, limit: number, now: number, skipHosts?: readonly string[]): Promise<StoredRequest[]>;
	/** Applies completions; each one atomically, the batch in one transaction. */
	commit(runId: number, completions: readonly Completion[]): Promise<void>;
	/**
	 * Resume after a crash: every in-flight request becomes pending again, due now, and its count
	 * of resumes that found it in flight goes up by one; one found so CRASHES_BEFORE_FAILING times
	 * is failed instead, errorCode ERR_CRASHED_WORKER and CRASHED_WORKER_MESSAGE (no status, its
	 * retryCount kept). A retry completion resets that count (the request ran to its end).
	 */
	releaseInflight(runId: number): Promise<ReleasedInflight>;

	// Leases with an owner and an expiry (issue 10): several workers on one store. A lease is
	// held until the owner's completion, or until it expires AND someone reclaims it; renewal
	// (a heartbeat) moves the expiry of everything an owner holds. Fencing: a completion through
	// commitAs applies only while its request is still in flight under that owner, so a worker
	// that was paused past its lease finds its late completions refused, never written twice.
	// `lease` and `commit` stay the unfenced forms (a lease with no owner never expires).
	/** `lease` (the same suspect rule and `skipHosts`), recording `holder` on each request leased. */
	leaseAs(runId: number, limit: number, now: number, holder: LeaseHolder, skipHosts?: readonly string[]): Promise<StoredRequest[]>;
	/** Every request `holder.owner` holds in this run is now held until `holder.expiresAt`; returns how many. */
	renewLeases(runId: number, holder: LeaseHolder): Promise<number>;
	/** `commit`, fenced by owner; each completion atomically, the batch in one transaction. */
	commitAs(runId: number, owner: string, completions: readonly Completion[]): Promise<FencedCommit>;
	/**
	 * In-flight requests whose lease expired by `now` become pending again, due now, with no owner.
	 * Their crash count is left as it is: an expired lease is a slow or paused worker as often as
	 * a dead one, and only a resume (releaseInflight) counts a crash.
	 */
	reclaimExpired(runId: number, now: number): Promise<number>;
	// Workers (issue 10): every runner is a worker with a row, a heartbeat and leases under its id.
	/**
	 * Start or join, atomically (one lock): the latest run continues unless it is finished (or
	 * `fresh`), else a new run starts; the worker is registered on it. Requests in flight under
	 * owners that are not live (or under no owner) are released as `releaseInflight` does (a crash
	 * counted); those of live workers are left alone. `fresh` with other live workers: ERR_LOCKED.
	 */
	joinRun(options: JoinRunOptions): Promise<JoinedRun>;
	/**
	 * One transaction: the worker's row (heartbeat, stats, live until `expiresAt`), the renewal of
	 * the leases it still works on (`held`: leased, not yet committed), and the reclaim of leases
	 * expired by `now`: other owners', and its own that are not held. A lease the worker lost
	 * track of (a lease whose reply the network lost, so the call was run again) is never renewed:
	 * it lapses and goes back to the queue, where renewing every lease it owned would keep it in
	 * flight, undone, for as long as the worker lives (and a crawl waiting on it, forever).
	 */
	heartbeat(runId: number, workerId: string, now: number, expiresAt: number, stats: WorkerStats, held: readonly number[]): Promise<Heartbeat>;
	/** The worker leaves (its last stats written); returns the run's other live workers. */
	leaveRun(runId: number, workerId: string, now: number, stats: WorkerStats): Promise<WorkerRecord[]>;
	/** Every worker that joined the run, oldest first. */
	listWorkers(runId: number): Promise<WorkerRecord[]>;
	/**
	 * Decides whether the run is finished, cheaply (no count): expired leases are reclaimed; any
	 * pending request → 'pending'; any request in flight → 'leased'; else the run is set finished
	 * with a compare-and-set from running (the first caller wins, byThisCall; later ones see it finished).
	 */
	tryFinishRun(runId: number, now: number): Promise<FinishCheck>;
	/** True where several processes may run one crawl at once (PostgreSQL); SQLite keeps its run lock. */
	readonly isShared: boolean;

	/** Failed requests back to pending (retry and crash counters reset). */
	requeueFailed(runId: number): Promise<number>;
	/**
	 * Earliest retryAt of a pending request, if any. With `now`, a request whose host cools down
	 * past `now` counts as due no earlier than the end of some cooldown (the earliest one ahead:
	 * a bound that may come early, never late), as the lease skips it until then.
	 */
	nextDueAt(runId: number, now?: number): Promise<number | undefined>;
	counts(runId: number): Promise<FrontierCounts>;
	itemCount(runId: number): Promise<number>;
	/** Streams the items of a run in commit order. */
	items(runId: number): AsyncIterable<unknown>;
	failedRequests(runId: number, limit: number): Promise<FailedRequest[]>;

	loadSessions(): Promise<StoredSession[]>;
	saveSession(session: StoredSession): Promise<void>;
	deleteSessions(id?: string): Promise<number>;

	// Sessions shared by several workers (issue 10): rows carry a version, every write moves a
	// change cursor, and a named lock with an owner and an expiry makes a login single-flight
	// across processes. `saveSession` stays the unconditional form (it bumps the version too).
	/**
	 * Compare-and-set: writes the session only if its row's version is `expectedVersion` (0: no
	 * row yet). Returns the row's new version, or undefined when another writer got there first.
	 * Two callers with the same expected version never both win, across processes too.
	 */
	saveSessionIf(session: StoredSession, expectedVersion: number): Promise<number | undefined>;
	/**
	 * The rows written after `cursor` (0: all of them), oldest write first. One indexed query,
	 * whatever the number of sessions: workers poll it about once a second. A row written while
	 * the call runs comes back at the next call, never skipped (writes get increasing cursors in
	 * the order they commit).
	 */
	sessionChanges(cursor: number): Promise<SessionChanges>;
	/**
	 * Takes (or renews) the lock `key` for `holder.owner` until `holder.expiresAt`: true if it is
	 * now held by that owner. A lock held by another owner is taken over only once it expired by
	 * `now` (its holder died or stalled). Exclusive across handles and processes.
	 */
	lockSession(key: string, holder: LeaseHolder, now: number): Promise<boolean>;
	/** Releases `key` if `owner` still holds it (a lock taken over by another stays theirs). */
	unlockSession(key: string, owner: string): Promise<void>;

	/** Small persistent key/value state: the run lock, last schedule fire, … (host state: `hosts`; an old store's `hosts` key is still read on resume). */
	getMeta(key: string): Promise<string | undefined>;
	setMeta(key: string, value: string): Promise<void>;
	/**
	 * Atomic claim: sets `key` to `value` only if its current value is `expected` (`undefined`:
	 * the key is absent). True if it was set. Two callers with the same `expected` never both
	 * win, across processes too (the run lock is built on this).
	 */
	compareAndSetMeta(key: string, expected: string | undefined, value: string): Promise<boolean>;

	// Shares of crawl-wide limits (issue 10): each worker claims its part about once a second and
	// enforces it locally. Claims of one key are serialized across handles, so the grants of
	// unexpired shares never add up to more than the limit.
	/**
	 * Claims shares, many keys in one call (one round trip on a networked engine): each claim is
	 * granted min(wanted, limit − what other owners with unexpired shares hold), and recorded
	 * (wanted and granted, held until `expiresAt`) even when 0 is granted, so the holders see a
	 * newcomer in `claimants` and can give up their part. Shares expired by `now` count for nothing.
	 * Returns one grant per claim, in the order given; a key claimed twice in one call counts once (the last claim).
	 */
	claimShares(claims: readonly ShareClaim[], owner: string, now: number, expiresAt: number): Promise<ShareGrant[]>;
	/** Drops every share `owner` holds (a worker leaving); returns how many. */
	releaseShares(owner: string): Promise<number>;

	// Host state shared by the crawl (cooldowns, the adaptive rate). `lease` and `leaseAs` skip
	// requests whose host has a cooldown past `now`.
	/** Writes host states, a batch in one statement (see HostUpdate for how each field merges). */
	updateHosts(updates: readonly HostUpdate[]): Promise<void>;
	/** Every host with a stored state. */
	hosts(): Promise<StoredHost[]>;

	close(): Promise<void>;
}
