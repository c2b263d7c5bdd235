// `crawljar run --store postgres://…` end to end: a login-protected crawl of the demo site on
// PostgreSQL, killed with -9 twice and resumed, then exported (through CRAWLJAR_STORE) with every
// book exactly once; the other commands work on the same store, and the URL's password never
// appears in any output.
import assert from 'node:assert/strict';
import {existsSync} from 'node:fs';
import path from 'node:path';
import {after, test} from 'node:test';
import {expectedBook, startDemoSite} from '../../demo/site/index.js';
import {PostgresStore} from '../../src/store/postgres/postgres-store.js';
import {schemaOf} from '../../src/store/postgres/schema.js';
import {runCli, spawnCli, tempProject} from '../helpers/run-cli.js';
import {dropSchemas, pgUrl, schemaExists, skipWithoutPostgres, uniqueName} from './pg-helpers.js';

const BOOKS = 600;
const crawler = uniqueName('pgcli');
after(() => dropSchemas([schemaOf(crawler)]));

// Trust auth ignores the password, so a URL can carry one that must never be printed.
const PASSWORD = 'pg-secret-never-printed';
function urlWithPassword(): string {
	const url = new URL(pgUrl);
	url.password = PASSWORD;
	return url.href;
}

const crawlerSource = `import {defineCrawler, formLogin} from 'crawljar';
export default defineCrawler({
	name: '${crawler}',
	startUrls: [process.env.SITE_URL + '/catalogue'],
	concurrency: 6,
	hosts: {maxConcurrency: 6},
	sessions: {maxConcurrency: 6},
	useHeaderGenerator: false,
	accounts: [{username: 'demo', password: 'demo-password'}],
	login: formLogin({url: '/login', fields: ({account}) => ({username: account.username, password: account.password ?? ''})}),
	loggedOut: ({$}) => $('form#login').length > 0,
	routes: {
		default: async ({enqueue}) => {
			await enqueue({selector: 'a.book', label: 'book'});
			await enqueue({selector: 'a.next'});
		},
		book: async ({request, $, push, enqueue}) => {
			await push({url: request.url, title: $('h1').text()});
			await enqueue({selector: 'a.book.related', label: 'book'});
		},
	},
});
`;

test('crawljar run --store postgres://…: kill -9 twice, resume, export every book once', {skip: skipWithoutPostgres, timeout: 240_000}, async (t) => {
	const site = await startDemoSite({books: BOOKS, pageBytes: 1_000});
	t.after(() => site.close());
	const project = tempProject(t);
	const file = project.write('pg.ts', crawlerSource);
	const storeUrl = urlWithPassword();
	// No CRAWLJAR_STORAGE: the store is chosen by the flag alone.
	const env = {SITE_URL: site.url};
	const outputs: string[] = [];
	/** What the store held as done right after each kill: none of it may be fetched again. */
	const committedAtKill: {logIndex: number; done: Set<string>}[] = [];

	for (const threshold of [80, 350]) {
		const child = spawnCli(['run', file, '--store', storeUrl], {cwd: project.dir, env});
		let hasExited = false;
		void child.exited.then(() => (hasExited = true));
		while (site.stats.requests < threshold && !hasExited) await new Promise((resolve) => setTimeout(resolve, 5));
		assert.ok(!hasExited, `the crawl ended before ${threshold} requests:\n${child.stderr()}`);
		child.child.kill('SIGKILL');
		const killed = await child.exited;
		assert.equal(killed.signal, 'SIGKILL');
		outputs.push(killed.stdout, killed.stderr);
		const store = PostgresStore.open({url: pgUrl, crawler});
		const done = new Set<string>();
		for await (const item of store.items(1)) done.add(new URL((item as {url: string}).url).pathname);
		await store.close();
		committedAtKill.push({logIndex: site.stats.log.length, done});
	}
	const last = await runCli(['run', file, '--store', storeUrl], {cwd: project.dir, env, timeoutMs: 180_000});
	outputs.push(last.stdout, last.stderr);
	assert.equal(last.code, 0, last.stderr);
	assert.match(last.stderr, /resuming run 1/);
	assert.match(last.stderr, new RegExp(`results: postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:5432/\\S* \\(schema crawljar_${crawler}\\)`));
	assert.ok(await schemaExists(schemaOf(crawler)));
	assert.equal(existsSync(path.join(project.dir, 'storage', `${crawler}.sqlite`)), false, 'no SQLite file was made');

	// Export through the environment variable: same store, every book exactly once.
	const exported = await runCli(['export', crawler, '--format', 'jsonl'], {cwd: project.dir, env: {CRAWLJAR_STORE: storeUrl}});
	outputs.push(exported.stdout, exported.stderr);
	assert.equal(exported.code, 0, exported.stderr);
	const items = exported.stdout.trim().split('\n').map((line) => JSON.parse(line) as {url: string; title: string});
	const byUrl = (a: {url: string}, b: {url: string}) => a.url.localeCompare(b.url);
	const expected = Array.from({length: BOOKS}, (_, index) => ({url: `${site.url}/books/${index + 1}`, title: expectedBook(index + 1).title}));
	assert.equal(items.length, BOOKS, 'no item lost, none duplicated');
	assert.deepEqual(items.sort(byUrl), expected.sort(byUrl));

	// Nothing done twice in the store, and a page fetched again only if a kill caught it uncommitted.
	const store = PostgresStore.open({url: pgUrl, crawler});
	try {
		assert.deepEqual(await store.counts(1), {pending: 0, inflight: 0, done: BOOKS + BOOKS / 20, failed: 0});
		assert.equal((await store.latestRun())?.state, 'finished');
		// The session was stored in PostgreSQL (encrypted) and reused by the resumed processes.
		assert.equal((await store.loadSessions()).length, 1);
	} finally {
		await store.close();
	}
	for (const [index, {logIndex, done}] of committedAtKill.entries()) {
		assert.ok(done.size > 0, `kill ${index + 1}: some books were done`);
		const again = site.stats.log.slice(logIndex).filter((entry) => done.has(entry.path));
		assert.deepEqual(again.map((entry) => entry.path), [], `kill ${index + 1}: done pages fetched again`);
	}
	const bookFetches = site.stats.log.filter((entry) => entry.path.startsWith('/books/'));
	assert.ok(bookFetches.length - BOOKS <= 2 * (6 + 32), `${bookFetches.length - BOOKS} book pages fetched again after 2 kills`);
	assert.ok(site.stats.loginSuccess <= 3, `${site.stats.loginSuccess} logins for 3 processes of one session`);

	// The read commands work on the same store; none prints the password.
	for (const args of [
		['status', crawler],
		['list'],
		['stats', crawler],
		['failed', crawler],
		['sessions', 'ls', crawler],
	]) {
		const result = await runCli([...args, '--store', storeUrl], {cwd: project.dir});
		outputs.push(result.stdout, result.stderr);
		assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
	}
	assert.match(outputs.at(-10)!, /run\s+state[\s\S]*finished/, 'status shows the finished run');
	assert.match(outputs.at(-8)!, new RegExp(crawler), 'list names the crawler from its schema');

	// An unknown crawler on PostgreSQL is a usage error naming the redacted store, not a new schema.
	const missing = await runCli(['export', 'no-such-crawler', '--store', storeUrl], {cwd: project.dir});
	outputs.push(missing.stdout, missing.stderr);
	assert.equal(missing.code, 2);
	assert.match(missing.stderr, /no data for crawler 'no-such-crawler' in postgres:\/\/postgres:\*\*\*@/);
	assert.equal(await schemaExists('crawljar_no-such-crawler'), false);

	// --store and --storage together, or a --store that is not a postgres:// URL, are usage errors.
	const both = await runCli(['export', crawler, '--store', storeUrl, '--storage', 'x'], {cwd: project.dir});
	assert.equal(both.code, 2);
	assert.match(both.stderr, /--store .* and --storage .* cannot be used together/);
	const wrong = await runCli(['status', crawler, '--store', 'mysql://u:hunter2@db/x'], {cwd: project.dir});
	assert.equal(wrong.code, 2);
	assert.match(wrong.stderr, /--store expects a postgres:\/\/ URL/);
	outputs.push(both.stderr, wrong.stderr);
	assert.ok(!wrong.stderr.includes('hunter2'));

	for (const output of outputs) assert.ok(!output.includes(PASSWORD), `the password appeared in:\n${output}`);
});
