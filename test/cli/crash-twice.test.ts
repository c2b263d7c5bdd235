// Issue 14 item 1: a request whose handler (or body) kills the process is not fetched forever.
// Every resume fetched it again and died again; now a request found in flight by two resumes in a
// row is failed with ERR_CRASHED_WORKER, and the rest of the crawl finishes.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {startServer} from '../sites/start-server.js';
import {runCli, tempProject} from '../helpers/run-cli.js';

const PAGES = 12;

const crawlerSource = `import {defineCrawler} from 'crawljar';
export default defineCrawler({
	name: 'crash-twice',
	startUrls: [process.env.SITE_URL + '/'],
	concurrency: 4,
	useHeaderGenerator: false,
	routes: {
		default: async ({enqueue}) => {
			await enqueue({selector: 'a', label: 'page'});
		},
		page: async ({request, push}) => {
			// What an out-of-memory kill looks like from outside: the process is gone at once.
			if (request.url.endsWith('/deadly')) process.kill(process.pid, 'SIGKILL');
			await push({url: request.url});
		},
	},
});
`;

test('a request that killed the process twice is failed with ERR_CRASHED_WORKER, not fetched a third time', {timeout: 180_000}, async (t) => {
	const fetched = new Map<string, number>();
	const links = [...Array.from({length: PAGES}, (_, index) => `/page/${index + 1}`), '/deadly'];
	const site = await startServer(t, (request, response) => {
		const path = request.url ?? '/';
		fetched.set(path, (fetched.get(path) ?? 0) + 1);
		response.setHeader('content-type', 'text/html; charset=utf-8');
		// The deadly page is listed early, so other pages are in flight when it kills the process.
		const body = path === '/' ? [links.at(-1), ...links.slice(0, -1)].map((link) => `<a href="${link}">${link}</a>`).join('\n') : `<h1>${path}</h1>`;
		response.end(`<!doctype html><title>t</title>${body}`);
	});
	const project = tempProject(t);
	const file = project.write('crash-twice.ts', crawlerSource);
	const env = {...project.env, SITE_URL: site.url};

	const first = await runCli(['run', file], {cwd: project.dir, env});
	assert.equal(first.signal, 'SIGKILL', first.stderr);
	const second = await runCli(['run', file], {cwd: project.dir, env});
	assert.equal(second.signal, 'SIGKILL', second.stderr);
	assert.match(second.stderr, /resuming run 1: .*in flight at the last stop, retried now/);
	assert.equal(fetched.get('/deadly'), 2);

	const third = await runCli(['run', file], {cwd: project.dir, env});
	assert.equal(third.code, 0, third.stderr);
	assert.match(third.stderr, /resuming run 1: .*\(1 in flight at the last two stops, failed with ERR_CRASHED_WORKER/);
	assert.equal(fetched.get('/deadly'), 2, 'not fetched a third time');
	for (const link of links.slice(0, -1)) assert.ok((fetched.get(link) ?? 0) >= 1, `${link} fetched`);

	const failed = await runCli(['failed', 'crash-twice'], {cwd: project.dir, env: project.env});
	t.diagnostic(third.stderr.split("\n").find((line) => line.includes("resuming")) ?? "");
	t.diagnostic(failed.stdout);
	assert.equal(failed.code, 0, failed.stderr);
	assert.match(failed.stdout, /\/deadly/);
	assert.match(failed.stdout, /ERR_CRASHED_WORKER/);
	assert.equal(failed.stdout.match(/ERR_CRASHED_WORKER/g)?.length, 1, failed.stdout);
	assert.doesNotMatch(failed.stdout, /\/page\//, 'only the deadly page failed');

	const exported = await runCli(['export', 'crash-twice', '--format', 'jsonl'], {cwd: project.dir, env: project.env});
	assert.equal(exported.code, 0, exported.stderr);
	const urls = exported.stdout.trim().split('\n').map((line) => new URL((JSON.parse(line) as {url: string}).url).pathname);
	assert.deepEqual(urls.sort(), links.slice(0, -1).sort(), 'every other page done, once');
});
