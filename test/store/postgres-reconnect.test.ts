// A PostgreSQL store whose connection is lost (the server restarted, the network dropped) keeps
// trying, with bounded backoff, and goes on where it was; past its budget the call fails with
// ERR_STORAGE. The shared server is not restarted (other suites use it): a local TCP proxy
// between the store and PostgreSQL is cut and restored instead.
import assert from 'node:assert/strict';
import {after, test} from 'node:test';
import {CrawljarError} from '../../src/errors.js';
import {createPool} from '../../src/store/postgres/connection.js';
import {PostgresStore} from '../../src/store/postgres/postgres-store.js';
import {collect, done, request} from './contract-helpers.js';
import {dropSchemas, pgUrl, skipWithoutPostgres, startPgProxy, uniqueName} from './pg-helpers.js';

const schemas: string[] = [];
after(() => dropSchemas(schemas));

test('a lost connection is tried again with backoff: the store goes on where it was once the server is back', {skip: skipWithoutPostgres, timeout: 60_000}, async (t) => {
	const proxy = await startPgProxy(t);
	const schema = uniqueName('crawljar_reconnect');
	schemas.push(schema);
	const store = PostgresStore.open({url: proxy.url, schema, reconnectBudgetMs: 30_000});
	t.after(() => store.close());
	const {run} = await store.joinRun({worker: {id: 'w1', host: 'h', pid: 1}, now: 0, leaseMs: 60_000, fresh: false, retryFailed: false});
	await store.addRequests(run.id, [request('a'), request('b')]);
	const [a, b] = await store.leaseAs(run.id, 2, 0, {owner: 'w1', expiresAt: 60_000});

	await proxy.cut();
	const connectionsBefore = proxy.accepted();
	// Calls made while the server is unreachable wait for it instead of failing.
	const commit = store.commitAs(run.id, 'w1', [done(a!.id, ['a'])]);
	const beat = store.heartbeat(run.id, 'w1', 1000, 61_000, {pagesDone: 1, pagesPerSecond: 1, requests: 1, items: 1}, [a!.id, b!.id]);
	let isSettled = false;
	void Promise.allSettled([commit, beat]).then(() => (isSettled = true));
	await new Promise((resolve) => setTimeout(resolve, 1_500));
	assert.equal(isSettled, false, 'still waiting for the server');
	await proxy.restore();
	assert.deepEqual(await commit, {applied: 1, refused: []});
	// The heartbeat may have run before or after the commit: it renewed b, and a if a was still in flight.
	const {renewed, reclaimed} = await beat;
	assert.ok(renewed === 1 || renewed === 2, `renewed ${renewed}`);
	assert.equal(reclaimed, 0);
	assert.ok(proxy.accepted() > connectionsBefore, 'it reconnected');
	// The worker's state is intact: its other lease still holds.
	assert.deepEqual(await store.commitAs(run.id, 'w1', [done(b!.id, ['b'])]), {applied: 1, refused: []});
	assert.deepEqual(await store.counts(run.id), {pending: 0, inflight: 0, done: 2, failed: 0});
});

test('past its reconnect budget a call fails with ERR_STORAGE naming what it was doing, without the password', {skip: skipWithoutPostgres, timeout: 60_000}, async (t) => {
	const proxy = await startPgProxy(t);
	const schema = uniqueName('crawljar_reconnect');
	schemas.push(schema);
	const url = new URL(proxy.url);
	url.password = 'never-shown';
	const store = PostgresStore.open({url: url.href, schema, reconnectBudgetMs: 1_500});
	t.after(() => store.close());
	await store.ready();
	await proxy.cut();
	const startedAt = Date.now();
	await assert.rejects(store.latestRun(), (error: unknown) => {
		assert.ok(error instanceof CrawljarError);
		assert.equal(error.code, 'ERR_STORAGE');
		assert.match(error.message, /reading runs failed/);
		assert.ok(!error.message.includes('never-shown'));
		return true;
	});
	const tookMs = Date.now() - startedAt;
	assert.ok(tookMs >= 500 && tookMs < 20_000, `gave up after ${tookMs} ms (budget 1500 ms)`);
});

test('a connection dropped while checked out of the pool (between statements of a transaction) does not end the process', {skip: skipWithoutPostgres, timeout: 30_000}, async (t) => {
	const proxy = await startPgProxy(t);
	const pool = await createPool(proxy.url);
	t.after(() => pool.end());
	const client = await pool.connect();
	await client.query('BEGIN');
	// Idle between two statements, as a worker is while it computes under a lock: pg emits
	// 'error' on the client itself, and without a listener that is an uncaught exception.
	await proxy.cut();
	await new Promise((resolve) => setTimeout(resolve, 300));
	const failed = await client.query('SELECT 1').then(
		() => undefined,
		(error: unknown) => error,
	);
	assert.ok(failed instanceof Error, 'the next statement on the dropped connection fails');
	client.release(failed);
	await proxy.restore();
	assert.equal((await pool.query<{one: number}>('SELECT 1 AS one')).rows[0]?.one, 1, 'the pool goes on with a new connection');
});

test('a statement the network never answers (a partition: no reset, no reply) times out and runs again on a new connection', {skip: skipWithoutPostgres, timeout: 60_000}, async (t) => {
	const proxy = await startPgProxy(t);
	const schema = uniqueName('crawljar_partition');
	schemas.push(schema);
	// The URL's query_timeout overrides the store's 60 s, so the test waits 1 s, not a minute.
	const url = new URL(proxy.url);
	url.searchParams.set('query_timeout', '1000');
	const store = PostgresStore.open({url: url.href, schema, reconnectBudgetMs: 30_000});
	t.after(() => store.close());
	const {run} = await store.joinRun({worker: {id: 'w1', host: 'h', pid: 1}, now: 0, leaseMs: 60_000, fresh: false, retryFailed: false});
	await store.addRequests(run.id, [request('a')]);
	const [a] = await store.leaseAs(run.id, 1, 0, {owner: 'w1', expiresAt: 60_000});

	// Every pooled connection goes silent; the server itself is fine.
	proxy.freeze();
	const connectionsBefore = proxy.accepted();
	const startedAt = Date.now();
	assert.deepEqual(await store.commitAs(run.id, 'w1', [done(a!.id, ['a'])]), {applied: 1, refused: []});
	const tookMs = Date.now() - startedAt;
	assert.ok(tookMs >= 900, `it waited for the statement timeout (${tookMs} ms)`);
	assert.ok(tookMs < 15_000, `and not for TCP's own timeout (${tookMs} ms)`);
	assert.ok(proxy.accepted() > connectionsBefore, 'it ran again on a new connection');
	assert.deepEqual(await store.counts(run.id), {pending: 0, inflight: 0, done: 1, failed: 0});
	assert.deepEqual(await collect(store.items(run.id)), ['a']);
});

