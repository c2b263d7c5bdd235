// Issue 10 item 5, the whole scenario: three `crawljar run` workers on one PostgreSQL crawl a
// 3,000-book login-protected site whose sessions expire and whose limiter answers 429. One is
// killed with -9, one is stopped (SIGSTOP) past its lease and continued, a fourth joins late, and
// PostgreSQL "restarts" mid-crawl. Asserted on what the site saw and what the store holds:
// every item exactly once, every page done once, logins = sessions + expiries, no request
// inside a cooldown, the killed worker's leases back in play within the lease time.
//
// The restart is a TCP proxy between the workers and the server, cut (every connection dropped,
// new ones refused) and restored: from a client's side that is what a restart is, and the
// shared server stays up for the suites running beside this one.
import assert from 'node:assert/strict';
import {after, test} from 'node:test';
import {expectedBook, startDemoSite} from '../../demo/site/index.js';
import {PostgresStore} from '../../src/store/postgres/postgres-store.js';
import {schemaOf} from '../../src/store/postgres/schema.js';
import {cooldownBreaches} from '../helpers/cooldown-check.js';
import {spawnCli, tempProject, waitUntil} from '../helpers/run-cli.js';
import {dropSchemas, inflightOwnedBy, pgUrl, skipWithoutPostgres, startPgProxy, stopWhileHoldingLeases, uniqueName, within, workerIdOf} from './pg-helpers.js';

const BOOKS = 3_000;
const PER_PAGE = 20;
const PAGES = BOOKS + BOOKS / PER_PAGE;
const SESSIONS = 2;
const LEASE_MS = 3_000;
/** How often a worker reads the crawl's host state (cooldowns) from the store (host-coordinator.ts). */
const HOST_POLL_MS = 500;
const HOST_CONCURRENCY = 6;
const crawler = uniqueName('pgfaults');
after(() => dropSchemas([schemaOf(crawler)]));

const crawlerSource = `import {defineCrawler, formLogin} from 'crawljar';
export default defineCrawler({
	name: '${crawler}',
	startUrls: [process.env.SITE_URL + '/catalogue'],
	accounts: [{username: 'demo', password: 'demo-password'}],
	login: formLogin({url: '/login', fields: ({account}) => ({username: account.username, password: account.password})}),
	loggedOut: ({$}) => $('form#login').length > 0,
	sessions: {perAccount: ${SESSIONS}},
	concurrency: 3,
	hosts: {maxConcurrency: ${HOST_CONCURRENCY}},
	useHeaderGenerator: false,
	leaseMs: ${LEASE_MS},
	routes: {
		default: async ({enqueue}) => {
			await enqueue({selector: 'a.book', label: 'book'});
			await enqueue({selector: 'a.next'});
		},
		book: async ({request, $, push}) => { await push({url: request.url, title: $('h1').first().text().trim()}); },
	},
});
`;

test('3,000 login-protected pages, 3 workers: kill -9, SIGSTOP past the lease, a late fourth, a PostgreSQL restart; every item once, logins = sessions + expiries', {skip: skipWithoutPostgres, timeout: 420_000}, async (t) => {
	const site = await startDemoSite({books: BOOKS, perPage: PER_PAGE, pageBytes: 2_000, sessionMaxRequests: 400, rateLimit: {perSecond: 150}});
	t.after(() => site.close());
	const proxy = await startPgProxy(t);
	const project = tempProject(t);
	const file = project.write('faults.ts', crawlerSource);
	const env = {SITE_URL: site.url, CRAWLJAR_STORE: proxy.url};
	const spawn = () => spawnCli(['run', file], {cwd: project.dir, env, timeoutMs: 400_000});
	const books = () => site.stats.book;
	/**
	 * The site's limiter counts per client, and this process is the same client as the workers: a
	 * burst past its rate makes the workers' next requests get 429s, whatever their speed on a
	 * loaded machine. Its own requests are left out of the checks below by their path.
	 */
	const BURST_PATH = '/__burst';
	const burst = () => Promise.all(Array.from({length: 160}, () => fetch(site.url + BURST_PATH).then((response) => response.arrayBuffer(), () => undefined)));
	/** The last arrival at the login page (its form or its POST). */
	const lastLoginRequestAt = () => site.stats.log.findLast((entry) => entry.path.startsWith('/login'))?.at ?? 0;

	const [a, b, c] = [spawn(), spawn(), spawn()];
	await Promise.all([a, b, c].map((child) => child.waitFor(/(starting|joined) run 1/)));

	// kill -9, at a moment no login is under way: a login the site accepted but the killed worker
	// never saved would be a login the count below could not explain.
	await waitUntil(() => books() >= 400 && Date.now() - lastLoginRequestAt() > 1_000, '400 books and a second without a login request', a, 120_000);
	const aId = await workerIdOf(crawler, a.child.pid);
	a.child.kill('SIGKILL');
	await a.exited;
	const reclaimMs = await within(`the killed worker's leases to be reclaimed`, 10 * LEASE_MS, async () => (await inflightOwnedBy(crawler, aId)) === 0);
	// Its last lease renewal (at most leaseMs / 3 before the kill) plus a heartbeat of another worker, with room for a loaded machine.
	assert.ok(reclaimMs < 3 * LEASE_MS, `leases reclaimed ${reclaimMs} ms after the kill`);

	await burst();
	const booksAtJoin = books();
	const d = spawn();
	await d.waitFor(/joined run 1 \(2 other workers\)/);
	await waitUntil(() => books() >= booksAtJoin + 300, 'the late joiner at work', d, 120_000);

	// SIGSTOP past the lease, while it holds some: the others reclaim them; continued, its late completions are refused.
	const bId = await workerIdOf(crawler, b.child.pid);
	const heldAtStop = await stopWhileHoldingLeases(b.child, crawler, bId);
	let continuedAt: number;
	try {
		await within(`the stopped worker's leases to be reclaimed`, 10 * LEASE_MS, async () => (await inflightOwnedBy(crawler, bId)) === 0);
	} finally {
		b.child.kill('SIGCONT');
		continuedAt = Date.now();
	}
	await burst();

	// The restart: every connection dropped and none accepted for 2 s.
	await waitUntil(() => books() >= 1_800, '1,800 books', c, 120_000);
	await burst();
	const cutAt = Date.now();
	await proxy.cut();
	await new Promise((resolve) => setTimeout(resolve, 2_000));
	await proxy.restore();
	const restoredAt = Date.now();

	const ends = await Promise.all([b.exited, c.exited, d.exited]);
	for (const end of ends) assert.equal(end.code, 0, end.stderr);
	assert.match(ends[0]!.stderr, /late completion\(s\) refused by the store/, 'the stopped worker was told its late completions were refused');

	const store = PostgresStore.open({url: pgUrl, crawler});
	try {
		assert.deepEqual(await store.counts(1), {pending: 0, inflight: 0, done: PAGES, failed: 0}, 'every page done once');
		assert.equal((await store.latestRun())?.state, 'finished');
		const items: Array<{url: string; title: string}> = [];
		for await (const item of store.items(1)) items.push(item as {url: string; title: string});
		assert.equal(items.length, BOOKS, 'no item lost, none duplicated');
		const byUrl = new Map(items.map((item) => [new URL(item.url).pathname, item.title]));
		assert.equal(byUrl.size, BOOKS);
		for (let id = 1; id <= BOOKS; id++) assert.equal(byUrl.get(expectedBook(id).path), expectedBook(id).title, `book ${id}`);
	} finally {
		await store.close();
	}

	// One pool of sessions for the crawl: each session logged in once, and once more per expiry the site counted.
	assert.ok(site.stats.sessionsExpired >= 2, `the site expired sessions mid-crawl: ${site.stats.sessionsExpired}`);
	assert.equal(site.stats.loginSuccess, SESSIONS + site.stats.sessionsExpired, 'logins = sessions + expiries');

	// No request inside a 429 cooldown. Not counted: arrivals within one host-state poll of the 429
	// (workers that had not read it yet; each sends at most its share meanwhile), and the spans in
	// which a worker could not read it at all — the store unreachable, and the first poll of the
	// worker that had been stopped.
	const workersLog = site.stats.log.filter((entry) => !entry.path.startsWith(BURST_PATH));
	const workers429 = workersLog.filter((entry) => entry.status === 429).length;
	assert.ok(workers429 >= 1, 'the limiter answered the workers 429');
	const slackMs = 200;
	const breaches = cooldownBreaches(workersLog, HOST_CONCURRENCY - 1, {
		graceMs: HOST_POLL_MS + slackMs,
		excluded: [
			[cutAt, restoredAt + HOST_POLL_MS + slackMs],
			[continuedAt, continuedAt + HOST_POLL_MS + slackMs],
		],
	});
	assert.deepEqual(breaches, []);
	t.diagnostic(
		`${site.stats.requests} requests for ${PAGES} pages; ${site.stats.loginSuccess} logins, ${site.stats.sessionsExpired} expiries, ${workers429} 429s to the workers; killed worker's leases back after ${reclaimMs} ms; stopped a worker holding ${heldAtStop} lease(s)`,
	);
});
