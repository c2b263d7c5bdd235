// runCrawler: the composition root for one run. It opens the store, resumes or starts a run,
// builds the session pool and the host throttle, drives the engine and writes the summary.
import {assertBrowserAvailable} from '../browser/browser-needs.js';
import {BrowserPages, type BrowserRoute} from '../browser/browser-pages.js';
import {DEFINITION_DEFAULTS, threadsSchema, validateDefinition} from '../job/schema.js';
import {CrawljarError} from '../errors.js';
import {HandlerThreads, threadCount, type ThreadsOption} from './threads/handler-threads.js';
import {DEFAULT_HANDLER_MS} from './time-limit.js';
import type {CrawlerDefinition, Logger, RouteHandler} from '../job/types.js';
import {HOST_DEFAULTS} from '../policy/host-options.js';
import type {HostThrottle} from '../policy/host-throttle.js';
import {mergeRetryOptions, type ResolvedRetryOptions} from '../policy/retry-options.js';
import {SESSION_DEFAULTS} from '../sessions/session-options.js';
import type {SessionPool} from '../sessions/session-pool.js';
import {openStore, resolveStoreLocation} from '../store/open-store.js';
import type {Store} from '../store/store.js';
import {ErrorTally} from '../output/top-errors.js';
import type {RunSummary} from '../output/summary.js';
import {concurrencyNote} from './concurrency-caps.js';
import {Engine} from './engine.js';
import {RunStats} from './run-stats.js';
import {SeenKeys} from './seen-keys.js';
import {acquireRunLock} from './run-lock.js';
import {prepareRun} from './prepare-run.js';
import {earlierSegments, NO_EARLIER_SEGMENTS, withOtherWorkers, type EarlierSegments} from './earlier-segments.js';
import {buildSummary, sessionStateCounts, type ProgressSnapshot} from './progress-snapshot.js';
import {createRateMeter} from '../output/rate-meter.js';
import type {EngineEnd} from './engine.js';
import {markActive, newWorker, startHeartbeat} from './worker.js';
import {checkLeaseMs, DEFAULT_LEASE_MS} from './worker-options.js';
import type {WorkerStats} from '../store/store.js';
import {createSessionRuntime, sessionKey} from '../runtime/session-runtime.js';
import {holdHeapGrowth, type HeapGrowthOption} from './heap-growth.js';

export interface RunOptions {
	/** SQLite folder. @default process.env.CRAWLJAR_STORAGE ?? './storage' (unless CRAWLJAR_STORE is set) */
	readonly storageDir?: string;
	/** A postgres:// URL: the crawl's store is PostgreSQL (see store/open-store.ts). @default process.env.CRAWLJAR_STORE */
	readonly storeUrl?: string;
	/** Start a new run even if the last one is unfinished (sessions are kept). */
	readonly fresh?: boolean;
	/** Put the last run's failed requests back in the queue and continue it. */
	readonly retryFailed?: boolean;
	readonly concurrency?: number;
	readonly maxRequests?: number;
	/** Aborting stops the run gracefully (in-flight requests finish, bounded). */
	readonly signal?: AbortSignal;
	/** Aborting stops at once: buffered results are written, in-flight requests retried on resume. */
	readonly forceSignal?: AbortSignal;
	/** @default 10_000 */
	readonly stopGraceMs?: number;
	readonly log?: Logger;
	/** Called about once a second while the run goes. */
	readonly onProgress?: (snapshot: ProgressSnapshot) => void;
	/** Use this store instead of the SQLite file under storageDir (the caller closes it). */
	readonly store?: Store;
	/** Session encryption key (default: CRAWLJAR_SECRET or the key file). */
	readonly secretKey?: Buffer;
	/** How long this worker's leases last without a heartbeat; overrides the definition's. @default 15_000 */
	readonly leaseMs?: number;
	/** Handler threads; overrides the definition's `threads`. */
	readonly threads?: ThreadsOption;
	/** The file the definition comes from (its default export): handler threads load it. `crawljar run` sets it. */
	readonly definitionFile?: string;
	/**
	 * V8's heap growth while the run goes (heap-growth.ts): the heap grows to (1 + n/100)× what the
	 * last full GC kept; false leaves V8's dynamic default. Process-wide, put back when the run ends.
	 * @default process.env.CRAWLJAR_HEAP_GROWTH ?? 50
	 */
	readonly heapGrowthPercent?: HeapGrowthOption;
}

const silentLog: Logger = {info() {}, warn() {}, error() {}};

export async function runCrawler(definitionInput: CrawlerDefinition, options: RunOptions = {}): Promise<RunSummary> {
	const definition = validateDefinition(definitionInput, `crawler '${(definitionInput as {name?: string}).name ?? '?'}'`);
	// Before the store opens: a crawler that needs a browser and has none stops here (exit 2).
	assertBrowserAvailable(definition);
	const log = options.log ?? silentLog;
	const now = Date.now;
	const storageDir = options.storageDir ?? process.env.CRAWLJAR_STORAGE ?? './storage';
	const leaseMs = checkLeaseMs(options.leaseMs, 'leaseMs') ?? definition.leaseMs ?? DEFAULT_LEASE_MS;
	const releaseHeapGrowth = holdHeapGrowth(options.heapGrowthPercent);
	let store: Store;
	try {
		store = options.store ?? openStore(resolveStoreLocation(options, process.env), definition.name);
	} catch (error) {
		releaseHeapGrowth();
		throw error;
	}
	const worker = newWorker();
	let releaseLock: (() => Promise<void>) | undefined;
	let heartbeat: {stop(): void} | undefined;
	let joinedRunId: number | undefined;
	let sessionRuntime: {persist(): Promise<void>} | undefined;
	let browserPages: BrowserPages | undefined;
	let handlerThreads: HandlerThreads | undefined;
	try {
		// First: a thread takes ~0.6 s to load the crawler file, which the lock, the run's
		// preparation and the sessions' restore would otherwise make the first pages wait for.
		handlerThreads = startHandlerThreads(definition, options, log);
		// SQLite: one process a crawl (the run lock). PostgreSQL: the worker registry arbitrates.
		if (!store.isShared) releaseLock = await acquireRunLock(store, definition.name, now());
		markActive(worker, true);
		const {run} = await prepareRun(store, definition, {fresh: options.fresh ?? false, retryFailed: options.retryFailed ?? false, now, log, worker, leaseMs});
		joinedRunId = run.id;
		const stats = new RunStats(now());
		// A resumed run's summary and progress cover the whole run, not just this segment.
		const stored = earlierSegments(run.summary, run.id);
		// --retry-failed queued the earlier failures again: their errors are no longer the run's.
		const earlier = options.retryFailed ? {...stored, topErrors: []} : stored;
		const itemsAtStart = await store.itemCount(run.id);
		const errors = new ErrorTally();
		const runtime = await createSessionRuntime({
			definition,
			store,
			log,
			stats,
			key: options.secretKey ?? sessionKey(storageDir, log),
			owner: worker.id,
			// Login rejections count per account within the run, across its workers.
			accountScope: `run ${run.id}`,
			storageDir,
		});
		sessionRuntime = runtime;
		const {pool, throttle, defaultRetry, onHostCooldown, login} = runtime;
		const sessionsAtStart = pool.list();
		const routes = resolveRoutes(definition, defaultRetry);
		// Started only for crawlers with browser routes: the others never load playwright-core.
		browserPages = [...routes.values()].some((route) => route.browser) ? new BrowserPages(definition.browser, runtime.loginUrl) : undefined;
		const engine = new Engine(
			{
				definition,
				store,
				pool,
				throttle,
				routes,
				...(browserPages ? {browserPages} : {}),
				loginUrl: runtime.loginUrl,
				credentialOrigins: runtime.credentialOrigins,
				hasLogin: Boolean(login),
				fetchOptions: runtime.fetchOptions,
				log,
				stats,
				now,
				defaultRetry,
				onHostCooldown,
				onFailed: (code, url) => errors.add(code, url),
				seenKeys: new SeenKeys(),
				...(handlerThreads ? {handlerThreads} : {}),
			},
			{
				concurrency: options.concurrency ?? definition.concurrency ?? DEFINITION_DEFAULTS.concurrency,
				maxRequests: options.maxRequests ?? definition.maxRequests,
				stopGraceMs: options.stopGraceMs ?? 10_000,
				now,
				maxWaitMs: maxWaitMs(defaultRetry, definition),
				worker: {id: worker.id, leaseMs},
			},
		);
		const workerStats = workerStatsOf(engine, stats, now);
		heartbeat = startHeartbeat({store, runId: run.id, worker, leaseMs, now, stats: workerStats, held: () => engine.heldLeases, log});

		warnAboutCaps(definition, options.concurrency, pool, log);
		const onStop = () => engine.stop('stopped by signal');
		options.signal?.addEventListener('abort', onStop, {once: true});
		if (options.signal?.aborted) onStop();
		const progressTimer = options.onProgress ? startProgress({store, runId: run.id, stats, engine, pool, throttle, earlier, itemsAtStart}, options.onProgress) : undefined;

		let end;
		try {
			end = options.forceSignal
				? await Promise.race([engine.run(run.id), whenForced(options.forceSignal, engine)])
				: await engine.run(run.id);
		} finally {
			if (progressTimer) clearInterval(progressTimer);
			options.signal?.removeEventListener('abort', onStop);
		}
		heartbeat.stop();
		await runtime.persist();
		const summaryOf = async (ending: EngineEnd, before: EarlierSegments, at: number) =>
			buildSummary({
				runId: run.id,
				crawler: definition.name,
				end: ending,
				counts: await store.counts(run.id),
				items: await store.itemCount(run.id),
				stats,
				errors,
				throttle,
				pool,
				sessionsAtStart,
				now: at,
				runStartedAt: run.startedAt,
				earlier: before,
			});
		// This worker's own segment goes in its row; whoever writes the run's summary adds it up.
		const leftAt = now();
		const others = await store.leaveRun(run.id, worker.id, leftAt, {...workerStats(), segment: await summaryOf(end, NO_EARLIER_SEGMENTS, leftAt)});
		joinedRunId = undefined;
		const latest = await store.latestRun();
		const storedSummary = latest?.id === run.id ? latest.summary : run.summary;
		const isRunFinished = end.state === 'finished' || (latest?.id === run.id && latest.state === 'finished');
		const base = earlierSegments(storedSummary, run.id);
		const {earlier: whole, summedWorkers} = withOtherWorkers(
			options.retryFailed ? {...base, topErrors: []} : base,
			storedSummary,
			(await store.listWorkers(run.id)).map((row) => ({id: row.id, startedAt: row.startedAt, leftAt: row.leftAt, segment: row.stats?.segment})),
			{id: worker.id, startedAt: stats.startedAt, now: leftAt},
			run.id,
		);
		const runEnd: EngineEnd = isRunFinished && others.length === 0 ? {state: 'finished'} : end;
		const summary: RunSummary = {...(await summaryOf(runEnd, whole, leftAt)), summedWorkers};
		// The last worker out writes the run's end state and summary, in one store call (a kill -9
		// cannot land between them). While others are live, the run goes on: they will.
		if (others.length === 0) {
			await store.setRunState(run.id, runEnd.state === 'finished' ? 'finished' : runEnd.state === 'aborted' ? 'aborted' : 'stopped', now(), summary);
		}
		return summary;
	} finally {
		// First: nothing below (a store that fails to close, say) may leave the process's GC setting held.
		releaseHeapGrowth();
		heartbeat?.stop();
		// A failure above (the store gone, say): leave anyway if we can, so no one waits for our lease.
		if (joinedRunId !== undefined) await store.leaveRun(joinedRunId, worker.id, now(), {pagesDone: 0, pagesPerSecond: 0, requests: 0, items: 0}).catch(() => {});
		markActive(worker, false);
		await sessionRuntime?.persist().catch(() => {});
		await browserPages?.close();
		await handlerThreads?.close();
		await releaseLock?.().catch(() => {});
		if (!options.store) await store.close();
	}
}

function startHandlerThreads(definition: CrawlerDefinition, options: RunOptions, log: Logger): HandlerThreads | undefined {
	if (options.threads !== undefined && !threadsSchema.safeParse(options.threads).success) {
		throw new CrawljarError('ERR_USAGE', `threads: expected 'auto' or a whole number of threads (0: none), got ${JSON.stringify(options.threads)}`);
	}
	const count = threadCount(options.threads ?? definition.threads);
	if (count === 0) return undefined;
	if (!options.definitionFile) {
		log.warn(`threads: ${count} ignored: handler threads load the crawler's file, and runCrawler was given no definitionFile`);
		return undefined;
	}
	return new HandlerThreads({
		file: options.definitionFile,
		count,
		crawlerName: definition.name,
		handlerMs: definition.timeouts?.handlerMs ?? DEFAULT_HANDLER_MS,
		log,
	});
}

/** What the heartbeat reports: this worker's pages done, its rate since the last report, requests and items. */
function workerStatsOf(engine: Engine, stats: RunStats, now: () => number): () => WorkerStats {
	let last = {at: now(), done: 0};
	return () => {
		const at = now();
		const pagesDone = engine.completed;
		const pagesPerSecond = at > last.at ? ((pagesDone - last.done) * 1000) / (at - last.at) : 0;
		last = {at, done: pagesDone};
		return {pagesDone, pagesPerSecond: Math.round(pagesPerSecond * 10) / 10, requests: stats.requestsSent, items: stats.items};
	};
}

/** A value the user set that the other caps make unreachable deserves one note (concurrency-caps.ts). */
function warnAboutCaps(definition: CrawlerDefinition, concurrencyOption: number | undefined, pool: SessionPool, log: Logger): void {
	const hosts = new Set(definition.startUrls.map((start) => new URL(typeof start === 'string' ? start : start.url).host));
	const note = concurrencyNote({
		concurrency: concurrencyOption ?? definition.concurrency ?? DEFINITION_DEFAULTS.concurrency,
		concurrencySet: concurrencyOption !== undefined || definition.concurrency !== undefined,
		singleHost: hosts.size === 1 && !definition.hosts?.overrides?.length,
		perHost: definition.hosts?.maxConcurrency ?? HOST_DEFAULTS.maxConcurrency,
		perHostSet: definition.hosts?.maxConcurrency !== undefined,
		sessions: definition.login ? pool.stats().sessions : undefined,
		perSession: definition.sessions?.maxConcurrency ?? SESSION_DEFAULTS.maxConcurrency,
		perSessionSet: definition.sessions?.maxConcurrency !== undefined,
	});
	if (note) log.info(note);
}

/**
 * The longest wait a request of this crawler can get short of a deferral: a Retry-After up to
 * maxRetryAfterMs, a backoff up to capMs, a rate wait (the adaptive rate's floor is 0.5 req/s).
 */
function maxWaitMs(defaultRetry: ResolvedRetryOptions, definition: CrawlerDefinition): number {
	const retries = [defaultRetry, ...[...resolveRoutes(definition, defaultRetry).values()].map((route) => route.retry)];
	const rates = [definition.hosts, ...(definition.hosts?.overrides ?? [])].flatMap((limits) => limits?.maxRequestsPerSecond ?? []);
	return Math.max(2_000, ...retries.map((retry) => Math.max(retry.maxRetryAfterMs, retry.backoff.capMs)), ...rates.map((rate) => 1000 / rate));
}

function resolveRoutes(definition: CrawlerDefinition, defaultRetry: ResolvedRetryOptions) {
	const routes = new Map<string, {handler: RouteHandler; retry: ResolvedRetryOptions; browser?: BrowserRoute}>();
	for (const [label, route] of Object.entries(definition.routes)) {
		if (typeof route === 'function') {
			routes.set(label, {handler: route, retry: defaultRetry});
			continue;
		}
		const retry = route.retry ? mergeRetryOptions(defaultRetry, route.retry) : defaultRetry;
		// A browser route's handler also gets `page`: process-request.ts adds it for routes with `browser`.
		if (route.browser) routes.set(label, {handler: route.handler as RouteHandler, retry, browser: {waitFor: route.waitFor}});
		else routes.set(label, {handler: route.handler, retry});
	}
	return routes;
}

function whenForced(signal: AbortSignal, engine: Engine) {
	return new Promise<{state: 'stopped'; reason: string}>((resolve) => {
		const onForce = () => {
			engine.stop('forced stop');
			void engine.flushNow().then(() => resolve({state: 'stopped', reason: 'forced stop (in-flight requests are retried on resume)'}));
		};
		if (signal.aborted) onForce();
		else signal.addEventListener('abort', onForce, {once: true});
	});
}

interface ProgressSources {
	readonly store: Store;
	readonly runId: number;
	readonly stats: RunStats;
	readonly engine: Engine;
	readonly pool: SessionPool;
	readonly throttle: HostThrottle;
	/** A resumed run's progress counts the whole run: what came before this segment, plus it. */
	readonly earlier: EarlierSegments;
	readonly itemsAtStart: number;
}

function startProgress(sources: ProgressSources, onProgress: (snapshot: ProgressSnapshot) => void): NodeJS.Timeout {
	const {store, runId, stats, engine, pool, throttle, earlier, itemsAtStart} = sources;
	const meter = createRateMeter(10_000);
	let lastSent = stats.requestsSent;
	let isBusy = false;
	const timer = setInterval(() => {
		if (isBusy) return;
		isBusy = true;
		meter.mark(stats.requestsSent - lastSent);
		lastSent = stats.requestsSent;
		store
			.counts(runId)
			.then((counts) => {
				const now = Date.now();
				onProgress({
					done: counts.done,
					pending: counts.pending + engine.buffered,
					inflight: engine.inFlight,
					failed: counts.failed,
					items: itemsAtStart + stats.items,
					retries: earlier.retried + stats.retried,
					elapsedMs: earlier.durationMs + now - stats.startedAt,
					pagesPerSecond: meter.perSecond(),
					sessions: sessionStateCounts(pool),
					coolingHosts: throttle.snapshot().filter((host) => (host.cooldownUntil ?? 0) > now).length,
				});
			})
			.catch(() => {})
			.finally(() => {
				isBusy = false;
			});
	}, 1_000);
	timer.unref();
	return timer;
}
