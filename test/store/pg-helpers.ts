// PostgreSQL for the tests: the server at CRAWLJAR_PG_URL (default the local trust-auth one).
// In CI (CI=1/true) an unreachable server fails the suite loudly; elsewhere the PostgreSQL
// tests are skipped with a message saying why. Every test gets its own schema, dropped after.
import {randomBytes} from 'node:crypto';
import pg from 'pg';

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
