import assert from 'node:assert/strict';
import {after, describe, test} from 'node:test';
import pg from 'pg';
import {CrawljarError} from '../../src/errors.js';
import {PostgresStore} from '../../src/store/postgres/postgres-store.js';
import {redactStoreUrl, poolConfig} from '../../src/store/postgres/connection.js';
import {schemaOf, schemaVersion} from '../../src/store/postgres/schema.js';
import {storeContract} from './contract.js';
import {dropSchemas, pgUrl, schemaExists, skipWithoutPostgres, uniqueName} from './pg-helpers.js';

const schemas: string[] = [];
after(() => dropSchemas(schemas));

/** A fresh schema per call: every contract test starts from an empty database. */
function freshSchema(): string {
	const schema = uniqueName('crawljar_test');
	schemas.push(schema);
	return schema;
}

storeContract('postgres', async () => PostgresStore.open({url: pgUrl, schema: freshSchema()}), {
	skip: skipWithoutPostgres,
	openPair: async () => {
		const schema = freshSchema();
		return [PostgresStore.open({url: pgUrl, schema}), PostgresStore.open({url: pgUrl, schema})];
	},
});

function isStorageError(error: unknown, ...fragments: string[]): boolean {
	return error instanceof CrawljarError && error.code === 'ERR_STORAGE' && fragments.every((part) => error.message.includes(part));
}

describe('PostgresStore', {skip: skipWithoutPostgres}, () => {
	test('a crawler gets its own schema, created with a schema version, and a reopened store has what the last one wrote', async () => {
		const crawler = uniqueName('books');
		schemas.push(schemaOf(crawler));
		const first = PostgresStore.open({url: pgUrl, crawler});
		const run = await first.createRun(1000);
		await first.addRequests(run.id, [{url: 'http://127.0.0.1:1/a', uniqueKey: 'a', depth: 0}]);
		const [a] = await first.lease(run.id, 1, 0);
		await first.commit(run.id, [{kind: 'done', requestId: a!.id, items: [{b: 1, a: 2}], enqueued: [], status: 200}]);
		await first.saveSession({id: 's1', account: 'alice', state: 'healthy', meta: {n: 1}, secret: 'enc', updatedAt: 5});
		await first.close();
		assert.equal(await schemaExists(`crawljar_${crawler}`), true);

		const client = new pg.Client({connectionString: pgUrl});
		await client.connect();
		try {
			const {rows} = await client.query(`SELECT version FROM ${pg.escapeIdentifier(`crawljar_${crawler}`)}.schema_version`);
			assert.deepEqual(rows, [{version: schemaVersion}]);
		} finally {
			await client.end();
		}

		// Opening again (twice at once: two workers starting) migrates nothing and loses nothing.
		const [second, third] = [PostgresStore.open({url: pgUrl, crawler}), PostgresStore.open({url: pgUrl, crawler})];
		try {
			await Promise.all([second.ready(), third.ready()]);
			assert.equal((await second.latestRun())?.id, run.id);
			const items: unknown[] = [];
			for await (const item of third.items(run.id)) items.push(item);
			// Stored as text: key order survives (jsonb would reorder it).
			assert.equal(JSON.stringify(items), '[{"b":1,"a":2}]');
			assert.deepEqual((await second.loadSessions()).map((session) => session.secret), ['enc']);
		} finally {
			await second.close();
			await third.close();
		}
	});

	test('a schema written by a newer crawljar is refused with ERR_STORAGE', async () => {
		const schema = freshSchema();
		const store = PostgresStore.open({url: pgUrl, schema});
		await store.ready();
		await store.close();
		const client = new pg.Client({connectionString: pgUrl});
		await client.connect();
		await client.query(`UPDATE ${pg.escapeIdentifier(schema)}.schema_version SET version = 999`);
		await client.end();
		const newer = PostgresStore.open({url: pgUrl, schema});
		await assert.rejects(newer.latestRun(), (error: unknown) => isStorageError(error, 'version 999', 'upgrade crawljar'));
		await newer.close();
	});

	test('an unreachable server or a wrong password fails with ERR_STORAGE and the password never shows', async () => {
		const secret = 'hunter2-very-secret';
		const refused = PostgresStore.open({url: `postgres://crawl:${secret}@127.0.0.1:1/nowhere`, schema: 'unused'});
		await assert.rejects(refused.latestRun(), (error: unknown) => {
			assert.ok(isStorageError(error, 'postgres://crawl:***@127.0.0.1:1/nowhere'), String(error));
			assert.ok(!(error as Error).message.includes(secret));
			return true;
		});
		await refused.close();

		const url = new URL(pgUrl);
		url.username = 'crawljar_no_such_user';
		url.password = secret;
		const wrongUser = PostgresStore.open({url: url.href, schema: 'unused'});
		await assert.rejects(wrongUser.counts(1), (error: unknown) => isStorageError(error) && !(error as Error).message.includes(secret));
		await wrongUser.close();
	});

	test('store URLs: password and password-like parameters redacted, pool size from ?max= validated', () => {
		assert.equal(redactStoreUrl('postgres://u:p%40ss@db:5432/crawls?sslmode=require&password=x'), 'postgres://u:***@db:5432/crawls?sslmode=require&password=***');
		assert.equal(redactStoreUrl('postgres://db/crawls'), 'postgres://db/crawls');
		assert.equal(poolConfig('postgres://db/crawls').max, 10);
		assert.equal(poolConfig('postgres://db/crawls?max=3').max, 3);
		// A statement never answered (a partition) fails in a minute and runs again; the URL may say otherwise (postgres-reconnect.test.ts).
		const {query_timeout: statementTimeout, keepAlive} = poolConfig('postgres://db/crawls');
		assert.deepEqual({statementTimeout, keepAlive}, {statementTimeout: 60_000, keepAlive: true});
		assert.throws(
			() => poolConfig('postgres://u:pw@db/crawls?max=lots'),
			(error: unknown) => error instanceof CrawljarError && error.code === 'ERR_USAGE' && error.message.includes('max (pool size)'),
		);
		assert.throws(
			() => poolConfig('mysql://u:pw@db/crawls'),
			(error: unknown) => error instanceof CrawljarError && error.message.includes('postgres://') && !error.message.includes(':pw@'),
		);
	});

	test('a crawler name too long for a schema is refused by name', () => {
		assert.throws(() => schemaOf('x'.repeat(60)), (error: unknown) => isStorageError(error, 'too long', 'x'.repeat(60)));
	});
});
