// Embedding crawljar: runCrawler() resolves with the summary and reports progress; startScheduler()
// fires real runs from code, and they reuse the session like the CLI's.
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {test, type TestContext} from 'node:test';
import {startDemoSite} from '../../demo/site/index.js';
import {defineCrawler, formLogin, runCrawler, startScheduler, type ProgressSnapshot, type RunSummary, type SchedulerEvent} from '../../src/index.js';

process.env.CRAWLJAR_SECRET = 'scheduler-cli-from-code-secret';

function storageDir(t: TestContext): string {
	const dir = mkdtempSync(path.join(tmpdir(), 'crawljar-from-code-'));
	t.after(() => rmSync(dir, {recursive: true, force: true}));
	return dir;
}

function books(siteUrl: string, maxRequestsPerSecond?: number) {
	return defineCrawler({
		name: 'books',
		startUrls: [`${siteUrl}/catalogue`],
		...(maxRequestsPerSecond === undefined ? {} : {hosts: {maxRequestsPerSecond}}),
		accounts: [{username: 'demo', password: 'demo-password'}],
		login: formLogin({url: '/login', fields: ({account}) => ({username: account.username, password: account.password ?? ''})}),
		loggedOut: ({$}) => $('form#login').length > 0,
		routes: {
			default: async ({enqueue}) => {
				await enqueue({selector: 'a.book', label: 'book'});
				await enqueue({selector: 'a.next'});
			},
			book: async ({request, $, push}) => {
				await push({url: request.url, title: $('h1').text().trim()});
			},
		},
	});
}

test('runCrawler(definition, options) resolves with the summary and calls onProgress while it runs', async (t) => {
	const site = await startDemoSite({books: 30, perPage: 10});
	t.after(() => site.close());
	const progress: ProgressSnapshot[] = [];
	// 33 pages at 15 requests/s: about 2 s, so the once-a-second progress fires at least once.
	const summary = await runCrawler(books(site.url, 15), {storageDir: storageDir(t), onProgress: (snapshot) => progress.push(snapshot)});

	assert.equal(summary.crawler, 'books');
	assert.equal(summary.runId, 1);
	assert.equal(summary.state, 'finished');
	assert.deepEqual({...summary.requests, retried: 0}, {done: 33, failed: 0, retried: 0});
	assert.equal(summary.items, 30);
	assert.ok(summary.finishedAt >= summary.startedAt);
	assert.equal(site.stats.book, 30);
	assert.equal(site.stats.loginSuccess, 1);

	assert.ok(progress.length >= 1, 'at least one progress event');
	for (const snapshot of progress) {
		assert.ok(snapshot.done >= 0 && snapshot.done <= 33, JSON.stringify(snapshot));
		assert.equal(snapshot.failed, 0);
		assert.ok(snapshot.elapsedMs > 0);
	}
	const last = progress.at(-1)!;
	assert.ok(last.done > 0, 'progress reports pages done');
	assert.ok(progress.every((snapshot, index) => index === 0 || snapshot.done >= progress[index - 1]!.done), 'done never goes back');
});

test('startScheduler(...) fires crawler runs from code; later runs reuse the session', async (t) => {
	const site = await startDemoSite({books: 10, perPage: 10});
	t.after(() => site.close());
	const dir = storageDir(t);
	const definition = books(site.url);
	const events: SchedulerEvent[] = [];
	let finished!: () => void;
	const twoFinished = new Promise<void>((resolve) => {
		finished = resolve;
	});
	const scheduler = await startScheduler(
		[{name: definition.name, schedule: '* * * * * *'}],
		{run: async () => runCrawler(definition, {storageDir: dir})},
		{
			onEvent: (event) => {
				events.push(event);
				if (events.filter((each) => each.type === 'finish').length === 2) finished();
			},
		},
	);
	const timeout = setTimeout(() => finished(), 10_000);
	await twoFinished;
	clearTimeout(timeout);
	await scheduler.stop();

	const finishes = events.filter((event) => event.type === 'finish');
	assert.ok(finishes.length >= 2, JSON.stringify(events.map((event) => event.type)));
	assert.equal(events.filter((event) => event.type === 'error').length, 0);
	const summaries = finishes.map((event) => event.summary as RunSummary);
	assert.deepEqual(
		summaries.map((summary) => [summary.runId, summary.state, summary.items]),
		summaries.map((_, index) => [index + 1, 'finished', 10]),
	);
	assert.equal(site.stats.loginSuccess, 1, 'the second run reuses the persisted session');
	assert.equal(site.stats.book, 10 * finishes.length);
});
