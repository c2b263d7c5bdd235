// What a PostgreSQL database holds for crawljar, without opening a store: the crawlers whose
// schema exists (for `list`, and so read-only commands never create an empty schema by mistake).
import type pg from 'pg';
import {loadDriver, poolConfig, storageError} from './connection.js';
import {schemaOf, schemaPrefix} from './schema.js';

async function withClient<T>(url: string, doing: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
	const {max: _max, ...config} = poolConfig(url);
	let client: pg.Client | undefined;
	try {
		const {pg: driver, types} = await loadDriver();
		client = new driver.Client({...config, types});
		client.on('error', () => {});
		await client.connect();
		return await work(client);
	} catch (error) {
		throw storageError(error, url, doing);
	} finally {
		await client?.end().catch(() => {});
	}
}

// A schema counts once its migrations have created schema_version (a half-created one does not).
const crawlerSchemas = `SELECT n.nspname FROM pg_namespace n
	WHERE n.nspname LIKE $1 AND EXISTS (
		SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND c.relname = 'schema_version'
	)
	ORDER BY n.nspname`;

/** The crawlers with a schema in this database, sorted. */
export async function postgresCrawlers(url: string): Promise<string[]> {
	return withClient(url, 'listing crawlers', async (client) => {
		const {rows} = await client.query<{nspname: string}>(crawlerSchemas, [`${schemaPrefix.replace(/_/g, '\\_')}%`]);
		return rows.map((row) => row.nspname.slice(schemaPrefix.length));
	});
}

export async function postgresCrawlerExists(url: string, crawler: string): Promise<boolean> {
	const schema = schemaOf(crawler);
	return withClient(url, `looking up schema ${schema}`, async (client) => {
		const {rowCount} = await client.query(
			`SELECT 1 FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid
			WHERE n.nspname = $1 AND c.relname = 'schema_version'`,
			[schema],
		);
		return (rowCount ?? 0) > 0;
	});
}
