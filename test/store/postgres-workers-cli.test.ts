// Several `crawljar run` processes on one PostgreSQL schema share one crawl (issue 10): two start
// at once (one starts the run, the other joins it), one is killed with -9 mid-crawl and its
// leases come back within the lease time, a late joiner says "joined run", and one is stopped
// (SIGSTOP) past its lease and continued: its late completions are refused. Every item is
// stored exactly once and every page done once; asserted on what the server saw and what the
// store holds.
import assert from 'node:assert/strict';
import type {IncomingMessage, ServerResponse} from 'node:http';
import {after, test} from 'node:test';
import {PostgresStore} from '../../src/store/postgres/postgres-store.js';
import {schemaOf} from '../../src/store/postgres/schema.js';
import {runCli, spawnCli, tempProject, waitUntil} from '../helpers/run-cli.js';
import {startServer} from '../sites/start-server.js';
import {dropSchemas, inflightOwnedBy, pgUrl, skipWithoutPostgres, stopWhileHoldingLeases, uniqueName, within, workerIdOf} from './pg-helpers.js';

const LISTS = 40;
const ITEMS_PER_LIST = 19;
const PAGES = 1 + LISTS + LISTS * ITEMS_PER_LIST;
const LEASE_MS = 3_000;
/** Slow enough pages that the crawl outlasts the kill, the join and the stop on a fast machine. */
const PAGE_DELAY_MS = 60;
const crawler = uniqueName('pgworkers');
after(() => dropSchemas([schemaOf(crawler)]));

const crawlerSource = `import {defineCrawler} from 'crawljar';
export default defineCrawler({
	name: '${crawler}',
	startUrls: [process.env.SITE_URL + '/'],
	concurrency: 2,
	hosts: {maxConcurrency: 2},
	useHeaderGenerator: false,
	leaseMs: ${LEASE_MS},
	routes: {
		default: async ({enqueue}) => { await enqueue({selector: 'a.list', label: 'list'}); },
		list: async ({enqueue}) => { await enqueue({selector: 'a.item', label: 'item'}); },
		item: async ({request, $, push}) => { await push({url: request.url, title: $('h1').text()}); },
	},
});
`;

function page(path: string): string {
	if (path === '/') return Array.from({length: LISTS}, (_, list) => `<a class="list" href="/list/${list}">list ${list}</a>`).join('\n');
	const list = /^\/list\/(\d+)$/.exec(path);
	if (list) return Array.from({length: ITEMS_PER_LIST}, (_, item) => `<a class="item" href="/item/${list[1]}-${item}">item</a>`).join('\n');
	return `<h1>${path.slice('/item/'.length)}</h1>`;
}

test('three crawljar run workers on one PostgreSQL crawl: kill -9, SIGSTOP past the lease, a late joiner; every item once', {skip: skipWithoutPostgres, timeout: 240_000}, async (t) => {
	const fetches = new Map<string, number>();
	let served = 0;
	const server = await startServer(t, (request: IncomingMessage, response: ServerResponse) => {
		const path = new URL(request.url ?? '/', 'http://x').pathname;
		fetches.set(path, (fetches.get(path) ?? 0) + 1);
		served++;
		setTimeout(() => {
			response.setHeader('content-type', 'text/html');
			response.end(`<html><body>${page(path)}</body></html>`);
		}, PAGE_DELAY_MS);
	});
	const project = tempProject(t);
	const file = project.write('workers.ts', crawlerSource);
	const env = {SITE_URL: server.url, CRAWLJAR_STORE: pgUrl};
	const spawn = () => spawnCli(['run', file], {cwd: project.dir, env, timeoutMs: 200_000});

	// Two start at once: one store call each under one lock, so one run, one starter, one joiner.
	const a = spawn();
	const b = spawn();
	await Promise.all([a.waitFor(/(starting|joined) run 1/), b.waitFor(/(starting|joined) run 1/)]);
	const greetings = [a, b].map((child) => (/starting run 1/.test(child.stderr()) ? 'starting' : /joined run 1 \(1 other worker\)/.test(child.stderr()) ? 'joined' : child.stderr()));
	assert.deepEqual([...greetings].sort(), ['joined', 'starting']);

	// kill -9 one mid-crawl: the other's heartbeat reclaims its leases once they expire.
	await waitUntil(() => served >= 150, '150 pages served', a);
	const aId = await workerIdOf(crawler, a.child.pid);
	a.child.kill('SIGKILL');
	await a.exited;
	const reclaimMs = await within(`the killed worker's leases to be reclaimed`, 10 * LEASE_MS, async () => (await inflightOwnedBy(crawler, aId)) === 0);
	// Its lease (renewed at most leaseMs / 3 before the kill) plus one heartbeat of the other worker, with room for a loaded machine.
	assert.ok(reclaimMs < 3 * LEASE_MS, `leases reclaimed ${reclaimMs} ms after the kill`);
	t.diagnostic(`the killed worker's leases were back in play ${reclaimMs} ms after kill -9 (lease ${LEASE_MS} ms)`);

	// A late joiner.
	const c = spawn();
	await c.waitFor(/joined run 1 \(1 other worker\)/);
	const servedAtJoin = served;
	await waitUntil(() => served >= servedAtJoin + 40, 'the late joiner at work', c);

	// SIGSTOP one past its lease: the other reclaims its leases and does those pages; continued, its late completions are refused.
	const bId = await workerIdOf(crawler, b.child.pid);
	const heldAtStop = await stopWhileHoldingLeases(b.child, crawler, bId);
	t.diagnostic(`stopped a worker holding ${heldAtStop} lease(s)`);
	try {
		await within(`the stopped worker's leases to be reclaimed`, 10 * LEASE_MS, async () => (await inflightOwnedBy(crawler, bId)) === 0);
	} finally {
		b.child.kill('SIGCONT');
	}
	const [bEnd, cEnd] = await Promise.all([b.exited, c.exited]);
	assert.equal(bEnd.code, 0, bEnd.stderr);
	assert.equal(cEnd.code, 0, cEnd.stderr);
	assert.match(bEnd.stderr, /late completion\(s\) refused by the store/, 'the stopped worker was told its late completions were refused');

	// The store: every page done once, every item once, the run finished.
	const store = PostgresStore.open({url: pgUrl, crawler});
	try {
		assert.deepEqual(await store.counts(1), {pending: 0, inflight: 0, done: PAGES, failed: 0});
		assert.equal((await store.latestRun())?.state, 'finished');
		const urls: string[] = [];
		for await (const item of store.items(1)) urls.push((item as {url: string}).url);
		assert.equal(urls.length, LISTS * ITEMS_PER_LIST, 'no item lost, none duplicated');
		assert.equal(new Set(urls).size, urls.length);
	} finally {
		await store.close();
	}
	// The server: every page fetched; again only the pages in flight or uncommitted at the kill and the stop.
	assert.equal(fetches.size, PAGES);
	const again = [...fetches.values()].reduce((sum, n) => sum + n - 1, 0);
	// Exactly-once is asserted above (done once, every item once). Re-fetches are throughput, not
	// correctness: on a quiet machine only the pages in flight or uncommitted at the kill and the
	// stop (≤ 76); on a loaded one, heartbeats later than the 3 s lease hand out live leases too
	// (329 seen at load 12). The bound catches a runner that re-fetches without limit.
	t.diagnostic(`${again} page(s) fetched more than once`);
	assert.ok(again < PAGES / 2, `${again} pages fetched more than once`);

	// status lists the three workers: one dead (kill -9), two left.
	const status = await runCli(['status', crawler], {cwd: project.dir, env});
	assert.equal(status.code, 0, status.stderr);
	assert.match(status.stdout, /workers of run 1:/);
	assert.equal((status.stdout.match(/\bdead\b/g) ?? []).length, 1, status.stdout);
	assert.equal((status.stdout.match(/\bleft\b/g) ?? []).length, 2, status.stdout);
});
