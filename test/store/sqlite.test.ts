import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, describe, test} from 'node:test';
import Database from 'better-sqlite3';
import {CrawljarError} from '../../src/errors.js';
import type {Completion, NewRequest} from '../../src/store/store.js';
import {migrations, schemaVersion} from '../../src/store/sqlite/schema.js';
import {readOnlyCause} from '../../src/store/sqlite/open-database.js';
import {SqliteStore} from '../../src/store/sqlite/sqlite-store.js';
import {checkpointWalBytes, walSizeLimitBytes} from '../../src/store/sqlite/wal-limits.js';
import {storeContract} from './contract.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crawljar-sqlite-'));
after(() => fs.rmSync(tmp, {recursive: true, force: true}));

let fileCount = 0;
function tempFile(): string {
	return path.join(tmp, `store-${++fileCount}`, 'crawler.sqlite');
}

function mode(file: string): number {
	return fs.statSync(file).mode & 0o777;
}

function isStorageError(error: unknown, ...fragments: string[]): boolean {
	return error instanceof CrawljarError && error.code === 'ERR_STORAGE' && fragments.every((part) => error.message.includes(part));
}

storeContract('sqlite :memory:', async () => SqliteStore.open(':memory:'));
storeContract('sqlite file', async () => SqliteStore.open(tempFile()), {
	openPair: async () => {
		const file = tempFile();
		return [SqliteStore.open(file), SqliteStore.open(file)];
	},
});

describe('SqliteStore', () => {
	test('a reopened file has everything the last process wrote', async () => {
		const file = tempFile();
		const first = SqliteStore.open(file);
		const run = await first.createRun(1000);
		await first.addRequests(run.id, [
			{url: 'https://example.com/a', uniqueKey: 'a', depth: 0},
			{url: 'https://example.com/b', uniqueKey: 'b', depth: 0},
			{url: 'https://example.com/c', uniqueKey: 'c', depth: 0},
		]);
		const [a, b] = await first.lease(run.id, 3, 0);
		await first.commit(run.id, [
			{kind: 'done', requestId: a!.id, items: [{title: 'A'}], enqueued: [{url: 'https://example.com/d', uniqueKey: 'd', depth: 1}], status: 200},
			{kind: 'failed', requestId: b!.id, retryCount: 2, status: 404, errorCode: 'ERR_HTTP_STATUS', error: 'Status 404'},
		]);
		await first.saveSession({id: 's1', account: 'alice', state: 'healthy', meta: {n: 1}, secret: 'enc', updatedAt: 5});
		await first.setMeta('cooldown', '42');
		await first.setRunState(run.id, 'stopped', 2000, {pages: 1});
		await first.close();

		const second = SqliteStore.open(file);
		try {
			assert.deepEqual(await second.latestRun(), {id: run.id, state: 'stopped', startedAt: 1000, finishedAt: 2000, summary: {pages: 1}});
			// The request leased but never completed is still in flight until the resume releases it.
			assert.deepEqual(await second.counts(run.id), {pending: 1, inflight: 1, done: 1, failed: 1});
			assert.deepEqual(await collect(second.items(run.id)), [{title: 'A'}]);
			assert.deepEqual(
				(await second.failedRequests(run.id, 10)).map((failed) => [failed.url, failed.status, failed.retryCount]),
				[['https://example.com/b', 404, 2]],
			);
			assert.deepEqual(await second.loadSessions(), [{id: 's1', account: 'alice', state: 'healthy', meta: {n: 1}, secret: 'enc', updatedAt: 5, version: 1}]);
			assert.equal(await second.getMeta('cooldown'), '42');
			assert.deepEqual(await second.releaseInflight(run.id), {released: 1, crashed: 0});
			// c, found in flight, goes first and alone; then the rest.
			const [c] = await second.lease(run.id, 10, 0);
			assert.equal(c?.uniqueKey, 'c');
			await second.commit(run.id, [{kind: 'done', requestId: c.id, items: [], enqueued: [], status: 200}]);
			assert.deepEqual(
				(await second.lease(run.id, 10, 0)).map((stored) => stored.uniqueKey),
				['d'],
			);
			// Dedupe survives the reopen.
			assert.equal(await second.addRequests(run.id, [{url: 'https://example.com/a', uniqueKey: 'a', depth: 0}]), 0);
		} finally {
			await second.close();
		}
	});

	test('counts kept in memory agree with a recount after a mixed workload', async () => {
		const file = tempFile();
		const store = SqliteStore.open(file);
		const raw = new Database(file, {readonly: true});
		try {
			const run = await store.createRun(1);
			const recount = (): Record<string, number> => {
				const counts: Record<string, number> = {pending: 0, inflight: 0, done: 0, failed: 0};
				const rows = raw.prepare('SELECT state, count(*) AS n FROM requests WHERE run_id = ? GROUP BY state').all(run.id);
				for (const row of rows as Array<{state: string; n: number}>) counts[row.state] = row.n;
				return counts;
			};
			assert.deepEqual(await store.counts(run.id), recount());
			let seed = 7;
			const random = (n: number): number => {
				seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
				return seed % n;
			};
			const link = (): NewRequest => {
				const key = `k${random(400)}`;
				return {url: `https://example.com/${key}`, uniqueKey: key, depth: 1};
			};
			await store.addRequests(run.id, Array.from({length: 50}, link));
			for (let round = 0; round < 60; round++) {
				const leasedRequests = await store.lease(run.id, 1 + random(8), round);
				const completions: Completion[] = leasedRequests.map((request): Completion => {
					switch (random(5)) {
						case 0:
							return {kind: 'retry', requestId: request.id, retryAt: round + random(3), retryCount: 1, reloginCount: 0, rateLimitCount: 0, error: 'x'};
						case 1:
							return {kind: 'failed', requestId: request.id, retryCount: 3, status: 500, errorCode: 'ERR_HTTP_STATUS', error: 'x'};
						case 2:
							return {kind: 'release', requestId: request.id, retryAt: round};
						default:
							return {kind: 'done', requestId: request.id, items: [round], enqueued: [link(), link(), link()], status: 200};
					}
				});
				// Some completions twice, so ignored ones are exercised too.
				await store.commit(run.id, [...completions, ...completions.slice(0, random(2))]);
				if (round % 20 === 10) await store.requeueFailed(run.id);
				if (round % 25 === 20) await store.releaseInflight(run.id);
				assert.deepEqual(await store.counts(run.id), recount(), `round ${round}`);
			}
		} finally {
			raw.close();
			await store.close();
		}
	});

	test('open creates the folder and owner-only files, whatever the umask', async () => {
		const file = tempFile();
		const previous = process.umask(0);
		let store: SqliteStore;
		try {
			store = SqliteStore.open(file);
			const run = await store.createRun(1);
			await store.addRequests(run.id, [{url: 'https://example.com/', uniqueKey: 'a', depth: 0}]);
		} finally {
			process.umask(previous);
		}
		try {
			assert.equal(mode(path.dirname(file)), 0o700);
			assert.equal(mode(file), 0o600);
			assert.equal(mode(`${file}-wal`), 0o600);
			assert.equal(mode(`${file}-shm`), 0o600);

			// Files left world-readable (an older version, a copy) are fixed on open.
			for (const suffix of ['', '-wal', '-shm']) fs.chmodSync(file + suffix, 0o644);
			const again = SqliteStore.open(file);
			await again.close();
			assert.equal(mode(file), 0o600);
			assert.equal(mode(`${file}-wal`), 0o600);
			assert.equal(mode(`${file}-shm`), 0o600);
		} finally {
			await store.close();
		}
	});

	test('open throws ERR_STORAGE naming the path when the folder cannot be written', () => {
		// A path under a regular file cannot be created, even by root.
		const regular = path.join(tmp, 'not-a-folder');
		fs.writeFileSync(regular, 'x');
		const underFile = path.join(regular, 'sub', 'crawler.sqlite');
		assert.throws(() => SqliteStore.open(underFile), (error: unknown) => isStorageError(error, path.join(regular, 'sub')));

		// A read-only folder stops everyone but root (for whom chmod does not block writes).
		if (process.getuid?.() !== 0) {
			const readOnly = path.join(tmp, 'read-only');
			fs.mkdirSync(readOnly, {mode: 0o500});
			try {
				assert.throws(
					() => SqliteStore.open(path.join(readOnly, 'crawler.sqlite')),
					(error: unknown) => isStorageError(error, readOnly, 'not writable'),
				);
			} finally {
				fs.chmodSync(readOnly, 0o700);
			}
		}
	});

	test('a read-only file system is named as such, not as the errno the call happened to return', () => {
		// This machine offers no read-only mount a test may use (and root ignores chmod), so the
		// mapping is checked on the errors such a mount gives: EROFS from open/access, and the
		// ENOENT Node's recursive mkdir reports for a missing folder there (then the nearest
		// existing ancestor is probed, which here is writable: the error is passed on as is).
		const erofs = Object.assign(new Error('EROFS: read-only file system, open'), {code: 'EROFS'});
		const mapped = readOnlyCause('/mnt/ro/storage', erofs) as Error & {code?: string};
		assert.equal(mapped.code, 'EROFS');
		assert.match(mapped.message, /^\/mnt\/ro\/storage is on a read-only file system \(EROFS\); choose a writable --storage folder$/);
		assert.equal(mapped.cause, erofs);
		const enoent = Object.assign(new Error('ENOENT: no such file or directory, mkdir'), {code: 'ENOENT'});
		assert.equal(readOnlyCause(path.join(tmp, 'missing', 'storage'), enoent), enoent);
	});

	test('the schema version is recorded, and a file from a newer version is refused', async () => {
		const file = tempFile();
		await SqliteStore.open(file).close();
		const raw = new Database(file);
		try {
			assert.equal(raw.pragma('user_version', {simple: true}), schemaVersion);
			assert.equal(raw.pragma('journal_mode', {simple: true}), 'wal');
			raw.pragma(`user_version = ${schemaVersion + 1}`);
		} finally {
			raw.close();
		}
		assert.throws(() => SqliteStore.open(file), (error: unknown) => isStorageError(error, file, 'newer'));
	});

	test('a version-1 file (before crash counts) is migrated: its in-flight request is failed at the second resume', async () => {
		const file = tempFile();
		fs.mkdirSync(path.dirname(file), {recursive: true});
		const old = new Database(file);
		old.exec(migrations[0]!);
		old.pragma('user_version = 1');
		old.prepare(`INSERT INTO runs (id, state, started_at) VALUES (1, 'running', 1000)`).run();
		old.prepare(
			`INSERT INTO requests (run_id, unique_key, url, method, user_data, depth, state, host)
			VALUES (1, 'a', 'https://example.com/a', 'GET', '{}', 0, 'inflight', 'example.com')`,
		).run();
		old.close();

		const store = SqliteStore.open(file);
		try {
			assert.deepEqual(await store.releaseInflight(1), {released: 1, crashed: 0});
			await store.lease(1, 1, 0);
			assert.deepEqual(await store.releaseInflight(1), {released: 0, crashed: 1});
			assert.deepEqual((await store.failedRequests(1, 10)).map((failed) => failed.errorCode), ['ERR_CRASHED_WORKER']);
		} finally {
			await store.close();
		}
		const raw = new Database(file, {readonly: true});
		try {
			assert.equal(raw.pragma('user_version', {simple: true}), schemaVersion);
			assert.equal(schemaVersion, 7);
		} finally {
			raw.close();
		}
	});

	test('a version-2 file (before lease owners and workers) is migrated: crash counts are kept, leases get an owner, workers a table', async () => {
		const file = tempFile();
		fs.mkdirSync(path.dirname(file), {recursive: true});
		const old = new Database(file);
		old.exec(migrations[0]!);
		old.exec(migrations[1]!);
		old.pragma('user_version = 2');
		old.prepare(`INSERT INTO runs (id, state, started_at) VALUES (1, 'running', 1000)`).run();
		const insert = old.prepare<[key: string, url: string, state: string, crashCount: number]>(
			`INSERT INTO requests (run_id, unique_key, url, method, user_data, depth, state, host, crash_count)
			VALUES (1, ?, ?, 'GET', '{}', 0, ?, 'example.com', ?)`,
		);
		insert.run('suspect', 'https://example.com/suspect', 'inflight', 1); // one resume found it in flight; in flight again
		insert.run('plain', 'https://example.com/plain', 'pending', 0);
		old.close();

		const store = SqliteStore.open(file);
		try {
			// The second resume that finds it in flight fails it: the count survived the migration.
			assert.deepEqual(await store.releaseInflight(1), {released: 0, crashed: 1});
			const [plain] = await store.leaseAs(1, 10, 0, {owner: 'w1', expiresAt: 500});
			assert.equal(plain?.uniqueKey, 'plain');
			assert.deepEqual(await store.commitAs(1, 'w2', [{kind: 'done', requestId: plain!.id, items: [], enqueued: [], status: 200}]), {
				applied: 0,
				refused: [plain!.id],
			});
			assert.equal(await store.reclaimExpired(1, 500), 1);
			const joined = await store.joinRun({worker: {id: 'w3', host: 'h', pid: 1}, now: 600, leaseMs: 1000, fresh: false, retryFailed: false});
			assert.deepEqual([joined.run.id, joined.created], [1, false]);
			assert.deepEqual((await store.listWorkers(1)).map((worker) => worker.id), ['w3']);
		} finally {
			await store.close();
		}
		const raw = new Database(file, {readonly: true});
		try {
			assert.equal(raw.pragma('user_version', {simple: true}), schemaVersion);
		} finally {
			raw.close();
		}
	});

	test('a version-3 file (before shared sessions) is migrated: its sessions get version 1 and a change cursor', async () => {
		const file = tempFile();
		fs.mkdirSync(path.dirname(file), {recursive: true});
		const old = new Database(file);
		for (const migration of migrations.slice(0, 3)) old.exec(migration);
		old.pragma('user_version = 3');
		const insert = old.prepare<[id: string]>(`INSERT INTO sessions (id, account, state, meta, secret, updated_at) VALUES (?, 'a', 'ready', '{}', 'enc', 1)`);
		insert.run('a#1');
		insert.run('a#2');
		old.close();

		const store = SqliteStore.open(file);
		try {
			// A worker's first poll (cursor 0) sees the old rows, so a pool loading them misses none.
			const changes = await store.sessionChanges(0);
			assert.deepEqual(
				changes.sessions.map((row) => [row.id, row.version]),
				[
					['a#1', 1],
					['a#2', 1],
				],
			);
			assert.equal(await store.saveSessionIf({id: 'a#2', account: 'a', state: 'ready', meta: {}, secret: 'new', updatedAt: 2}, 1), 2);
			assert.deepEqual(
				(await store.sessionChanges(changes.cursor)).sessions.map((row) => row.secret),
				['new'],
			);
		} finally {
			await store.close();
		}
	});

	test('the WAL is checkpointed deliberately, by size, not automatically', async () => {
		const file = tempFile();
		const wal = `${file}-wal`;
		const size = (name: string): number => (fs.existsSync(name) ? fs.statSync(name).size : 0);
		const store = SqliteStore.open(file);
		try {
			const run = await store.createRun(1);
			const big = 'x'.repeat(100_000);
			let serial = 0;
			const writeBig = async (): Promise<void> => {
				const key = `big${serial++}`;
				await store.addRequests(run.id, [{url: `https://example.com/${key}`, uniqueKey: key, depth: 0}]);
				const [request] = await store.lease(run.id, 1, 0);
				await store.commit(run.id, [{kind: 'done', requestId: request!.id, items: [big], enqueued: [], status: 200}]);
			};

			// SQLite's automatic checkpoint (1,000 pages) would recycle the WAL at ~4 MB.
			while (size(wal) < 6_000_000) await writeBig();
			assert.ok(fs.statSync(file).size < 1_000_000);

			store.checkpoint('TRUNCATE');
			assert.equal(size(wal), 0);
			const checkpointedSize = size(file);

			// Below the threshold nothing reaches the database file…
			while (size(wal) < checkpointWalBytes - 1_000_000) await writeBig();
			assert.equal(size(file), checkpointedSize);
			// …past it, the write that crossed it checkpoints, and the next one restarts the WAL.
			while (size(file) === checkpointedSize && size(wal) < checkpointWalBytes + 2_000_000) await writeBig();
			assert.ok(size(file) > checkpointedSize + checkpointWalBytes / 2);
			await writeBig();
			assert.ok(size(wal) <= walSizeLimitBytes + 1_000_000, `WAL is ${size(wal)} bytes`);
			assert.equal(await store.itemCount(run.id), serial);
		} finally {
			await store.close();
		}
		// close() checkpoints with TRUNCATE, and the last connection removes the WAL.
		assert.equal(size(wal), 0);
	});
});

async function collect(iterable: AsyncIterable<unknown>): Promise<unknown[]> {
	const values: unknown[] = [];
	for await (const value of iterable) values.push(value);
	return values;
}
