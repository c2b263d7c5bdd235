// PostgreSQL for the tests: the server at CRAWLJAR_PG_URL (default the local trust-auth one).
// In CI (CI=1/true) an unreachable server fails the suite loudly; elsewhere the PostgreSQL
// tests are skipped with a message saying why. Every test gets its own schema, dropped after.
import {randomBytes} from 'node:crypto';
import net from 'node:net';
import type {AddressInfo} from 'node:net';
import type {ChildProcess} from 'node:child_process';
import type {TestContext} from 'node:test';
import pg from 'pg';
import {PostgresStore} from '../../src/store/postgres/postgres-store.js';
import {schemaOf} from '../../src/store/postgres/schema.js';

export const pgUrl = process.env.CRAWLJAR_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const inCi = process.env.CI === '1' || process.env.CI === 'true';

async function probe(): Promise<string | undefined> {
	// A down server refuses at once; the timeout only bounds a server too busy to answer (a loaded
	// 2-core machine took over 5 s), so it is generous.
	const client = new pg.Client({connectionString: pgUrl, connectionTimeoutMillis: 30_000});
	client.on('error', () => {});
	try {
		await client.connect();
		await client.query('SELECT 1');
		return undefined;
	} catch (error) {
		return error instanceof Error ? error.message : String(error);
	} finally {
		await client.end().catch(() => {});
	}
}

const unreachable = await probe();
if (unreachable !== undefined && inCi) {
	throw new Error(`PostgreSQL is not reachable at ${pgUrl} (${unreachable}): CI must run the PostgreSQL store tests (.ci/run starts the server)`);
}

/** `skip` option for PostgreSQL tests: false when the server answers, else the reason (never in CI: that throws above). */
export const skipWithoutPostgres: string | false =
	unreachable === undefined ? false : `PostgreSQL not reachable at ${pgUrl} (${unreachable}); set CRAWLJAR_PG_URL to run these tests`;
if (skipWithoutPostgres) console.warn(`skipping the PostgreSQL tests: ${skipWithoutPostgres}`);

/** A schema (or crawler) name no other test uses. */
export function uniqueName(prefix: string): string {
	return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** Drops the schemas after the tests, whatever they left in them. */
export async function dropSchemas(schemas: readonly string[]): Promise<void> {
	if (schemas.length === 0 || skipWithoutPostgres) return;
	const client = new pg.Client({connectionString: pgUrl});
	await client.connect();
	try {
		for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
	} finally {
		await client.end();
	}
}

/** Whether a schema exists (to check that a test's schema was created and is dropped). */
export async function schemaExists(schema: string): Promise<boolean> {
	const client = new pg.Client({connectionString: pgUrl});
	await client.connect();
	try {
		const {rowCount} = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
		return (rowCount ?? 0) > 0;
	} finally {
		await client.end();
	}
}

/** A TCP proxy in front of the test server: cut, it looks like a PostgreSQL restart to the clients behind it. */
export interface PgProxy {
	readonly url: string;
	/** Drops every connection and refuses new ones. */
	cut(): Promise<void>;
	/** Accepts connections again, on the same port. */
	restore(): Promise<void>;
	/**
	 * Every open connection stops carrying bytes, both ways, and stays open: a network partition,
	 * or a server host gone without a reset. New connections work.
	 */
	freeze(): void;
	readonly accepted: () => number;
}

export async function startPgProxy(t: TestContext): Promise<PgProxy> {
	const target = new URL(pgUrl);
	const sockets = new Set<net.Socket>();
	const pairs = new Set<readonly [net.Socket, net.Socket]>();
	let accepted = 0;
	const server = net.createServer((client) => {
		accepted++;
		const upstream = net.connect(Number(target.port || 5432), target.hostname);
		const pair = [client, upstream] as const;
		pairs.add(pair);
		client.on('close', () => pairs.delete(pair));
		for (const socket of [client, upstream]) {
			sockets.add(socket);
			socket.on('error', () => {});
			socket.on('close', () => sockets.delete(socket));
		}
		client.pipe(upstream).pipe(client);
		client.on('close', () => upstream.destroy());
		upstream.on('close', () => client.destroy());
	});
	const listen = (port: number) => new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(port, '127.0.0.1', () => resolve());
	});
	await listen(0);
	const {port} = server.address() as AddressInfo;
	const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
	const cut = async () => {
		const closing = close();
		for (const socket of sockets) socket.destroy();
		await closing;
	};
	t.after(cut);
	const url = new URL(pgUrl);
	url.host = `127.0.0.1:${port}`;
	const freeze = () => {
		for (const [client, upstream] of pairs) {
			client.unpipe(upstream);
			upstream.unpipe(client);
			client.pause();
			upstream.pause();
		}
		pairs.clear();
	};
	return {url: url.href, cut, restore: () => listen(port), freeze, accepted: () => accepted};
}

/** Requests of `crawler`'s latest schema held in flight by worker `owner` (read straight from its table). */
export async function inflightOwnedBy(crawler: string, owner: string): Promise<number> {
	const client = new pg.Client({connectionString: pgUrl});
	await client.connect();
	try {
		const {rows} = await client.query<{n: number}>(
			`SELECT count(*)::integer AS n FROM ${pg.escapeIdentifier(schemaOf(crawler))}.requests WHERE state = 'inflight' AND lease_owner = $1`,
			[owner],
		);
		return rows[0]!.n;
	} finally {
		await client.end();
	}
}

/** The worker id of process `pid` in run 1 of `crawler`. */
export async function workerIdOf(crawler: string, pid: number | undefined): Promise<string> {
	const store = PostgresStore.open({url: pgUrl, crawler});
	try {
		const worker = (await store.listWorkers(1)).find((row) => row.pid === pid);
		if (!worker) throw new Error(`no worker row for pid ${pid}`);
		return worker.id;
	} finally {
		await store.close();
	}
}

/** Polls `check` (async) every 100 ms until it holds; returns how long it took. */
export async function within(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<number> {
	const startedAt = Date.now();
	while (!(await check())) {
		if (Date.now() - startedAt > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	return Date.now() - startedAt;
}

/**
 * SIGSTOPs `child` (worker `owner` of `crawler`) at a moment it holds leases, and returns how many.
 * Only then has it completions for the store to refuse once continued; stopped between two pages
 * it has none. Counted with it frozen, twice: a commit it sent just before the stop may still be
 * on its way to (or queued in) a loaded server, and would take those leases away; both counts
 * must find some. Caught holding none, it is continued and stopped again, at another moment.
 */
export async function stopWhileHoldingLeases(child: ChildProcess, crawler: string, owner: string): Promise<number> {
	const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
	for (let attempt = 1; attempt <= 200; attempt++) {
		if (!child.kill('SIGSTOP')) throw new Error('the worker to stop has exited');
		await pause(200);
		if ((await inflightOwnedBy(crawler, owner)) > 0) {
			await pause(500);
			const held = await inflightOwnedBy(crawler, owner);
			if (held > 0) return held;
		}
		child.kill('SIGCONT');
		await pause(10 + (attempt % 7) * 15);
	}
	throw new Error('the worker to stop never held a lease when stopped');
}
