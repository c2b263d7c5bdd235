// The session machinery of one crawler without its crawl loop: the host throttle (restored from
// the store), the session pool (logged-in sessions loaded from the store), the retry policy and
// what every request of the crawler shares (credential origins, the login URL, fetch limits).
// runCrawler builds its run on it; openClient and crawljar/crawlee use it alone.
import type {FetchOptions} from '../http/fetch.js';
import {DEFINITION_DEFAULTS, validateDefinition} from '../job/schema.js';
import type {CrawlerDefinition, Logger} from '../job/types.js';
import {HOST_DEFAULTS} from '../policy/host-options.js';
import {HostCoordinator} from '../policy/host-coordinator.js';
import {HostThrottle} from '../policy/host-throttle.js';
import {resolveRetryOptions, type ResolvedRetryOptions} from '../policy/retry-options.js';
import {RunStats} from '../runner/run-stats.js';
import {resolveKeyWithSource} from '../sessions/crypto.js';
import {toLoginStrategy, type LoginStrategy} from '../sessions/login/login-strategy.js';
import {SessionPool} from '../sessions/session-pool.js';
import type {FetchDefaults} from '../sessions/session-http.js';
import {openStore, resolveStoreLocation} from '../store/open-store.js';
import type {Store} from '../store/store.js';

export interface SessionRuntimeParts {
	readonly definition: CrawlerDefinition;
	readonly store: Store;
	readonly log: Logger;
	readonly stats: RunStats;
	/** 32-byte session encryption key. */
	readonly key: Buffer;
	/** This worker's id for its shares of host limits in the store. @default `host:pid:random` */
	readonly owner?: string;
	/** Login rejections count per account within this scope, across workers (e.g. `run 3`). */
	readonly accountScope?: string;
	/** The storage folder: a failed browser login leaves its screenshot under it. */
	readonly storageDir?: string;
}

export interface SessionRuntime {
	readonly definition: CrawlerDefinition;
	readonly store: Store;
	readonly log: Logger;
	readonly stats: RunStats;
	readonly throttle: HostThrottle;
	readonly pool: SessionPool;
	readonly login: LoginStrategy | undefined;
	readonly defaultRetry: ResolvedRetryOptions;
	/** The crawler's first start URL: relative URLs resolve against it. */
	readonly baseUrl: string;
	/** The login page (absolute), when the login step names one: a redirect there is a logout. */
	readonly loginUrl: string | undefined;
	/** Origins that may receive a session's credential headers (the start URLs' and the login URL's). */
	readonly credentialOrigins: ReadonlySet<string>;
	/** What every request of the crawler shares (stopRedirectAt: the login URL, if any). */
	readonly fetchOptions: FetchOptions;
	/** A host asked to be left alone: pause it for everyone (the coordinator writes it to the store at once). */
	onHostCooldown(host: string, untilMs: number): void;
	/**
	 * Stops claiming shares of host limits, writes the host state, gives the shares back and waits
	 * for pending session saves (the store stays open). Idempotent.
	 */
	persist(): Promise<void>;
}

/** Builds the throttle and the pool of one crawler on an open store, and loads what it saved. */
export async function createSessionRuntime(parts: SessionRuntimeParts): Promise<SessionRuntime> {
	const {definition, store, log, stats} = parts;
	const login = definition.login ? toLoginStrategy(definition.login) : undefined;
	const baseUrl = startUrlOf(definition.startUrls[0]!);
	const throttle = new HostThrottle({
		defaults: {
			maxConcurrency: definition.hosts?.maxConcurrency ?? HOST_DEFAULTS.maxConcurrency,
			...(definition.hosts?.maxRequestsPerSecond ? {maxRequestsPerSecond: definition.hosts.maxRequestsPerSecond} : {}),
		},
		hosts: definition.hosts?.overrides ?? [],
	});
	// A store written before the hosts table kept host state in this meta key.
	const savedHosts = await store.getMeta('hosts');
	if (savedHosts) throttle.restore(JSON.parse(savedHosts));
	// Host limits and cooldowns are shared with every other worker of the crawl through the store.
	const hostShares = new HostCoordinator({store, throttle, log, ...(parts.owner ? {owner: parts.owner} : {})});
	await hostShares.start();
	const defaultRetry = resolveRetryOptions(definition.retry ?? {});
	const onHostCooldown = (host: string, untilMs: number): void => throttle.cooldown(host, untilMs);
	const pool = new SessionPool({
		accounts: definition.accounts ?? [],
		...(login ? {login} : {}),
		...definition.sessions,
		baseUrl,
		fetchDefaults: fetchDefaults(definition),
		allowInsecureLogin: definition.allowInsecureLogin ?? DEFINITION_DEFAULTS.allowInsecureLogin,
		store,
		key: parts.key,
		log,
		...(parts.accountScope ? {accountScope: parts.accountScope} : {}),
		...(parts.owner ? {workerId: parts.owner} : {}),
		...(parts.storageDir ? {storageDir: parts.storageDir} : {}),
		// Login requests are requests: the same throttle, retry policy, cooldowns and stats.
		traffic: {throttle, retry: defaultRetry, onHostCooldown, stats},
	});
	try {
		await pool.init();
	} catch (error) {
		await hostShares.stop().catch(() => {});
		throw error;
	}
	const loginUrl = login?.loginUrl ? new URL(login.loginUrl, baseUrl).href : undefined;
	return {
		definition,
		store,
		log,
		stats,
		throttle,
		pool,
		login,
		defaultRetry,
		baseUrl,
		loginUrl,
		credentialOrigins: credentialOrigins(definition, login?.loginUrl),
		// A redirect to the login page is a logout: seen, not followed.
		fetchOptions: {...fetchDefaults(definition), ...(loginUrl ? {stopRedirectAt: loginUrl} : {})},
		onHostCooldown,
		async persist() {
			await hostShares.stop();
			await pool.flush();
		},
	};
}

export interface OpenRuntimeOptions {
	/** SQLite folder. @default process.env.CRAWLJAR_STORAGE ?? './storage' (unless CRAWLJAR_STORE is set) */
	readonly storage?: string;
	/** A postgres:// URL. @default process.env.CRAWLJAR_STORE */
	readonly storeUrl?: string;
	/** Use this store (the caller closes it). */
	readonly store?: Store;
	/** Session encryption key. @default CRAWLJAR_SECRET or the key file */
	readonly secretKey?: Buffer;
	readonly log?: Logger;
}

export interface OpenedRuntime extends SessionRuntime {
	/** Persists sessions and cooldowns, then closes the store if the runtime opened it. */
	close(): Promise<void>;
}

const silentLog: Logger = {info() {}, warn() {}, error() {}};

/** Validates the definition, opens its store and builds its runtime: openClient's and crawleeSessions' start. */
export async function openSessionRuntime(definitionInput: CrawlerDefinition, options: OpenRuntimeOptions): Promise<OpenedRuntime> {
	const definition = validateDefinition(definitionInput, `crawler '${(definitionInput as {name?: string}).name ?? '?'}'`);
	const log = options.log ?? silentLog;
	const storageDir = options.storage ?? process.env.CRAWLJAR_STORAGE ?? './storage';
	const store = options.store ?? openStore(resolveStoreLocation({storeUrl: options.storeUrl, storageDir: options.storage}, process.env), definition.name);
	try {
		const runtime = await createSessionRuntime({definition, store, log, stats: new RunStats(Date.now()), key: options.secretKey ?? sessionKey(storageDir, log), storageDir});
		let closing: Promise<void> | undefined;
		return {
			...runtime,
			close() {
				closing ??= runtime.persist().finally(async () => {
					if (!options.store) await store.close();
				});
				return closing;
			},
		};
	} catch (error) {
		if (!options.store) await store.close().catch(() => {});
		throw error;
	}
}

/** The session key, saying so once when a new key file was just created. */
export function sessionKey(storageDir: string, log: Logger): Buffer {
	const resolved = resolveKeyWithSource({storageDir});
	if (resolved.created) {
		log.info(`created the session encryption key ${resolved.file} (mode 0600): back it up: stored sessions cannot be decrypted without it (or set CRAWLJAR_SECRET instead)`);
	}
	return resolved.key;
}

function startUrlOf(start: CrawlerDefinition['startUrls'][number]): string {
	return typeof start === 'string' ? start : start.url;
}

function credentialOrigins(definition: CrawlerDefinition, loginUrl: string | undefined): Set<string> {
	const urls = definition.startUrls.map(startUrlOf);
	const origins = new Set(urls.map((url) => new URL(url).origin));
	if (loginUrl) origins.add(new URL(loginUrl, urls[0]).origin);
	return origins;
}

function fetchDefaults(definition: CrawlerDefinition): FetchDefaults {
	return {
		headers: definition.headers ?? DEFINITION_DEFAULTS.headers,
		maxBodyBytes: definition.maxBodyBytes ?? DEFINITION_DEFAULTS.maxBodyBytes,
		maxRedirects: definition.maxRedirects ?? DEFINITION_DEFAULTS.maxRedirects,
		...(definition.timeouts ? {timeouts: httpTimeouts(definition.timeouts)} : {}),
		useHeaderGenerator: definition.useHeaderGenerator ?? DEFINITION_DEFAULTS.useHeaderGenerator,
		ignoreTlsErrors: definition.ignoreTlsErrors ?? DEFINITION_DEFAULTS.ignoreTlsErrors,
	};
}

/** The HTTP part of `timeouts` (handlerMs is the runner's). */
function httpTimeouts({handlerMs: _handlerMs, ...http}: NonNullable<CrawlerDefinition['timeouts']>) {
	return http;
}
