// `crawljar schedule` in real time: a 1-second cron fires runs that reuse the logged-in session,
// Ctrl-C stops it (exit 130), and a slow crawler's runs never overlap (overlap: 'skip').
import assert from 'node:assert/strict';
import path from 'node:path';
import {test, type TestContext} from 'node:test';
import {startDemoSite} from '../../demo/site/index.js';
import {REPO, runCli, spawnCli} from '../helpers/run-cli.js';
import {startServer} from '../sites/start-server.js';
import {bookCrawler, createWorkspace, readMeta, readRuns} from './workspace.js';

test('an every-second schedule fires ≥ 2 runs that log in once; SIGINT exits 130', async (t) => {
	const site = await startDemoSite({books: 20, perPage: 10});
	t.after(() => site.close());
	const workspace = createWorkspace(t, site.url);
	workspace.writeCrawler('books.ts', bookCrawler({name: 'books', schedule: "'* * * * * *'"}));

	const scheduler = spawnCli(['schedule'], {cwd: workspace.dir, env: workspace.env, timeoutMs: 45_000});
	await scheduler.waitFor(/finish books[^\n]*\n[\s\S]*finish books/);
	scheduler.child.kill('SIGINT');
	const result = await scheduler.exited;
	assert.equal(result.code, 130, result.stderr);

	const fires = result.stderr.match(/^\S+ fire books \(scheduled \d{4}-\S+\.000Z\)$/gm) ?? [];
	const finishes = result.stderr.match(/^\S+ finish books in \S+: 22 requests done, 0 failed, 20 items$/gm) ?? [];
	assert.ok(fires.length >= 2, result.stderr);
	assert.ok(finishes.length >= 2, result.stderr);
	assert.match(result.stderr, /SIGINT: no more fires/);
	// Sessions are reused: the second run (and any later one) sends the persisted cookie.
	assert.equal(site.stats.loginSuccess, 1, result.stderr);
	assert.ok(site.stats.book >= 40, `${site.stats.book} book pages`);
	assert.equal(site.stats.loggedOut, 0);

	const lastFire = Number(await readMeta(workspace.storageDir, 'books', 'schedule-last-fire'));
	assert.equal(lastFire % 1000, 0, 'the persisted last fire is a whole-second cron time');
	assert.ok(Date.now() - lastFire < 30_000);

	const status = await runCli(['status', 'books'], {cwd: workspace.dir, env: workspace.env});
	assert.equal(status.code, 0, status.stderr);
	const finishedRows = status.stdout.match(/^\s+\d+\s+finished\s+\S+ \S+\s+\S+\s+22\s+20\s+0$/gm) ?? [];
	assert.ok(finishedRows.length >= 2, status.stdout);
	assert.match(status.stdout, /^books {2}next fire \d{4}-\S+\.000Z$/m);
});

test("overlap 'skip': a slow crawler's runs never overlap, and skipped fires are logged", async (t) => {
	const pageDelayMs = 400;
	let inFlight = 0;
	let maxInFlight = 0;
	const seen: string[] = [];
	const {url} = await startServer(t, async (request, response) => {
		inFlight++;
		maxInFlight = Math.max(maxInFlight, inFlight);
		seen.push(request.url ?? '');
		await new Promise((resolve) => setTimeout(resolve, pageDelayMs));
		response.setHeader('content-type', 'text/html; charset=utf-8');
		response.end(
			request.url === '/'
				? '<title>home</title><a class="page" href="/p/1">1</a><a class="page" href="/p/2">2</a><a class="page" href="/p/3">3</a>'
				: `<title>page</title><h1>${request.url}</h1>`,
		);
		inFlight--;
	});
	const workspace = createWorkspace(t, url);
	workspace.writeCrawler(
		'slow.ts',
		`import {defineCrawler} from ${JSON.stringify(path.join(REPO, 'src/index.ts'))};
export default defineCrawler({
	name: 'slow',
	startUrls: [process.env.SITE_URL + '/'],
	schedule: {cron: '* * * * * *', overlap: 'skip'},
	concurrency: 1,
	routes: {
		default: async ({enqueue}) => { await enqueue({selector: 'a.page', label: 'page'}); },
		page: async ({request, $, push}) => { await push({url: request.url, h1: $('h1').text()}); },
	},
});
`,
	);

	const scheduler = spawnCli(['schedule'], {cwd: workspace.dir, env: workspace.env, timeoutMs: 45_000});
	await scheduler.waitFor(/finish slow[^\n]*\n[\s\S]*finish slow/);
	await scheduler.waitFor(/skipped slow/);
	scheduler.child.kill('SIGINT');
	const result = await scheduler.exited;
	assert.equal(result.code, 130, result.stderr);
	assert.match(result.stderr, /skipped slow: previous run still going/);
	assert.match(result.stderr, /finish slow in \S+: 4 requests done, 0 failed, 3 items/);

	// Concurrency 1 within a run: two requests at once would mean two runs at once.
	assert.equal(maxInFlight, 1, seen.join(' '));
	// Each run is '/', then its three pages, before the next run starts (the last may be cut short).
	const block = ['/', '/p/1', '/p/2', '/p/3'];
	for (let index = 0; index < seen.length; index++) assert.equal(seen[index], block[index % 4], seen.join(' '));

	const runs = await readRuns(workspace.storageDir, 'slow');
	assert.ok(runs.length >= 2);
	for (let index = 1; index < runs.length; index++) {
		const previous = runs[index - 1]!;
		assert.ok(previous.finishedAt !== undefined && previous.finishedAt <= runs[index]!.startedAt, `run ${previous.id} ended before run ${runs[index]!.id} began`);
	}
});

/** A crawler whose only page never answers: its request is in flight until the process ends. */
async function hangingCrawl(t: TestContext) {
	let requests = 0;
	const {url} = await startServer(t, (request) => {
		requests++;
		request.resume();
	});
	const workspace = createWorkspace(t, url);
	workspace.writeCrawler(
		'hang.ts',
		`import {defineCrawler} from ${JSON.stringify(path.join(REPO, 'src/index.ts'))};
export default defineCrawler({
	name: 'hang',
	startUrls: [process.env.SITE_URL + '/'],
	schedule: '* * * * * *',
	timeouts: {responseMs: 60_000, totalMs: 60_000},
	routes: {default: async () => {}},
});
`,
	);
	const scheduler = spawnCli(['schedule'], {cwd: workspace.dir, env: workspace.env, timeoutMs: 45_000});
	await scheduler.waitFor(/fire hang/);
	const deadline = Date.now() + 10_000;
	while (requests === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
	assert.equal(requests, 1, 'the request is in flight');
	return {workspace, scheduler};
}

test('SIGINT with a request hanging: the scheduler exits 130 after the 10 s grace period', async (t) => {
	const {workspace, scheduler} = await hangingCrawl(t);
	const signalAt = Date.now();
	scheduler.child.kill('SIGINT');
	const result = await scheduler.exited;
	const elapsedMs = Date.now() - signalAt;
	assert.equal(result.code, 130, result.stderr);
	assert.ok(elapsedMs >= 9000 && elapsedMs < 15_000, `exited ${elapsedMs} ms after SIGINT`);
	assert.match(result.stderr, /still in flight after the grace period: they will be retried on resume/);
	const runs = await readRuns(workspace.storageDir, 'hang');
	assert.deepEqual(runs.map((run) => run.state), ['stopped'], 'resumable, not finished');
});

test('a second SIGINT exits at once (130) while a request hangs; the run is left resumable', async (t) => {
	const {workspace, scheduler} = await hangingCrawl(t);
	scheduler.child.kill('SIGINT');
	await scheduler.waitFor(/SIGINT: no more fires/);
	const secondAt = Date.now();
	scheduler.child.kill('SIGINT');
	const result = await scheduler.exited;
	assert.equal(result.code, 130, result.stderr);
	assert.ok(Date.now() - secondAt < 5000, `exited ${Date.now() - secondAt} ms after the second SIGINT`);
	const runs = await readRuns(workspace.storageDir, 'hang');
	assert.deepEqual(runs.map((run) => run.state), ['stopped'], 'resumable, not finished');
});
