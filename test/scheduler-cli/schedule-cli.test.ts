// `crawljar schedule --list`, start-up errors, catch-up after downtime and `crawljar status`, as
// a user sees them: child processes of the CLI against the demo bookshop.
import assert from 'node:assert/strict';
import {mkdirSync} from 'node:fs';
import path from 'node:path';
import {test} from 'node:test';
import {Cron} from 'croner';
import {startDemoSite} from '../../demo/site/index.js';
import {runCli, spawnCli} from '../helpers/run-cli.js';
import {bookCrawler, createWorkspace, readMeta, writeMeta} from './workspace.js';

const LAST_FIRE_KEY = 'schedule-last-fire';

test('crawljar schedule --list prints the next fire times of each scheduled crawler', async (t) => {
	const workspace = createWorkspace(t);
	workspace.writeCrawler('books.ts', bookCrawler({name: 'books', schedule: "'*/5 * * * * *'"}));
	workspace.writeCrawler('paris.ts', bookCrawler({name: 'paris', schedule: "{cron: '0 6 * * *', timezone: 'Europe/Paris', overlap: 'queue', catchUp: 'once'}"}));
	workspace.writeCrawler('plain.ts', bookCrawler({name: 'plain'}));
	const before = Date.now();
	const result = await runCli(['schedule', '--list'], {cwd: workspace.dir, env: workspace.env});
	assert.equal(result.code, 0, result.stderr);

	const lines = result.stdout.trimEnd().split('\n');
	assert.equal(lines[0], 'books  */5 * * * * *  overlap=skip catchUp=none');
	const bookFires = lines.slice(1, 6).map((line) => Date.parse(line.trim()));
	assert.equal(bookFires.length, 5);
	for (const [index, at] of bookFires.entries()) {
		assert.equal(at % 5000, 0, `${lines[index + 1]} is on a 5-second boundary`);
		if (index > 0) assert.equal(at - bookFires[index - 1]!, 5000);
	}
	assert.ok(bookFires[0]! > before - 1000 && bookFires[0]! <= Date.now() + 5000, 'the first fire is the next one from now');

	assert.equal(lines[6], 'paris  0 6 * * * (Europe/Paris)  overlap=queue catchUp=once');
	const expectedParis = new Cron('0 6 * * *', {timezone: 'Europe/Paris'}).nextRuns(5).map((date) => `  ${date.toISOString()}`);
	assert.deepEqual(lines.slice(7, 12), expectedParis);
	assert.equal(lines.length, 12, 'a crawler without a schedule is not listed');
	assert.doesNotMatch(result.stdout, /plain/);
});

test('crawljar schedule: an invalid cron fails at start with exit 2, naming the file and schedule.cron', async (t) => {
	const workspace = createWorkspace(t);
	workspace.writeCrawler('good.ts', bookCrawler({name: 'good', schedule: "'0 * * * *'"}));
	workspace.writeCrawler('bad.ts', bookCrawler({name: 'bad', schedule: "{cron: '61 * * * *', overlap: 'queue'}"}));
	for (const args of [['schedule'], ['schedule', 'crawlers/bad.ts', '--list']]) {
		const result = await runCli(args, {cwd: workspace.dir, env: workspace.env, timeoutMs: 30_000});
		assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
		assert.match(result.stderr, /crawlers\/bad\.ts/, args.join(' '));
		assert.match(result.stderr, /schedule\.cron: invalid cron expression '61 \* \* \* \*'/, args.join(' '));
		assert.equal(result.stdout, '', 'nothing is listed or fired');
	}

	workspace.writeCrawler('bad.ts', bookCrawler({name: 'bad', schedule: "{cron: '0 * * * *', timezone: 'Nowhere/Land'}"}));
	const zone = await runCli(['schedule', '--list'], {cwd: workspace.dir, env: workspace.env});
	assert.equal(zone.code, 2, zone.stderr);
	assert.match(zone.stderr, /crawlers\/bad\.ts[\s\S]*schedule\.timezone: invalid timezone 'Nowhere\/Land'/);
});

test('crawljar schedule: no scheduled crawler in the folder is a clear usage error (exit 2)', async (t) => {
	const workspace = createWorkspace(t);
	workspace.writeCrawler('plain.ts', bookCrawler({name: 'plain'}));
	const noSchedule = await runCli(['schedule'], {cwd: workspace.dir, env: workspace.env});
	assert.equal(noSchedule.code, 2, noSchedule.stderr);
	assert.match(noSchedule.stderr, /no crawler with a `schedule`/);
	assert.match(noSchedule.stderr, /crawlers/, 'says where it looked');
	assert.match(noSchedule.stderr, /plain\.ts/, 'names the crawler files it found without a schedule');

	mkdirSync(path.join(workspace.dir, 'empty'));
	const empty = await runCli(['schedule', 'empty'], {cwd: workspace.dir, env: workspace.env});
	assert.equal(empty.code, 2, empty.stderr);
	assert.match(empty.stderr, /no crawler with a `schedule`/);
	assert.match(empty.stderr, /empty/);

});

test("catchUp 'once' runs a missed fire at start; status then shows the run and the next fire", async (t) => {
	const site = await startDemoSite({books: 30, perPage: 10});
	t.after(() => site.close());
	const workspace = createWorkspace(t, site.url);
	// Yearly: the only way to see a run within seconds is the catch-up of the missed fires.
	const cron = '0 0 1 1 *';
	workspace.writeCrawler('books.ts', bookCrawler({name: 'books', schedule: `{cron: '${cron}', catchUp: 'once'}`}));
	const seeded = Date.now() - 3 * 365 * 86_400_000;
	await writeMeta(workspace.storageDir, 'books', LAST_FIRE_KEY, String(seeded));

	const scheduler = spawnCli(['schedule'], {cwd: workspace.dir, env: workspace.env, timeoutMs: 30_000});
	await scheduler.waitFor(/finish books/);
	scheduler.child.kill('SIGINT');
	const result = await scheduler.exited;
	assert.equal(result.code, 130, result.stderr);
	assert.match(result.stderr, /fire books \(catch-up: missed \d{4}-01-01T/);
	assert.match(result.stderr, /finish books in \S+: 33 requests done, 0 failed, 30 items/);
	assert.equal(site.stats.loginSuccess, 1);
	assert.equal(site.stats.book, 30);
	const lastFire = Number(await readMeta(workspace.storageDir, 'books', LAST_FIRE_KEY));
	assert.ok(lastFire > seeded + 1000, 'the catch-up fire is persisted as the last fire');

	const status = await runCli(['status', 'books'], {cwd: workspace.dir, env: workspace.env});
	assert.equal(status.code, 0, status.stderr);
	const next = new Cron(cron).nextRun()!.toISOString();
	const lines = status.stdout.trimEnd().split('\n');
	assert.equal(lines[0], `books  next fire ${next}`);
	assert.match(lines[1]!, /^ {2}run\s+state\s+started\s+duration\s+pages\s+items\s+failed$/);
	assert.match(lines[2]!, /^ {2}\s*1\s+finished\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+\d+(\.\d)?m?s\s+33\s+30\s+0$/);
	// The run's workers (one: the scheduler's run, which has left).
	assert.equal(lines[3], '  workers of run 1:');
	assert.match(lines[4]!, /^ {4}host\s+pid\s+state\s+heartbeat\s+pages\/s\s+pages\s+started$/);
	assert.match(lines[5]!, /^ {4}\S+\s+\d+\s+left\s/);
	assert.equal(lines.length, 6);

	// Without a name: every crawler in ./crawlers, including one that never ran.
	workspace.writeCrawler('other.ts', bookCrawler({name: 'other', schedule: "'0 3 * * *'"}));
	const all = await runCli(['status'], {cwd: workspace.dir, env: workspace.env});
	assert.equal(all.code, 0, all.stderr);
	assert.match(all.stdout, /^books {2}next fire /m);
	assert.match(all.stdout, new RegExp(`^other {2}next fire ${new Cron('0 3 * * *').nextRun()!.toISOString()}\\n {2}never run$`, 'm'));
});

test("catchUp 'none' does not run a missed fire at start, and says so", async (t) => {
	const site = await startDemoSite({books: 30, perPage: 10});
	t.after(() => site.close());
	const workspace = createWorkspace(t, site.url);
	workspace.writeCrawler('books.ts', bookCrawler({name: 'books', schedule: "{cron: '0 0 1 1 *', catchUp: 'none'}"}));
	const seeded = Date.now() - 3 * 365 * 86_400_000;
	await writeMeta(workspace.storageDir, 'books', LAST_FIRE_KEY, String(seeded));

	const scheduler = spawnCli(['schedule'], {cwd: workspace.dir, env: workspace.env, timeoutMs: 30_000});
	await scheduler.waitFor(/scheduled books: next fire/);
	await new Promise((resolve) => setTimeout(resolve, 1500));
	scheduler.child.kill('SIGINT');
	const result = await scheduler.exited;
	assert.equal(result.code, 130, result.stderr);
	assert.match(result.stderr, /catch-up books: missed the fire of \d{4}-01-01T\S+, not run \(catchUp: none\)/);
	assert.doesNotMatch(result.stderr, /fire books/);
	assert.equal(site.stats.requests, 0, 'the site saw nothing');
	assert.equal(await readMeta(workspace.storageDir, 'books', LAST_FIRE_KEY), String(seeded), 'no fire, nothing persisted');

	const status = await runCli(['status', 'books'], {cwd: workspace.dir, env: workspace.env});
	assert.equal(status.code, 0, status.stderr);
	assert.match(status.stdout, /^books {2}next fire \S+\n {2}never run\n$/);
});
