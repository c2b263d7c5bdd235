// The connection side of the PostgreSQL store: a pg.Pool from a postgres:// URL, the URL as it
// may be shown (password redacted), and pg's errors turned into ERR_STORAGE without secrets.
import type pg from 'pg';
import {CrawljarError} from '../../errors.js';

/** Pool size when the URL has no `max` parameter (pg's own default). */
export const defaultPoolSize = 10;
/** A server that accepts no connection within this long is reported instead of waited for forever. */
const connectTimeoutMs = 10_000;
/**
 * A statement not answered within this long is taken for a lost connection, and run again on a
 * new one (the reconnect loop below). A network partition or a server host that vanished (a
 * failover moving its address) drops packets without a reset: the socket would wait for TCP's
 * own retransmission timeout, ~15 minutes on Linux, with the worker's store calls stuck behind
 * it. Every statement of a crawl is short (keyset pages, batched commits); a schema migration,
 * which may build an index on a large table, runs on its own connection without this limit.
 * `?query_timeout=MS` in the store URL overrides it.
 */
export const statementTimeoutMs = 60_000;

let driver: Promise<{pg: typeof pg; types: pg.CustomTypesConfig}> | undefined;

/**
 * pg, loaded on first use: a crawl on SQLite never loads it. int8 (bigint) columns hold epoch ms
 * and ids: numbers, not pg's default strings; per pool, so an application's own pg clients keep
 * their parsers.
 */
export function loadDriver(): Promise<{pg: typeof pg; types: pg.CustomTypesConfig}> {
	driver ??= import('pg').then(({default: loaded}) => {
		const types = new loaded.TypeOverrides();
		types.setTypeParser(loaded.types.builtins.INT8, (value: string) => Number(value));
		return {pg: loaded, types};
	});
	return driver;
}

export function isPostgresUrl(value: string): boolean {
	return /^postgres(ql)?:\/\//i.test(value);
}

/**
 * The URL with its password (and any password-like parameter) replaced by `***`: what errors,
 * logs and `status` may show.
 */
export function redactStoreUrl(url: string): string {
	let parsed: URL;
	try {
		parsed = new URL(url);
	} catch {
		return '<invalid store url>';
	}
	if (parsed.password) parsed.password = '***';
	for (const key of [...parsed.searchParams.keys()]) {
		if (/pass|secret|token|key$/i.test(key) && key !== 'sslkey') parsed.searchParams.set(key, '***');
	}
	return parsed.href;
}

/** Validates the URL once (the field is named in the error) and reads the pool size from `?max=N`. */
export function poolConfig(url: string): pg.PoolConfig & {max: number} {
	if (!isPostgresUrl(url)) {
		throw new CrawljarError('ERR_USAGE', `store URL must start with postgres:// or postgresql://, got ${redactStoreUrl(url)}`);
	}
	let parsed: URL;
	try {
		parsed = new URL(url);
	} catch {
		throw new CrawljarError('ERR_USAGE', 'store URL is not a valid URL');
	}
	const maxParam = parsed.searchParams.get('max');
	const max = maxParam === null ? defaultPoolSize : Number(maxParam);
	if (!Number.isInteger(max) || max <= 0) {
		throw new CrawljarError('ERR_USAGE', `store URL parameter max (pool size) expects a positive integer, got '${maxParam}'`);
	}
	// keepAlive: an idle pooled connection to a vanished server is found dead by TCP keep-alive
	// probes instead of on its next use.
	return {connectionString: url, max, connectionTimeoutMillis: connectTimeoutMs, query_timeout: statementTimeoutMs, keepAlive: true};
}

export async function createPool(url: string): Promise<pg.Pool> {
	const config = poolConfig(url);
	const {pg: driver, types} = await loadDriver();
	const pool = new driver.Pool({...config, types});
	// An idle connection the server drops emits 'error' on the pool: without a listener that
	// would end the process. The next query simply takes a new connection.
	pool.on('error', () => {});
	// The same for a connection dropped while checked out (a transaction under a lock): pg emits
	// 'error' on the client, which would end the process; the query in flight rejects anyway,
	// and the caller's reconnect loop runs it again on a new connection.
	pool.on('connect', (client) => client.on('error', () => {}));
	return pool;
}

/**
 * One connection of its own, without the statement timeout: for the schema's creation and
 * migrations (see statementTimeoutMs). The caller ends it.
 */
export async function connectForMigration(url: string): Promise<pg.Client> {
	const {query_timeout: _timeout, max: _max, ...config} = poolConfig(url);
	const {pg: driver, types} = await loadDriver();
	const client = new driver.Client({...config, types});
	client.on('error', () => {}); // a dropped connection rejects the query in flight; this only keeps the process up
	await client.connect();
	return client;
}

/** Any failure from pg as ERR_STORAGE naming the redacted URL; pg's `detail` (row values) is left out. */
export function storageError(error: unknown, url: string, doing: string): CrawljarError {
	if (error instanceof CrawljarError) return error;
	const message = error instanceof Error ? error.message : String(error);
	const code = (error as {code?: unknown}).code;
	return new CrawljarError(
		'ERR_STORAGE',
		`PostgreSQL store ${redactStoreUrl(url)}: ${doing} failed: ${message}${typeof code === 'string' ? ` (${code})` : ''}`,
		{cause: error},
	);
}

/** Deadlocks (two batches inserting the same keys in other orders) and serialization failures: the transaction can be run again. */
export function isRetryable(error: unknown): boolean {
	const code = (error as {code?: unknown}).code;
	return code === '40P01' || code === '40001';
}

const maxAttempts = 8;

/**
 * One statement (its own transaction), run again (bounded) on a deadlock or serialization
 * failure, after a short random wait: two statements that deadlocked and are run again at once
 * tend to deadlock again (seen with many workers committing the same links on a loaded machine).
 */
export async function retrying<T>(work: () => Promise<T>): Promise<T> {
	for (let attempt = 1; ; attempt++) {
		try {
			return await work();
		} catch (error) {
			if (attempt >= maxAttempts || !isRetryable(error)) throw error;
			await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
		}
	}
}

/** How long a store call keeps trying while the server is unreachable (a restart, a dropped connection). */
export const defaultReconnectBudgetMs = 60_000;
const reconnectBaseMs = 100;
const reconnectCapMs = 5_000;

// Node's socket errors, PostgreSQL's connection exceptions (class 08), and the server shutting
// down or starting up (57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now).
const lostConnectionCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', '57P01', '57P02', '57P03']);
// 'Query read timeout': pg's statement timeout (statementTimeoutMs) ran out.
const lostConnectionMessage = /Connection terminated|connection timeout|Connection ended|Client has encountered a connection error|timeout exceeded when trying to connect|Query read timeout/i;

/** The call failed because the connection to the server was lost or could not be made: worth trying again. */
export function isConnectionLoss(error: unknown): boolean {
	if (error instanceof CrawljarError) return false; // already judged (a failed schema setup is not retried per call)
	const code = (error as {code?: unknown}).code;
	if (typeof code === 'string' && (lostConnectionCodes.has(code) || code.startsWith('08'))) return true;
	return error instanceof Error && lostConnectionMessage.test(error.message);
}

/**
 * Runs `work` again while it fails for a lost connection, with jittered exponential backoff
 * (100 ms doubling to 5 s, each wait 50–100% of that), until `budgetMs` has passed; then the last
 * error is thrown. Every store statement is safe to run again: completions apply only to
 * requests still in flight, inserts dedupe, and a transaction either committed or did nothing.
 */
export async function reconnecting<T>(work: () => Promise<T>, budgetMs: number, onRetry?: (error: unknown, waitMs: number) => void): Promise<T> {
	const startedAt = Date.now();
	for (let attempt = 0; ; attempt++) {
		try {
			return await work();
		} catch (error) {
			const waitMs = Math.min(reconnectCapMs, reconnectBaseMs * 2 ** attempt) * (0.5 + Math.random() / 2);
			if (!isConnectionLoss(error) || Date.now() - startedAt + waitMs > budgetMs) throw error;
			onRetry?.(error, waitMs);
			await new Promise((resolve) => setTimeout(resolve, waitMs));
		}
	}
}
