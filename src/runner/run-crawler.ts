// runCrawler: the composition root for one run. It opens the store, resumes or starts a run,
// builds the session pool and the host throttle, drives the engine and writes the summary.
import {assertBrowserAvailable} from '../browser/browser-needs.js';
import {BrowserPages, type BrowserRoute} from '../browser/browser-pages.js';
import {describeError} from '../errors.js';
import {DEFINITION_DEFAULTS, validateDefinition} from '../job/schema.js';
import type {CrawlerDefinition, Logger, RouteHandler} from '../job/types.js';
import {HOST_DEFAULTS} from '../policy/host-options.js';
import {HostThrottle} from '../policy/host-throttle.js';
import {mergeRetryOptions, resolveRetryOptions, type ResolvedRetryOptions} from '../policy/retry-options.js';
import {toLoginStrategy} from '../sessions/login/login-strategy.js';
import {SESSION_DEFAULTS} from '../sessions/session-options.js';
import {SessionPool} from '../sessions/session-pool.js';
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
import {earlierSegments, type EarlierSegments} from './earlier-segments.js';
import {buildSummary, sessionStateCounts, type ProgressSnapshot} from './progress-snapshot.js';
import {createRateMeter} from '../output/rate-meter.js';
import {resolveKeyWithSource} from '../sessions/crypto.js';

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
}

const silentLog: Logger = {info() {}, warn() {}, error() {}};

export async function runCrawler(definitionInput: CrawlerDefinition, options: RunOptions = {}): Promise<RunSummary> {
	const definition = validateDefinition(definitionInput, `crawler '${(definitionInput as {name?: string}).name ?? '?'}'`);
	// Before the store opens: a crawler that needs a browser and has none stops here (exit 2).
	assertBrowserAvailable(definition);
	const log = options.log ?? silentLog;
	const now = Date.now;
	const storageDir = options.storageDir ?? process.env.CRAWLJAR_STORAGE ?? './storage';
	const store = options.store ?? openStore(resolveStoreLocation(options, process.env), definition.name);
	let releaseLock: (() => Promise<void>) | undefined;
	let browserPages: BrowserPages | undefined;
	try {
		releaseLock = await acquireRunLock(store, definition.name, now());
		const run = await prepareRun(store, definition, {fresh: options.fresh ?? false, retryFailed: options.retryFailed ?? false, now, log});
		const stats = new RunStats(now());
		// A resumed run's summary and progress cover the whole run, not just this segment.
		const stored = earlierSegments(run.summary, run.id);
		// --retry-failed queued the earlier failures again: their errors are no longer the run's.
		const earlier = options.retryFailed ? {...stored, topErrors: []} : stored;
		const itemsAtStart = await store.itemCount(run.id);
		const errors = new ErrorTally();
		const login = definition.login ? toLoginStrategy(definition.login) : undefined;
		const firstUrl = typeof definition.startUrls[0] === 'string' ? definition.startUrls[0] : definition.startUrls[0]!.url;
		const throttle = new HostThrottle({
			defaults: {
				maxConcurrency: definition.hosts?.maxConcurrency ?? HOST_DEFAULTS.maxConcurrency,
				...(definition.hosts?.maxRequestsPerSecond ? {maxRequestsPerSecond: definition.hosts.maxRequestsPerSecond} : {}),
			},
			hosts: definition.hosts?.overrides ?? [],
		});
		const savedHosts = await store.getMeta('hosts');
		if (savedHosts) throttle.restore(JSON.parse(savedHosts));

		const defaultRetry = resolveRetryOptions(definition.retry ?? {});
		const onHostCooldown = (host: string, untilMs: number): void => {
			throttle.cooldown(host, untilMs);
			store.setMeta('hosts', JSON.stringify(throttle.snapshot())).catch((error: unknown) => {
				log.warn(`could not persist host cooldowns: ${describeError(error).message}`);
			});
		};
		const pool = new SessionPool({
			accounts: definition.accounts ?? [],
			...(login ? {login} : {}),
			...definition.sessions,
			baseUrl: firstUrl,
			fetchDefaults: fetchDefaults(definition),
			allowInsecureLogin: definition.allowInsecureLogin ?? DEFINITION_DEFAULTS.allowInsecureLogin,
			store,
			key: options.secretKey ?? sessionKey(storageDir, log),
			log,
			// Login requests are requests: the same throttle, retry policy, cooldowns and stats.
			traffic: {throttle, retry: defaultRetry, onHostCooldown, stats},
			storageDir,
		});
		await pool.init();
		const sessionsAtStart = pool.list();
		const loginUrl = login?.loginUrl ? new URL(login.loginUrl, firstUrl).href : undefined;
		const routes = resolveRoutes(definition, defaultRetry);
		// Started only for crawlers with browser routes: the others never load playwright-core.
		browserPages = [...routes.values()].some((route) => route.browser) ? new BrowserPages(definition.browser, loginUrl) : undefined;
		const engine = new Engine(
			{
				definition,
				store,
				pool,
				throttle,
				routes,
				...(browserPages ? {browserPages} : {}),
				loginUrl,
				credentialOrigins: credentialOrigins(definition, login?.loginUrl),
				hasLogin: Boolean(login),
				// A redirect to the login page is a logout: seen, not followed.
				fetchOptions: {...fetchDefaults(definition), ...(loginUrl ? {stopRedirectAt: loginUrl} : {})},
				log,
				stats,
				now,
				defaultRetry,
				onHostCooldown,
				onFailed: (code, url) => errors.add(code, url),
				seenKeys: new SeenKeys(),
			},
			{
				concurrency: options.concurrency ?? definition.concurrency ?? DEFINITION_DEFAULTS.concurrency,
				maxRequests: options.maxRequests ?? definition.maxRequests,
				stopGraceMs: options.stopGraceMs ?? 10_000,
				now,
				maxWaitMs: maxWaitMs(defaultRetry, definition),
			},
		);

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
		await store.setMeta('hosts', JSON.stringify(throttle.snapshot()));
		await pool.flush();
		const counts = await store.counts(run.id);
		const summary = buildSummary({
			runId: run.id,
			crawler: definition.name,
			end,
			counts,
			items: await store.itemCount(run.id),
			stats,
			errors,
			throttle,
			pool,
			sessionsAtStart,
			now: now(),
			runStartedAt: run.startedAt,
			earlier,
		});
		// The end state and the summary in one store call: a kill -9 cannot land between them.
		await store.setRunState(run.id, end.state === 'finished' ? 'finished' : end.state === 'aborted' ? 'aborted' : 'stopped', now(), summary);
		return summary;
	} finally {
		await browserPages?.close();
		await releaseLock?.().catch(() => {});
		if (!options.store) await store.close();
	}
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

function sessionKey(storageDir: string, log: Logger): Buffer {
	const resolved = resolveKeyWithSource({storageDir});
	if (resolved.created) {
		log.info(`created the session encryption key ${resolved.file} (mode 0600): back it up: stored sessions cannot be decrypted without it (or set CRAWLJAR_SECRET instead)`);
	}
	return resolved.key;
}

function credentialOrigins(definition: CrawlerDefinition, loginUrl: string | undefined): Set<string> {
	const urls = definition.startUrls.map((start) => (typeof start === 'string' ? start : start.url));
	const origins = new Set(urls.map((url) => new URL(url).origin));
	if (loginUrl) origins.add(new URL(loginUrl, urls[0]).origin);
	return origins;
}

function fetchDefaults(definition: CrawlerDefinition) {
	return {
		headers: definition.headers ?? DEFINITION_DEFAULTS.headers,
		maxBodyBytes: definition.maxBodyBytes ?? DEFINITION_DEFAULTS.maxBodyBytes,
		maxRedirects: definition.maxRedirects ?? DEFINITION_DEFAULTS.maxRedirects,
		...(definition.timeouts ? {timeouts: httpTimeouts(definition.timeouts)} : {}),
		useHeaderGenerator: definition.useHeaderGenerator ?? DEFINITION_DEFAULTS.useHeaderGenerator,
	};
}

/** The HTTP part of `timeouts` (handlerMs is the runner's). */
function httpTimeouts({handlerMs: _handlerMs, ...http}: NonNullable<CrawlerDefinition['timeouts']>) {
	return http;
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
