// Shows that the SQLite frontier lives on disk: fills a 1,000,000-URL frontier in a temp
// database, then measures the engine's hot path (lease 10 + commit 10 pages, each with one
// item and ten enqueued links) and prints time, file size and peak RSS (target < 300 MB).
//
//   npx tsx bench/frontier-1m.ts [urls=1000000] [rounds=2000]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type {Completion, NewRequest, StoredRequest} from '../src/store/store.js';
import {SqliteStore} from '../src/store/sqlite/sqlite-store.js';

const urlCount = Number(process.argv[2] ?? 1_000_000);
const rounds = Number(process.argv[3] ?? 2000);
const batchSize = 10_000;
const pagesPerCommit = 10;

function newRequest(key: string, depth: number): NewRequest {
	const url = `https://shop${key.length % 7}.example.com/catalogue/item-${key}/index.html`;
	return {url, uniqueKey: url, label: 'detail', depth};
}

function item(request: StoredRequest): unknown {
	return {url: request.url, title: `Title of ${request.uniqueKey}`, price: 12.5, stock: 3, tags: ['a', 'b']};
}

let linkSerial = 0;
/** Ten links a page: fresh ones (a growing crawl) or ones already in the frontier (dedupe path). */
function links(fresh: boolean): NewRequest[] {
	return Array.from({length: 10}, (_, index) =>
		fresh ? newRequest(`new-${linkSerial++}`, 2) : newRequest(String(index * 997), 2),
	);
}

/** lease(10) + commit(10 done) rounds; returns µs per page. */
async function hotPath(store: SqliteStore, runId: number, count: number, fresh: boolean): Promise<number> {
	const start = process.hrtime.bigint();
	let pages = 0;
	for (let round = 0; round < count; round++) {
		const leased = await store.lease(runId, pagesPerCommit, Date.now());
		const completions: Completion[] = leased.map((request) => ({
			kind: 'done',
			requestId: request.id,
			items: [item(request)],
			enqueued: links(fresh),
			status: 200,
		}));
		await store.commit(runId, completions);
		pages += leased.length;
	}
	return Number(process.hrtime.bigint() - start) / 1000 / pages;
}

function mb(bytes: number): string {
	return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function fileSize(file: string): number {
	return fs.existsSync(file) ? fs.statSync(file).size : 0;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crawljar-bench-'));
try {
	// Warm, small database first: the cost per page when the frontier is small.
	const small = SqliteStore.open(path.join(dir, 'small.sqlite'));
	const smallRun = await small.createRun(Date.now());
	await small.addRequests(
		smallRun.id,
		Array.from({length: 1000}, (_, index) => newRequest(String(index), 0)),
	);
	await hotPath(small, smallRun.id, 100, true);
	const smallFresh = await hotPath(small, smallRun.id, rounds, true);
	const smallDup = await hotPath(small, smallRun.id, rounds, false);
	await small.close();

	const file = path.join(dir, 'frontier.sqlite');
	const store = SqliteStore.open(file);
	const run = await store.createRun(Date.now());
	let start = performance.now();
	for (let offset = 0; offset < urlCount; offset += batchSize) {
		const batch: NewRequest[] = [];
		for (let index = offset; index < Math.min(offset + batchSize, urlCount); index++) {
			batch.push(newRequest(String(index), 1));
		}
		await store.addRequests(run.id, batch);
	}
	const fillMs = performance.now() - start;

	start = performance.now();
	const counts = await store.counts(run.id);
	const countsMs = performance.now() - start;
	start = performance.now();
	await store.counts(run.id);
	const cachedCountsMs = performance.now() - start;
	start = performance.now();
	await store.nextDueAt(run.id);
	const nextDueMs = performance.now() - start;

	const bigFresh = await hotPath(store, run.id, rounds, true);
	const bigDup = await hotPath(store, run.id, rounds, false);
	const walBytes = fileSize(`${file}-wal`);
	await store.close();

	const rssKib = process.resourceUsage().maxRSS;
	console.log(`frontier: ${counts.pending.toLocaleString()} URLs added in ${(fillMs / 1000).toFixed(1)} s (${((fillMs * 1000) / urlCount).toFixed(1)} µs/URL, batches of ${batchSize})`);
	console.log(`counts(): ${countsMs.toFixed(1)} ms counting, ${cachedCountsMs.toFixed(3)} ms cached   nextDueAt(): ${nextDueMs.toFixed(3)} ms`);
	console.log(`hot path, lease(${pagesPerCommit}) + commit(${pagesPerCommit} done, 1 item + 10 links each), ${rounds} rounds:`);
	console.log(`  small frontier: ${smallFresh.toFixed(1)} µs/page (new links), ${smallDup.toFixed(1)} µs/page (known links)`);
	console.log(`  1M frontier:    ${bigFresh.toFixed(1)} µs/page (new links), ${bigDup.toFixed(1)} µs/page (known links)`);
	console.log(`database file: ${mb(fileSize(file))} (WAL before close: ${mb(walBytes)})`);
	console.log(`peak RSS: ${mb(rssKib * 1024)}`);
} finally {
	fs.rmSync(dir, {recursive: true, force: true});
}
