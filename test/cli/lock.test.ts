// One runner per crawler (issue 14 item 5), from the CLI: a second `crawljar run` of a running
// crawler exits 2 with ERR_LOCKED's message and sends nothing; once the first is kill -9'd, the
// next run takes the lock over at once.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {runCli, spawnCli, tempProject} from '../helpers/run-cli.js';
import {startServer} from '../sites/start-server.js';

test('a second crawljar run of a running crawler exits 2 (already running, pid named); after kill -9 of the first, the next run resumes at once', async (t) => {
	const seen: string[] = [];
	// No page of the first run is answered: it is certainly still running when the second starts.
	let delayMs = 600_000;
	const server = await startServer(t, (request, response) => {
		seen.push(`${String(request.headers['x-runner'])} ${request.url!}`);
		response.setHeader('content-type', 'text/html');
		if (request.url === '/') return response.end(Array.from({length: 20}, (_, index) => `<a href="/p/${index}">p</a>`).join(''));
		setTimeout(() => response.end(`<h1>${request.url}</h1>`), delayMs).unref();
	});
	const project = tempProject(t);
	const file = project.write(
		'locked.ts',
		`import {defineCrawler} from 'crawljar';
export default defineCrawler({
	name: 'locked',
	startUrls: [process.env.SITE_URL + '/'],
	useHeaderGenerator: false,
	headers: {'x-runner': process.env.RUNNER ?? '?'},
	concurrency: 2,
	routes: {
		default: async ({enqueue}) => void (await enqueue({selector: 'a', label: 'page'})),
		page: async ({request, push}) => void (await push({url: request.url})),
	},
});
`,
	);
	const env = {...project.env, SITE_URL: server.url};
	const first = spawnCli(['run', file], {cwd: project.dir, env: {...env, RUNNER: 'first'}});
	await first.waitFor(/starting run 1/);
	while (seen.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));

	const second = await runCli(['run', file], {cwd: project.dir, env: {...env, RUNNER: 'second'}});
	assert.equal(second.code, 2, second.stderr);
	assert.match(second.stderr, new RegExp(`crawler 'locked' is already running \\(pid ${first.child.pid}\\); stop it first, or use another --storage folder`));
	assert.deepEqual(seen.filter((line) => line.startsWith('second ')), [], 'the second run sent nothing');
	assert.doesNotMatch(second.stderr, /resuming|starting run/);

	assert.equal(first.child.exitCode, null, 'the first run was still running');
	first.child.kill('SIGKILL');
	await first.exited;
	delayMs = 10;
	const third = await runCli(['run', file], {cwd: project.dir, env: {...env, RUNNER: 'third'}});
	assert.equal(third.code, 0, third.stderr);
	assert.match(third.stderr, /resuming run 1/);
	assert.match(third.stdout, /Run 1 of locked finished/);
	assert.ok(seen.some((line) => line.startsWith('third ')), 'the third run fetched the rest');
});
