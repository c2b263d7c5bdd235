// One crawl, one runner (issue 14 item 5): a second runCrawler() for the same crawler and storage
// fails ERR_LOCKED, in the same process too; a lock whose process is gone is taken over at once.
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {hostname} from 'node:os';
import {test, type TestContext} from 'node:test';
import type {CrawlerDefinition} from '../../src/job/types.js';
import {runCrawler} from '../../src/runner/run-crawler.js';
import {openStore} from '../../src/store/open-store.js';
import {startServer} from '../sites/start-server.js';
import {counts, crawl, fastRetry, html, tempStorage} from './crawl.js';

const PAGES = 20;

/** `/` links to PAGES pages, each answering after `delayMs`. */
async function site(t: TestContext, delayMs: number): Promise<{url: string; seen: string[]}> {
	const seen: string[] = [];
	const server = await startServer(t, (request, response) => {
		seen.push(request.url!);
		response.setHeader('content-type', 'text/html');
		if (request.url === '/') return response.end(html(Array.from({length: PAGES}, (_, index) => `<a href="/p/${index}">p</a>`).join('')));
		setTimeout(() => response.end(html(`<h1>${request.url}</h1>`)), delayMs).unref();
	});
	return {url: server.url, seen};
}

function definition(url: string): CrawlerDefinition {
	return {
		name: 'locked',
		startUrls: [`${url}/`],
		useHeaderGenerator: false,
		retry: fastRetry,
		concurrency: 4,
		routes: {
			default: async ({enqueue}) => void (await enqueue({selector: 'a', label: 'page'})),
			page: async ({request, push}) => void (await push({url: request.url})),
		},
	};
}

async function writeLock(storageDir: string, owner: Record<string, unknown>): Promise<void> {
	const store = openStore(storageDir, 'locked');
	try {
		await store.setMeta('run-lock', JSON.stringify(owner));
	} finally {
		await store.close();
	}
}

test('two runCrawler() calls in one process: the second fails ERR_LOCKED at once; the first fetches every page once; the lock is released after', async (t) => {
	const server = await site(t, 30);
	const storageDir = tempStorage(t);
	const first = runCrawler(definition(server.url), {storageDir});
	// Started in the same tick: both read the lock before either has written it.
	const second = runCrawler(definition(server.url), {storageDir});
	await assert.rejects(second, (error: NodeJS.ErrnoException) => {
		assert.equal(error.code, 'ERR_LOCKED');
		assert.match(error.message, /crawler 'locked' is already running \(in this process\); stop it first, or use another --storage folder/);
		return true;
	});
	const summary = await first;
	assert.equal(summary.state, 'finished');
	assert.equal(summary.items, PAGES);
	assert.ok([...counts(server.seen).values()].every((times) => times === 1), 'no page fetched twice');

	// Released: the next call runs (and resumes nothing: the run is finished, so a new one starts).
	const again = await crawl(t, definition(server.url), {storageDir});
	assert.equal(again.summary.state, 'finished');
});

test('a second call while the first is well under way also fails ERR_LOCKED', async (t) => {
	const server = await site(t, 50);
	const storageDir = tempStorage(t);
	const first = runCrawler(definition(server.url), {storageDir});
	while (server.seen.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
	await assert.rejects(runCrawler(definition(server.url), {storageDir}), {code: 'ERR_LOCKED'});
	assert.equal((await first).items, PAGES);
});

test('a lock left by a process that is gone is taken over at once; one with this pid but no live call is stale too', async (t) => {
	const server = await site(t, 0);
	const storageDir = tempStorage(t);
	const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {encoding: 'utf8'});
	const deadPid = Number(dead.stdout);
	assert.ok(deadPid > 0);
	await writeLock(storageDir, {pid: deadPid, host: hostname(), token: 'gone', since: 1});
	const result = await crawl(t, definition(server.url), {storageDir});
	assert.equal(result.summary.items, PAGES);

	// E.g. a killed process whose pid this process now has, or a lock file of an older format.
	await writeLock(storageDir, {pid: process.pid, host: hostname(), token: 'not-a-live-call', since: 1});
	const fresh = await crawl(t, definition(server.url), {storageDir, fresh: true});
	assert.equal(fresh.summary.items, PAGES);
});

test('a lock held by another live process is never taken', async (t) => {
	const server = await site(t, 0);
	const storageDir = tempStorage(t);
	// The test runner that started this file: alive for as long as this test runs.
	await writeLock(storageDir, {pid: process.ppid, host: hostname(), token: 'live', since: 1});
	await assert.rejects(runCrawler(definition(server.url), {storageDir}), (error: NodeJS.ErrnoException) => {
		assert.equal(error.code, 'ERR_LOCKED');
		assert.match(error.message, new RegExp(`already running \\(pid ${process.ppid}\\)`));
		return true;
	});
	assert.deepEqual(server.seen, [], 'nothing fetched');
	const store = openStore(storageDir, 'locked');
	t.after(() => store.close());
	assert.match((await store.getMeta('run-lock')) ?? '', /"token":"live"/, 'the lock is untouched');
});
