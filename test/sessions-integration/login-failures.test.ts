// Issue 3 item 3 through the CLI: a wrong password disables that account's session with
// LOGIN_FAILED (named, never the password) while the other account finishes the crawl; with
// every account wrong the run stops with NO_USABLE_SESSION, exit 1, and loses nothing: fix the
// password, run again, and the same run resumes and completes.
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {runCli, tempProject} from '../helpers/run-cli.js';
import {byUrl, demoSite, expectedBooks, formCrawlerSource, storedItems} from './helpers.js';

const accounts = `[
	{username: 'demo', password: process.env.P1 ?? ''},
	{username: 'alice', password: process.env.P2 ?? ''},
]`;
const users = {demo: 'pw-demo-Kx42-ok', alice: 'pw-alice-Vr07-ok'};
const WRONG = 'pw-Zq81-secret-wrong';

describe('login failures', () => {
	test('a wrong password on one of two accounts: LOGIN_FAILED for it, the other account finishes', async (t) => {
		const site = await demoSite(t, {books: 30, perPage: 10, users});
		const project = tempProject(t);
		const file = project.write('crawlers/two.ts', formCrawlerSource({name: 'two', accounts}));
		const result = await runCli(['run', file], {cwd: project.dir, env: {...project.env, SITE_URL: site.url, P1: users.demo, P2: WRONG}});
		const output = result.stdout + result.stderr;

		assert.equal(result.code, 0, output);
		assert.match(output, /LOGIN_FAILED/);
		assert.match(output, /LOGIN_FAILED[^\n]*'alice'|'alice'[^\n]*LOGIN_FAILED/, 'the failure names the account');
		assert.doesNotMatch(output, /LOGIN_FAILED[^\n]*'demo'|'demo'[^\n]*LOGIN_FAILED/);
		assert.ok(!output.includes(WRONG), 'the password is never printed');
		assert.equal(site.stats.loginSuccess, 1);
		assert.equal(site.stats.loginFailure, 1, 'a rejected password is posted once (loginMaxAttempts defaults to 1), then the session is disabled');
		assert.deepEqual(byUrl((await storedItems(project.storage, 'two')) as Array<{url: string; title: string}>), expectedBooks(site, 30));
	});

	test('every account wrong: NO_USABLE_SESSION, exit 1; fix the password and the run resumes to the end', async (t) => {
		const site = await demoSite(t, {books: 30, perPage: 10, users});
		const project = tempProject(t);
		const file = project.write('crawlers/two.ts', formCrawlerSource({name: 'two', accounts, extra: 'sessions: {loginMaxAttempts: 1},'}));
		const env = {...project.env, SITE_URL: site.url};

		const failed = await runCli(['run', file], {cwd: project.dir, env: {...env, P1: WRONG, P2: WRONG}});
		const output = failed.stdout + failed.stderr;
		assert.equal(failed.code, 1, output);
		assert.match(output, /NO_USABLE_SESSION/);
		assert.match(output, /'demo'/);
		assert.match(output, /'alice'/);
		assert.ok(!output.includes(WRONG), 'the password is never printed');
		assert.equal(site.stats.loginSuccess, 0);
		assert.equal(site.stats.loginFailure, 2);
		assert.equal(site.stats.catalogue + site.stats.book, 0, 'no page was fetched without a session');

		const fixed = await runCli(['run', file], {cwd: project.dir, env: {...env, P1: users.demo, P2: users.alice}});
		assert.equal(fixed.code, 0, fixed.stdout + fixed.stderr);
		assert.match(fixed.stderr, /resuming run 1/);
		assert.equal(site.stats.loginSuccess, 2, 'both disabled sessions log in again once the password is fixed');
		assert.deepEqual(byUrl((await storedItems(project.storage, 'two')) as Array<{url: string; title: string}>), expectedBooks(site, 30));
	});

	test('a wrong password with perAccount: 3: exactly one POST per account, exit 1, every request kept pending', async (t) => {
		const site = await demoSite(t, {books: 30, perPage: 10, users});
		const project = tempProject(t);
		const file = project.write('crawlers/three.ts', formCrawlerSource({name: 'three', accounts, extra: 'sessions: {perAccount: 3},'}));
		const env = {...project.env, SITE_URL: site.url};

		const failed = await runCli(['run', file], {cwd: project.dir, env: {...env, P1: WRONG, P2: WRONG}});
		const output = failed.stdout + failed.stderr;
		assert.equal(failed.code, 1, output);
		assert.match(output, /NO_USABLE_SESSION/);
		assert.match(output, /LOGIN_FAILED/);
		assert.ok(!output.includes(WRONG), 'the password is never printed');
		assert.equal(site.stats.loginFailure, 2, 'one rejected POST per account, not one per session (6)');
		assert.equal(site.stats.loginSuccess, 0);
		assert.equal(site.stats.catalogue + site.stats.book, 0, 'no page was fetched without a session');

		const fixed = await runCli(['run', file], {cwd: project.dir, env: {...env, P1: users.demo, P2: users.alice}});
		assert.equal(fixed.code, 0, fixed.stdout + fixed.stderr);
		assert.match(fixed.stderr, /resuming run 1/, 'the pending requests were kept');
		assert.deepEqual(byUrl((await storedItems(project.storage, 'three')) as Array<{url: string; title: string}>), expectedBooks(site, 30));
	});
});
