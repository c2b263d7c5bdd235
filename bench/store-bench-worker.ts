// One simulated worker of the store benchmark (bench/store-bench.ts), in its own process: its own
// PostgresStore handle, no HTTP. Connects and warms up, waits for the common start time, then
// loops leaseAs(batch) → commitAs(batch completions: 1 item and 10 links each, 9 of them already
// in the frontier) until the common end time, and reports the pages committed and its own CPU.
// Protocol: prints READY once warm, then reads one line {startAt, endAt} from stdin.
import {createInterface} from 'node:readline';
import {PostgresStore} from '../src/store/postgres/postgres-store.js';
import type {Completion, NewRequest, StoredRequest} from '../src/store/store.js';
import {RESULT_MARKER} from './lib/types.js';
import {freshLinksPerPage, linksPerPage, seededRequest, type StoreWorkerConfig, type StoreWorkerResult, type StoreWorkerWindow} from './lib/store-bench-shared.js';

const config = JSON.parse(process.argv[2]!) as StoreWorkerConfig;
const owner = `bench-worker-${config.worker}`;
const store = PostgresStore.open({url: config.url, schema: config.schema});
let serial = 0;

function completion(request: StoredRequest): Completion {
	const enqueued: NewRequest[] = [];
	for (let index = 0; index < freshLinksPerPage; index++) {
		const url = `https://shop.example.com/new/w${config.worker}-${serial++}.html`;
		enqueued.push({url, uniqueKey: url, label: 'detail', depth: request.depth + 1});
	}
	while (enqueued.length < linksPerPage) enqueued.push(seededRequest(Math.floor(Math.random() * config.knownKeys)));
	const item = {url: request.url, title: `Title of ${request.uniqueKey}`, price: 12.5, stock: 3};
	return {kind: 'done', requestId: request.id, items: [item], itemsJson: [JSON.stringify(item)], enqueued, status: 200};
}

async function round(): Promise<{pages: number; refused: number}> {
	const now = Date.now();
	const leased = await store.leaseAs(config.runId, config.batch, now, {owner, expiresAt: now + 30_000});
	if (leased.length === 0) return {pages: 0, refused: 0};
	const {applied, refused} = await store.commitAs(config.runId, owner, leased.map(completion));
	return {pages: applied, refused: refused.length};
}

await store.ready();
for (let index = 0; index < 3; index++) await round(); // connection open, statements planned
console.log('READY');
// pg closes a connection idle for 10 s: keep ours (and its backend, whose CPU is measured) while the others start.
const keepAlive = setInterval(() => void store.getMeta('bench-keepalive'), 2000);
const lines = createInterface({input: process.stdin});
const window = JSON.parse(await new Promise<string>((resolve) => lines.once('line', resolve))) as StoreWorkerWindow;
lines.close();
clearInterval(keepAlive);
await new Promise((resolve) => setTimeout(resolve, Math.max(0, window.startAt - Date.now())));
const cpuBefore = process.cpuUsage();
const started = performance.now();
let pages = 0;
let refused = 0;
while (Date.now() < window.endAt) {
	const done = await round();
	pages += done.pages;
	refused += done.refused;
}
const elapsedMs = performance.now() - started;
const cpu = process.cpuUsage(cpuBefore);
await store.close();
const result: StoreWorkerResult = {pages, refused, cpuMs: (cpu.user + cpu.system) / 1000, elapsedMs};
console.log(`${RESULT_MARKER}${JSON.stringify(result)}`);
