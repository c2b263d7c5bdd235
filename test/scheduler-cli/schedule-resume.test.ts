// `kill -9` of `crawljar schedule` in the middle of a run: the restarted scheduler's next fire
// resumes that run, which ends with every book exactly once and without a new login.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {startDemoSite} from '../../demo/site/index.js';
import {runCli, spawnCli} from '../helpers/run-cli.js';
import {bookCrawler, createWorkspace, expectedItems, readRuns} from './workspace.js';

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

test('kill -9 of the scheduler during a run; the restarted scheduler resumes it: exactly-once results, no new login', async (t) => {
	const books = 60;
	const site = await startDemoSite({books, perPage: 20});
	t.after(() => site.close());
	const workspace = createWorkspace(t, site.url);
	// 63 pages at 15 requests/s: a run lasts about 4 s, long enough to be killed in the middle.
	workspace.writeCrawler(
		'books.ts',
		bookCrawler({name: 'books', schedule: "'* * * * * *'", extra: 'concurrency: 2, hosts: {maxRequestsPerSecond: 15},'}),
	);

	const first = spawnCli(['schedule'], {cwd: workspace.dir, env: workspace.env, timeoutMs: 45_000});
	await first.waitFor(/fire books/);
	await until(() => site.stats.book >= 15, '15 book pages');
	first.child.kill('SIGKILL');
	const killed = await first.exited;
	assert.equal(killed.signal, 'SIGKILL');
	assert.doesNotMatch(killed.stderr, /finish books/, 'killed in the middle of the run');
	assert.ok(site.stats.book < books, `${site.stats.book} of ${books} books fetched before the kill`);
	assert.equal(site.stats.loginSuccess, 1);
	const [interrupted] = await readRuns(workspace.storageDir, 'books');
	assert.equal(interrupted?.state, 'running', 'the run journal still says running');

	const second = spawnCli(['schedule'], {cwd: workspace.dir, env: workspace.env, timeoutMs: 45_000});
	await second.waitFor(/finish books/);
	second.child.kill('SIGINT');
	const restarted = await second.exited;
	assert.equal(restarted.code, 130, restarted.stderr);
	assert.match(restarted.stderr, /fire books \(scheduled [^\n]+\n[^\n]*\[books\] resuming run 1: \d+ done, \d+ pending/);
	assert.doesNotMatch(restarted.stderr, /starting run 1/);
	assert.match(restarted.stderr, /finish books in \S+: \d+ requests done, 0 failed, \d+ items/);
	assert.equal(site.stats.loginSuccess, 1, 'the persisted session is reused across the kill');
	assert.equal(site.stats.loggedOut, 0);

	const runs = await readRuns(workspace.storageDir, 'books');
	assert.equal(runs[0]?.state, 'finished');
	const exported = await runCli(['export', 'books', '--format', 'jsonl', '--run', '1'], {cwd: workspace.dir, env: workspace.env});
	assert.equal(exported.code, 0, exported.stderr);
	const items = exported.stdout
		.trim()
		.split('\n')
		.map((line) => JSON.parse(line) as {url: string; title: string; price: number})
		.sort((a, b) => a.url.localeCompare(b.url));
	assert.deepEqual(items, expectedItems(site.url, books));
});
