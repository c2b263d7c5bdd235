// Stuck handlers (issue 14 item 2): a handler (or page predicate) that never settles fails its
// request after timeouts.handlerMs and frees its worker; SIGINT/SIGTERM end in 130/143 within
// the grace period (+1 s) with the summary written, the run stopped and the lock released,
// whatever the handlers do.
import assert from 'node:assert/strict';
import {test, type TestContext} from 'node:test';
import {runCli, spawnCli, tempProject, waitUntil} from '../helpers/run-cli.js';
import {startServer} from '../sites/start-server.js';

/** The runner's default stop grace period (RunOptions.stopGraceMs). */
const GRACE_MS = 10_000;

interface Site {
	readonly url: string;
	/** Paths the server received, in order. */
	readonly seen: string[];
}

/** `/list` links to /ok/1…/ok/N and /stuck; `/wait` answers after waitMs; every page is HTML. */
async function site(t: TestContext, okPages: number, waitMs = 0): Promise<Site> {
	const seen: string[] = [];
	const server = await startServer(t, (request, response) => {
		seen.push(request.url!);
		response.setHeader('content-type', 'text/html');
		if (request.url === '/list') {
			const links = Array.from({length: okPages}, (_, index) => `<a href="/ok/${index + 1}">ok</a>`);
			return response.end([...links, '<a href="/stuck">stuck</a>'].join('\n'));
		}
		if (request.url === '/wait') {
			setTimeout(() => response.end('<h1>waited</h1>'), waitMs).unref();
			return;
		}
		response.end(`<h1>${request.url}</h1>`);
	});
	return {url: server.url, seen};
}

function count(paths: readonly string[], path: string): number {
	return paths.filter((each) => each === path).length;
}


test('a handler that never resolves fails ERR_HANDLER_TIMEOUT after its retries; what a timed-out handler pushes or enqueues later is never committed', async (t) => {
	const server = await site(t, 5, 1_500);
	const project = tempProject(t);
	const file = project.write(
		'stuck.ts',
		`import {defineCrawler} from 'crawljar';
export default defineCrawler({
	name: 'stuck',
	startUrls: [process.env.SITE_URL + '/list', {url: process.env.SITE_URL + '/wait', label: 'ok'}, {url: process.env.SITE_URL + '/late', label: 'late'}],
	useHeaderGenerator: false,
	timeouts: {handlerMs: 200},
	retry: {maxRetries: 2, backoff: {baseMs: 10, capMs: 20}},
	routes: {
		default: async ({enqueue}) => {
			await enqueue({selector: 'a[href^="/ok/"]', label: 'ok'});
			await enqueue({selector: 'a[href="/stuck"]', label: 'stuck'});
		},
		ok: async ({request, push}) => void (await push({url: request.url})),
		stuck: () => new Promise(() => {}),
		// Wakes up after its time limit, then pushes and enqueues: all of it must be dropped.
		late: async ({request, push, enqueue}) => {
			await new Promise((resolve) => setTimeout(resolve, 500));
			await push({url: request.url, late: true});
			await enqueue({urls: [process.env.SITE_URL + '/never']});
		},
	},
});
`,
	);
	const env = {...project.env, SITE_URL: server.url};
	const result = await runCli(['run', file], {cwd: project.dir, env});
	assert.equal(result.code, 0, result.stderr);
	assert.match(result.stdout, /Run 1 of stuck finished/);
	assert.match(result.stdout, /ERR_HANDLER_TIMEOUT\s+2\b/);
	// Each stuck page was tried 1 + maxRetries times, then failed; the others all got through.
	assert.equal(count(server.seen, '/stuck'), 3);
	assert.equal(count(server.seen, '/late'), 3);
	assert.equal(count(server.seen, '/never'), 0, 'a link enqueued after the time limit is dropped');

	const failed = await runCli(['failed', 'stuck', '--json'], {cwd: project.dir, env});
	assert.equal(failed.code, 0, failed.stderr);
	const rows = failed.stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as {url: string; errorCode: string});
	assert.deepEqual(rows.map((row) => [new URL(row.url).pathname, row.errorCode]).sort(), [
		['/late', 'ERR_HANDLER_TIMEOUT'],
		['/stuck', 'ERR_HANDLER_TIMEOUT'],
	]);
	const exported = await runCli(['export', 'stuck', '--format', 'jsonl'], {cwd: project.dir, env});
	const items = exported.stdout.trim().split('\n').map((line) => JSON.parse(line) as {url: string; late?: boolean});
	assert.equal(items.length, 6, exported.stdout);
	assert.ok(items.every((item) => item.late === undefined), 'no item pushed after the time limit');
});

test('a loggedOut/rateLimited check that never settles counts as false after timeouts.handlerMs, with a warning', async (t) => {
	const server = await site(t, 3);
	const project = tempProject(t);
	const file = project.write(
		'checks.ts',
		`import {defineCrawler} from 'crawljar';
export default defineCrawler({
	name: 'checks',
	startUrls: [process.env.SITE_URL + '/list'],
	useHeaderGenerator: false,
	timeouts: {handlerMs: 150},
	rateLimited: ({request}) => (request.url.includes('/ok/') ? new Promise(() => {}) : false),
	routes: {
		default: async ({enqueue}) => void (await enqueue({selector: 'a[href^="/ok/"]', label: 'ok'})),
		ok: async ({request, push}) => void (await push({url: request.url})),
	},
});
`,
	);
	const env = {...project.env, SITE_URL: server.url};
	const result = await runCli(['run', file], {cwd: project.dir, env});
	assert.equal(result.code, 0, result.stderr);
	assert.match(result.stdout, /4 done, 0 failed/);
	assert.match(result.stderr, /rateLimited check threw .*did not settle within 150 ms \(timeouts\.handlerMs\)/);
	assert.equal(count(server.seen, '/ok/1'), 1, 'not retried: the check counted as false');
});

// SIGINT with a stuck handler, SIGTERM with a stuck page predicate (rateLimited).
for (const [signal, code, stuck] of [
	['SIGINT', 130, 'handler'],
	['SIGTERM', 143, 'rateLimited check'],
] as const) {
	test(`${signal} with a ${stuck} stuck forever (default handlerMs): exit ${code} within the grace period + 1 s, summary written, run stopped, lock released`, async (t) => {
		const server = await site(t, 0);
		const project = tempProject(t);
		const file = project.write(
			'forever.ts',
			`import {defineCrawler} from 'crawljar';
export default defineCrawler({
	name: 'forever',
	startUrls: [process.env.SITE_URL + '/list'],
	useHeaderGenerator: false,
	rateLimited: ({request}) => (process.env.STUCK === 'rateLimited check' && request.url.endsWith('/stuck') ? new Promise(() => {}) : false),
	routes: {
		default: async ({enqueue}) => void (await enqueue({selector: 'a', label: 'stuck'})),
		stuck: async ({request, push}) => {
			if (process.env.STUCK === 'handler') await new Promise(() => {});
			await push({url: request.url});
		},
	},
});
`,
		);
		const env = {...project.env, SITE_URL: server.url};
		const first = spawnCli(['run', file], {cwd: project.dir, env: {...env, STUCK: stuck}});
		await waitUntil(() => server.seen.includes('/stuck'), 'the stuck page to be fetched', first);
		// Let the response reach the handler or the check (it is parsed first).
		await new Promise((resolve) => setTimeout(resolve, 500));
		const signalledAt = Date.now();
		first.child.kill(signal);
		const stopped = await first.exited;
		const exitMs = Date.now() - signalledAt;
		assert.equal(stopped.code, code, `${stopped.stderr}\n${stopped.stdout}`);
		// Must hold: the grace period plus 1 s; the rest is room for a loaded machine.
		assert.ok(exitMs < GRACE_MS + 1_000 + 3_000, `exited ${exitMs} ms after ${signal}`);
		assert.match(stopped.stderr, /1 request\(s\) still in flight after the grace period/);
		assert.match(stopped.stdout, /Run 1 of forever stopped/);

		const stats = await runCli(['stats', 'forever', '--json'], {cwd: project.dir, env});
		assert.equal(stats.code, 0, stats.stderr);
		const summary = JSON.parse(stats.stdout) as {state: string; requests: {done: number}};
		assert.equal(summary.state, 'stopped');
		assert.equal(summary.requests.done, 1);

		// The lock was released: the next run resumes at once and fetches the stuck page again.
		const second = await runCli(['run', file], {cwd: project.dir, env});
		assert.equal(second.code, 0, second.stderr);
		assert.match(second.stderr, /resuming run 1: 1 done, 1 pending, 0 failed \(1 in flight at the last stop, retried now\)/);
		assert.match(second.stdout, /Run 1 of forever finished/);
		assert.equal(count(server.seen, '/stuck'), 2);
	});
}
