// Ctrl-C and SIGTERM (issue 2, "What must hold" 6): stop, persist, say how to resume, exit
// 130/143; the next run resumes and ends with exactly the expected items. A second Ctrl-C
// exits at once and still loses nothing.
import assert from 'node:assert/strict';
import {test, type TestContext} from 'node:test';
import {runCli, spawnCli, tempProject, waitUntil, type TempProject} from '../helpers/run-cli.js';
import {startServer as startTestServer} from '../sites/start-server.js';

/** The test server's origin. */
const startServer = async (...args: Parameters<typeof startTestServer>): Promise<string> => (await startTestServer(...args)).url;

const ITEMS = 40;

const crawlerSource = `import {defineCrawler} from 'crawljar';
export default defineCrawler({
	name: 'slow',
	startUrls: [process.env.SITE_URL + '/list'],
	concurrency: 4,
	useHeaderGenerator: false,
	routes: {
		default: async ({enqueue}) => void (await enqueue({selector: 'a', label: 'item'})),
		item: async ({request, $, push}) => void (await push({url: request.url, name: $('h1').text()})),
	},
});
`;

interface SlowSite {
	readonly url: string;
	/** How long each item takes to answer; changeable between runs. */
	delayMs: number;
	/** Item requests the server received (answered or not). */
	readonly itemRequests: string[];
}

/** A list of ITEMS links; each item answers after `delayMs`. */
async function slowSite(t: TestContext, delayMs: number): Promise<SlowSite> {
	const itemRequests: string[] = [];
	const site = {url: '', itemRequests, delayMs};
	site.url = await startServer(t, async (request, response) => {
		response.setHeader('content-type', 'text/html');
		if (request.url === '/list') {
			return response.end(Array.from({length: ITEMS}, (_, index) => `<a href="/item/${index + 1}">${index + 1}</a>`).join('\n'));
		}
		itemRequests.push(request.url!);
		// Unref'd: a slow answer to a killed client must not keep the test process alive.
		await new Promise((resolve) => setTimeout(resolve, site.delayMs).unref());
		response.end(`<h1>Item ${request.url!.split('/').pop()}</h1>`);
	});
	return site;
}

function setUp(t: TestContext, site: SlowSite): {project: TempProject; file: string; env: Record<string, string>} {
	const project = tempProject(t);
	const file = project.write('slow.ts', crawlerSource);
	return {project, file, env: {...project.env, SITE_URL: site.url}};
}


async function exportedItems(project: TempProject): Promise<{url: string; name: string}[]> {
	const result = await runCli(['export', 'slow', '--format', 'jsonl'], {cwd: project.dir, env: project.env});
	assert.equal(result.code, 0, result.stderr);
	return result.stdout.trim().split('\n').map((line) => JSON.parse(line) as {url: string; name: string});
}

function assertExactlyAllItems(site: SlowSite, items: {url: string; name: string}[]): void {
	const expected = Array.from({length: ITEMS}, (_, index) => `${site.url}/item/${index + 1}`).sort();
	assert.deepEqual(items.map((item) => item.url).sort(), expected, 'every item exactly once');
	for (const item of items) assert.equal(item.name, `Item ${item.url.split('/').pop()}`);
}

for (const [signal, code] of [
	['SIGINT', 130],
	['SIGTERM', 143],
] as const) {
	test(`${signal} stops the run (exit ${code}), says how to resume; the next run resumes and completes`, async (t) => {
		const site = await slowSite(t, 100);
		const {project, file, env} = setUp(t, site);
		const first = spawnCli(['run', file], {cwd: project.dir, env});
		await waitUntil(() => site.itemRequests.length >= 8, 'some item requests', first);
		first.child.kill(signal);
		const stopped = await first.exited;
		assert.equal(stopped.code, code, stopped.stderr);
		assert.match(stopped.stderr, new RegExp(`${signal}: stopping`));
		assert.match(stopped.stderr, /resume with: crawljar run .*slow\.ts/);
		assert.ok(site.itemRequests.length < ITEMS, 'stopped before the end');

		const second = await runCli(['run', file], {cwd: project.dir, env});
		assert.equal(second.code, 0, second.stderr);
		assert.match(second.stderr, /resuming run 1: \d+ done, \d+ pending, 0 failed/);
		assertExactlyAllItems(site, await exportedItems(project));
		// The graceful stop let in-flight requests finish and committed them: none is fetched twice.
		assert.equal(new Set(site.itemRequests).size, site.itemRequests.length, 'no item page fetched twice');
	});
}

test('a second SIGINT exits at once, without waiting for slow in-flight requests; resume loses nothing', async (t) => {
	const site = await slowSite(t, 8_000);
	const {project, file, env} = setUp(t, site);
	const first = spawnCli(['run', file], {cwd: project.dir, env});
	await waitUntil(() => site.itemRequests.length >= 4, 'requests in flight', first);
	first.child.kill('SIGINT');
	await first.waitFor(/SIGINT: stopping/);
	const secondSignalAt = Date.now();
	first.child.kill('SIGINT');
	const stopped = await first.exited;
	const exitMs = Date.now() - secondSignalAt;
	assert.equal(stopped.code, 130, stopped.stderr);
	assert.match(stopped.stderr, /SIGINT again: exiting now/);
	assert.match(stopped.stderr, /resume with: crawljar run/);
	// The in-flight requests need 8 s to answer: exiting "at once" means well before that (the
	// bound leaves room for a loaded machine to write the summary).
	assert.ok(exitMs < 4_000, `exited ${exitMs} ms after the second SIGINT`);
	assert.equal(site.itemRequests.length, 4, 'no new request after the first SIGINT');

	site.delayMs = 20;
	const second = await runCli(['run', file], {cwd: project.dir, env});
	assert.equal(second.code, 0, second.stderr);
	assert.match(second.stderr, /resuming run 1: 1 done, 40 pending, 0 failed \(\d+ in flight at the last stop, retried now\)/);
	assertExactlyAllItems(site, await exportedItems(project));
});
