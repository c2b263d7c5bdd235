// Issue 3 item 5 on real crawls: persisted sessions are reused with zero logins by a resume
// after kill -9, by a new run after a finished one and by `run --fresh`; `sessions ls` shows
// them without any value; `sessions rm` forgets them, so the next run logs in again.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {runCrawler} from '../../src/runner/run-crawler.js';
import {runCli, spawnCli, tempProject} from '../helpers/run-cli.js';
import {byUrl, demoSite, expectedBooks, formCrawler, formCrawlerSource, storedItems} from './helpers.js';

test('resume after kill -9, next run, --fresh: zero logins; sessions ls / rm', async (t) => {
	// 3 catalogue pages + 60 books at 20 requests/s: about 3 s, time to kill it in the middle.
	const site = await demoSite(t, {books: 60, perPage: 20});
	const project = tempProject(t);
	const file = project.write('crawlers/resume.ts', formCrawlerSource({name: 'resume', extra: 'hosts: {maxRequestsPerSecond: 20},'}));
	const env = {...project.env, SITE_URL: site.url, DEMO_PASSWORD: 'demo-password', CRAWLJAR_SECRET: process.env.CRAWLJAR_SECRET!};

	const child = spawnCli(['run', file], {cwd: project.dir, env});
	await new Promise<void>((resolve, reject) => {
		const timer = setInterval(() => {
			if (site.stats.book < 10) return;
			clearInterval(timer);
			child.child.kill('SIGKILL');
			resolve();
		}, 2);
		void child.exited.then(() => {
			clearInterval(timer);
			reject(new Error('the crawl ended before it could be killed'));
		});
	});
	assert.equal((await child.exited).signal, 'SIGKILL');
	assert.equal(site.stats.loginSuccess, 1);
	assert.ok(site.stats.book < 60, 'killed mid-run');

	// The resume: same run, zero logins.
	const resumed = await runCli(['run', file], {cwd: project.dir, env});
	assert.equal(resumed.code, 0, resumed.stderr);
	assert.match(resumed.stderr, /resuming run 1/);
	assert.equal(site.stats.loginSuccess, 1, 'the resume logged in again');
	assert.equal(site.stats.loginPage, 1, 'not even the login form was fetched');
	assert.deepEqual(byUrl((await storedItems(project.storage, 'resume')) as Array<{url: string; title: string}>), expectedBooks(site, 60));

	// sessions ls: account, state, cookie names, last login, logins, re-logins, refreshes, 401s — no value.
	const listed = await runCli(['sessions', 'ls', 'resume'], {cwd: project.dir, env});
	assert.equal(listed.code, 0, listed.stderr);
	const [header, row, ...rest] = listed.stdout.trim().split('\n');
	assert.deepEqual(header?.trim().split(/\s{2,}/), ['id', 'account', 'state', 'cookies', 'token', 'last login', 'logins', 'relogins', 'refreshes', 'refreshes after 401', '401s']);
	assert.deepEqual(rest, []);
	assert.match(row ?? '', /^demo#1\s+demo\s+ready\s+presession, sid\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+1\s+0\s+0\s+0\s+0$/);

	// A new run after a finished one, in-process with the same storage and key: zero logins.
	const next = await runCrawler(formCrawler(site, {name: 'resume'}), {storageDir: project.storage});
	assert.equal(next.state, 'finished');
	assert.equal(next.runId, 2);
	assert.equal(next.items, 60);
	assert.equal(site.stats.loginSuccess, 1, 'the next run logged in again');

	// --fresh keeps sessions.
	const fresh = await runCli(['run', file, '--fresh'], {cwd: project.dir, env});
	assert.equal(fresh.code, 0, fresh.stderr);
	assert.match(fresh.stderr, /starting run 3/);
	assert.equal(site.stats.loginSuccess, 1, '--fresh logged in again');

	// sessions rm forgets them: the next run logs in.
	const removed = await runCli(['sessions', 'rm', 'resume'], {cwd: project.dir, env});
	assert.equal(removed.code, 0, removed.stderr);
	assert.match(removed.stdout, /removed 1 session\(s\) of resume/);
	const afterRm = await runCrawler(formCrawler(site, {name: 'resume'}), {storageDir: project.storage});
	assert.equal(afterRm.state, 'finished');
	assert.equal(site.stats.loginSuccess, 2, 'after sessions rm, exactly one new login');
});
