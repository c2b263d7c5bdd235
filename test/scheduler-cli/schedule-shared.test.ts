// Two `crawljar schedule` processes on one PostgreSQL store (as on two machines), a per-second
// cron: every slot is fired by one of them only, and every fire is one run in the store and one
// request at the site.
import assert from 'node:assert/strict';
import path from 'node:path';
import {test} from 'node:test';
import {openStore} from '../../src/store/open-store.js';
import {REPO, spawnCli} from '../helpers/run-cli.js';
import {startServer} from '../sites/start-server.js';
import {dropSchemas, pgUrl, skipWithoutPostgres, uniqueName} from '../store/pg-helpers.js';
import {createWorkspace} from './workspace.js';

const slotsOf = (stderr: string, pattern: RegExp): string[] => [...stderr.matchAll(pattern)].map((match) => match[1]!);

test('two crawljar schedule processes on one PostgreSQL store fire each slot once', {skip: skipWithoutPostgres}, async (t) => {
	let hits = 0;
	const {url} = await startServer(t, (_request, response) => {
		hits++;
		response.setHeader('content-type', 'text/html');
		response.end('<title>tick</title>');
	});
	const name = uniqueName('sched_cli');
	t.after(() => dropSchemas([`crawljar_${name}`]));
	const workspace = createWorkspace(t, url);
	workspace.writeCrawler(
		'tick.ts',
		`import {defineCrawler} from ${JSON.stringify(path.join(REPO, 'src/index.ts'))};
export default defineCrawler({
	name: ${JSON.stringify(name)},
	startUrls: [process.env.SITE_URL + '/'],
	schedule: '* * * * * *',
	routes: {default: async ({push}) => { await push({tick: true}); }},
});
`,
	);
	const args = ['schedule', '--store', pgUrl];
	const schedulers = [0, 1].map(() => spawnCli(args, {cwd: workspace.dir, env: workspace.env, timeoutMs: 240_000}));
	const finishes = () => schedulers.reduce((sum, each) => sum + (each.stderr().match(/ finish /g)?.length ?? 0), 0);
	const lost = () => schedulers.reduce((sum, each) => sum + (each.stderr().match(/was claimed by another scheduler/g)?.length ?? 0), 0);
	const deadline = Date.now() + 180_000; // runs take seconds each on a loaded machine
	// Both are contending for slots (each lost some to the other) and several runs have ended.
	while (!(finishes() >= 3 && lost() >= 2)) {
		if (Date.now() > deadline) throw new Error(`timed out:\n${schedulers.map((each) => each.stderr()).join('\n----\n')}`);
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
	for (const each of schedulers) each.child.kill('SIGINT');
	const results = await Promise.all(schedulers.map(async (each) => each.exited));
	for (const result of results) assert.equal(result.code, 130, result.stderr);

	const fired = results.map((result) => slotsOf(result.stderr, / fire \S+ \(scheduled (\S+)\)$/gm));
	const skipped = results.map((result) => result.stderr.match(/ skipped /g)?.length ?? 0);
	const allFired = fired.flat();
	assert.equal(new Set(allFired).size, allFired.length, `a slot fired twice: ${allFired.sort().join(' ')}`);
	// Each slot one scheduler lost was fired, or skipped (previous run still going), by the other.
	const lostSlots = results.map((result) => slotsOf(result.stderr, /the fire of (\S+) was claimed by another scheduler/g));
	for (const [index, slots] of lostSlots.entries()) {
		const other = results[1 - index]!.stderr;
		for (const slot of slots) assert.ok(fired[1 - index]!.includes(slot) || other.includes('skipped'), `slot ${slot} lost by ${index}, not fired by the other`);
	}
	const store = openStore({kind: 'postgres', url: pgUrl}, name);
	try {
		const runs = await store.listRuns(1000);
		assert.equal(runs.length, allFired.length, `one run per fire (${skipped.join('+')} skipped)`);
		// A run the SIGINT cut short may not have fetched its page: count the pages the runs say they did.
		const pagesDone = runs.reduce((sum, run) => sum + ((run.summary as {requests?: {done?: number}} | undefined)?.requests?.done ?? 0), 0);
		assert.equal(hits, pagesDone, 'one request at the site per page the runs report done');
		assert.ok(runs.filter((run) => run.state === 'finished').length >= 3, runs.map((run) => run.state).join(' '));
	} finally {
		await store.close();
	}
	assert.ok(hits <= allFired.length, `at most one request per fire (${hits} for ${allFired.length} fires)`);
});
