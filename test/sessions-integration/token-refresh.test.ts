// Issue 3, token API on real crawls: access tokens living 2 s over a ~10 s crawl are refreshed
// (rotating refresh tokens), never replaced by a full login, and a rotated refresh token is
// never presented twice; a kill -9 right after a refresh, then a resume, needs no login either.
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {runCrawler} from '../../src/runner/run-crawler.js';
import {runCli, spawnCli, tempProject} from '../helpers/run-cli.js';
import {captureLog, demoSite, expectedApiItems, sleep, storedItems, tempStorage, tokenCrawler, tokenCrawlerSource} from './helpers.js';

describe('token login with refresh-token rotation', () => {
	test('access token TTL 2 s over a ~10 s crawl: refreshes, one login, no refresh token reused', async (t) => {
		// 20 API pages, one after the other (each page links the next), 2 per second: ~10 s.
		const site = await demoSite(t, {books: 40, perPage: 2, accessTokenTtlMs: 2_000});
		const storageDir = tempStorage(t);
		const log = captureLog();
		const started = Date.now();
		const summary = await runCrawler(tokenCrawler(site, {hosts: {maxRequestsPerSecond: 2}}), {storageDir, log});
		const elapsedMs = Date.now() - started;

		assert.equal(summary.state, 'finished', log.lines.join('\n'));
		assert.ok(elapsedMs >= 8_000, `the crawl outlives several tokens (took ${elapsedMs} ms)`);
		assert.equal(site.stats.tokenLogin, 1, 'no full login after the first');
		assert.ok(site.stats.tokenRefresh >= 3, `expected several refreshes, saw ${site.stats.tokenRefresh}`);
		assert.equal(site.stats.refreshReuseRejected, 0);
		assert.equal(site.stats.tokenLoginFailure, 0);
		assert.equal(site.stats.staleTokenRequests, 0, 'no request sent with an access token already replaced');
		assert.equal(site.stats.apiRequests, 20, 'every API page was answered with a valid token on its first try');
		assert.deepEqual(await storedItems(storageDir, 'token'), expectedApiItems(40));
	});

	test('kill -9 right after a refresh, then resume: no login, no refresh failure', async (t) => {
		// 24 API pages at 8 per second: the first refresh (at half the token's life) comes mid-run.
		const site = await demoSite(t, {books: 48, perPage: 2, accessTokenTtlMs: 2_000});
		const project = tempProject(t);
		const file = project.write('crawlers/api.ts', tokenCrawlerSource({name: 'api', extra: 'concurrency: 1, hosts: {maxRequestsPerSecond: 8},'}));
		const env = {...project.env, SITE_URL: site.url, DEMO_PASSWORD: 'demo-password'};

		const child = spawnCli(['run', file], {cwd: project.dir, env});
		// The moment the crawler has the new tokens in hand: its first API call after the refresh.
		// The rotated refresh token must already be on disk then (saved before it is used).
		const killedAt = await new Promise<number>((resolve, reject) => {
			const timer = setInterval(() => {
				const refreshAt = site.stats.log.findIndex((entry) => entry.path === '/api/auth/refresh' && entry.status === 200);
				const used = refreshAt >= 0 && site.stats.log.slice(refreshAt + 1).some((entry) => entry.path.startsWith('/api/books'));
				if (!used) return;
				clearInterval(timer);
				child.child.kill('SIGKILL');
				resolve(site.stats.tokenRefresh);
			}, 1);
			void child.exited.then((result) => {
				clearInterval(timer);
				reject(new Error(`the crawl ended before a refresh: ${result.stdout}\n${result.stderr}`));
			});
		});
		const killed = await child.exited;
		assert.equal(killed.signal, 'SIGKILL');
		assert.equal(killedAt, 1, 'killed right after the first refresh');
		assert.equal(site.stats.tokenLogin, 1);
		const pagesBefore = site.stats.apiRequests;
		assert.ok(pagesBefore < 24, 'killed mid-run');

		// Let the access token the killed run held expire: the resume must refresh, not log in.
		await sleep(500);
		const resumed = await runCli(['run', file], {cwd: project.dir, env});
		assert.equal(resumed.code, 0, resumed.stderr);
		assert.match(resumed.stderr, /resuming run 1/);
		assert.equal(site.stats.tokenLogin, 1, 'the resumed run logged in again');
		assert.ok(site.stats.tokenRefresh > killedAt, 'the resumed run refreshed with the persisted refresh token');
		assert.equal(site.stats.refreshReuseRejected, 0, 'a rotated refresh token was presented again');
		assert.equal(site.stats.tokenLoginFailure, 0);

		const items = (await storedItems(project.storage, 'api')) as Array<{id: number; title: string}>;
		assert.deepEqual([...items].sort((a, b) => a.id - b.id), expectedApiItems(48), 'nothing lost, nothing duplicated');
	});
});
