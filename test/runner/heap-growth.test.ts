// V8's heap growth held while a crawl runs (issue 13: peak RSS bounded in every run).
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import test from 'node:test';
import {fileURLToPath} from 'node:url';
import {DEFAULT_HEAP_GROWTH_PERCENT, heapGrowthInEffect, holdHeapGrowth, resolveHeapGrowth} from '../../src/runner/heap-growth.js';
import {crawl, html} from './crawl.js';
import {startServer} from '../sites/start-server.js';

function fakeProcess(env: Record<string, string> = {}, execArgv: string[] = []) {
	const flags: string[] = [];
	return {flags, proc: {env, execArgv, setFlags: (flag: string) => void flags.push(flag)}};
}

test('the option, then CRAWLJAR_HEAP_GROWTH, then 50; a --heap-growing-percent node was started with wins', () => {
	assert.equal(resolveHeapGrowth(undefined, {env: {}, execArgv: []}), DEFAULT_HEAP_GROWTH_PERCENT);
	assert.equal(DEFAULT_HEAP_GROWTH_PERCENT, 50);
	assert.equal(resolveHeapGrowth(30, {env: {CRAWLJAR_HEAP_GROWTH: '80'}, execArgv: []}), 30);
	assert.equal(resolveHeapGrowth(false, {env: {CRAWLJAR_HEAP_GROWTH: '80'}, execArgv: []}), undefined);
	assert.equal(resolveHeapGrowth(undefined, {env: {CRAWLJAR_HEAP_GROWTH: '80'}, execArgv: []}), 80);
	assert.equal(resolveHeapGrowth(undefined, {env: {CRAWLJAR_HEAP_GROWTH: 'off'}, execArgv: []}), undefined);
	assert.equal(resolveHeapGrowth(undefined, {env: {CRAWLJAR_HEAP_GROWTH: ''}, execArgv: []}), 50);
	assert.equal(resolveHeapGrowth(30, {env: {}, execArgv: ['--heap-growing-percent=10']}), undefined);
	assert.equal(resolveHeapGrowth(undefined, {env: {}, execArgv: ['--heap_growing_percent', '10']}), undefined);
});

test('a bad setting is a usage error naming where it came from', () => {
	assert.throws(() => resolveHeapGrowth(0, {env: {}, execArgv: []}), (error: Error & {code?: string}) => error.code === 'ERR_USAGE' && /^heapGrowthPercent: .*1 to 400, or false/.test(error.message));
	assert.throws(() => resolveHeapGrowth(2.5, {env: {}, execArgv: []}), /heapGrowthPercent/);
	assert.throws(() => resolveHeapGrowth(undefined, {env: {CRAWLJAR_HEAP_GROWTH: 'lots'}, execArgv: []}), (error: Error) => /^CRAWLJAR_HEAP_GROWTH \("lots"\): .*or 'off'/.test(error.message));
	assert.throws(() => resolveHeapGrowth(undefined, {env: {CRAWLJAR_HEAP_GROWTH: '401'}, execArgv: []}), /CRAWLJAR_HEAP_GROWTH/);
});

test('held by each run until the last one ends, then V8 gets its dynamic default back', () => {
	const {flags, proc} = fakeProcess();
	const releaseFirst = holdHeapGrowth(50, proc);
	const releaseSecond = holdHeapGrowth(50, proc);
	assert.deepEqual(flags, ['--heap-growing-percent=50'], 'set once for two runs with the same setting');
	assert.equal(heapGrowthInEffect(), 50);
	releaseFirst();
	releaseFirst();
	assert.equal(heapGrowthInEffect(), 50, 'a second release of the same run changes nothing; the other run still holds it');
	releaseSecond();
	assert.deepEqual(flags, ['--heap-growing-percent=50', '--heap-growing-percent=0']);
	assert.equal(heapGrowthInEffect(), undefined);
	const untouched = fakeProcess({CRAWLJAR_HEAP_GROWTH: 'off'});
	holdHeapGrowth(undefined, untouched.proc)();
	assert.deepEqual(untouched.flags, [], "'off' never touches V8's flags");
});

test('runCrawler holds the heap growth while it runs and lets go when it ends', async (t) => {
	const site = await startServer(t, (_request, response) => {
		response.setHeader('content-type', 'text/html');
		response.end(html('<h1>home</h1>'));
	});
	const seen: (number | undefined)[] = [];
	await crawl(t, {name: 'heap-growth', startUrls: [`${site.url}/`], routes: {default: async () => void seen.push(heapGrowthInEffect())}});
	await crawl(t, {name: 'heap-growth-30', startUrls: [`${site.url}/`], routes: {default: async () => void seen.push(heapGrowthInEffect())}}, {heapGrowthPercent: 30});
	assert.deepEqual(seen, [50, 30]);
	assert.equal(heapGrowthInEffect(), undefined);
	await assert.rejects(crawl(t, {name: 'heap-growth-bad', startUrls: [`${site.url}/`], routes: {default: async () => {}}}, {heapGrowthPercent: 1000}), /heapGrowthPercent/);
	assert.equal(heapGrowthInEffect(), undefined, 'a run refused at its start holds nothing');
});

test('held, it bounds the heap of crawl-like churn (V8 really applies it at run time)', () => {
	// V8's own heuristic let this churn's heap reach 160–270 MiB here; 1.5× kept it at ~95 MiB.
	const script = fileURLToPath(new URL('heap-churn.ts', import.meta.url));
	const child = spawnSync(process.execPath, ['--import', 'tsx', script, '50'], {encoding: 'utf8', timeout: 60_000});
	assert.equal(child.status, 0, child.stderr);
	const {maxHeapTotalMiB} = JSON.parse(child.stdout) as {maxHeapTotalMiB: number};
	assert.ok(maxHeapTotalMiB < 130, `heapTotal reached ${maxHeapTotalMiB} MiB`);
});
