// `crawljar run --threads 1` (issue 13): the CLI hands the crawler file to the handler threads;
// a handler stuck in a synchronous loop costs its thread, not the crawl, and Ctrl-C still ends
// the run at once with the thread stuck.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {runCli, spawnCli, tempProject, waitUntil} from '../helpers/run-cli.js';
import {startServer} from '../sites/start-server.js';

const crawler = `import {defineCrawler} from 'crawljar';
import {threadId} from 'node:worker_threads';
export default defineCrawler({
	name: 'threaded',
	startUrls: [process.env.SITE_URL + '/list'],
	useHeaderGenerator: false,
	timeouts: {handlerMs: 100},
	retry: {maxRetries: 1, backoff: {baseMs: 10, capMs: 20}},
	routes: {
		default: async ({enqueue}) => {
			await enqueue({selector: 'a[href^="/p/"]', label: 'page'});
			await enqueue({selector: 'a[href="/stuck"]', label: 'stuck'});
		},
		// No timer of the thread can fire while this runs: only the main thread's watchdog ends it.
		stuck: async ({request}) => { if (request.retryCount === 0 || process.env.ALWAYS_STUCK) for (;;); },
		page: async ({request, push}) => void (await push({url: request.url, thread: threadId})),
	},
});
`;

async function listSite(t: Parameters<typeof startServer>[0]) {
	return startServer(t, (request, response) => {
		response.setHeader('content-type', 'text/html');
		if (request.url === '/list') {
			return response.end(Array.from({length: 6}, (_, index) => `<a href="/p/${index}">p</a>`).join('') + '<a href="/stuck">s</a>');
		}
		response.end(`<h1>${request.url}</h1>`);
	});
}

test('crawljar run --threads 1: items from the thread; a handler in an endless loop is retried after its thread is restarted', {timeout: 120_000}, async (t) => {
	const server = await listSite(t);
	const project = tempProject(t);
	const file = project.write('threaded.ts', crawler);
	const env = {...project.env, SITE_URL: server.url};
	const result = await runCli(['run', file, '--threads', '1'], {cwd: project.dir, env});
	assert.equal(result.code, 0, result.stderr);
	assert.match(result.stderr, /a handler thread did not answer in 5300 ms/);
	const exported = await runCli(['export', 'threaded', '--format', 'jsonl'], {cwd: project.dir, env});
	const items = exported.stdout.trim().split('\n').map((line) => JSON.parse(line) as {url: string; thread: number});
	assert.equal(items.length, 6, exported.stdout);
	assert.ok(items.every((item) => item.thread > 0), 'pushed in a thread');
	const failed = await runCli(['failed', 'threaded', '--json'], {cwd: project.dir, env});
	assert.equal(failed.stdout.trim(), '', 'the stuck page got through on its retry');
	const bad = await runCli(['run', file, '--threads', 'two'], {cwd: project.dir, env});
	assert.equal(bad.code, 2);
	assert.match(bad.stderr, /--threads: expected a whole number or 'auto', got 'two'/);
});

test('Ctrl-C while a thread is stuck in a loop: exit 130 within the grace period, resumable', {timeout: 120_000}, async (t) => {
	const server = await listSite(t);
	const project = tempProject(t);
	const file = project.write('threaded.ts', crawler);
	const env = {...project.env, SITE_URL: server.url, ALWAYS_STUCK: '1'};
	const cli = spawnCli(['run', file, '--threads', '1'], {cwd: project.dir, env});
	await cli.waitFor(/starting run 1/);
	// Give the stuck page time to reach the thread, then stop.
	await new Promise((resolve) => setTimeout(resolve, 1_500));
	const stoppedAt = Date.now();
	cli.child.kill('SIGINT');
	await waitUntil(() => cli.child.exitCode !== null, 'the CLI to exit', cli, 15_000);
	const result = await cli.exited;
	assert.equal(result.code, 130, result.stderr);
	assert.ok(Date.now() - stoppedAt < 12_000, `exited ${Date.now() - stoppedAt} ms after SIGINT`);
	assert.match(result.stderr, /resume with: crawljar run/);
	assert.doesNotMatch(result.stderr, /handler threads unavailable/, 'the loop ran in the thread, not on the main thread');
});
