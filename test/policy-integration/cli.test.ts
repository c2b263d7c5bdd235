// Issue 4 through the CLI, as a user runs it: a host cooldown survives kill -9; failed requests
// are listed, put back with --retry-failed and succeed once the server heals; stats --json
// shows the per-host 429s, retries and cooldown.
import assert from 'node:assert/strict';
import test from 'node:test';
import {openStore} from '../../src/store/open-store.js';
import {runCli, spawnCli, tempProject} from '../helpers/run-cli.js';
import {page, sleep, startLoggingServer} from './helpers.js';

const SKEW_MS = 50;

/**
 * A crawler file reading its target from SITE_URL (and more start paths from MORE_PATHS);
 * `extra` is spliced into the definition.
 */
function crawlerSource(name: string, paths: readonly string[], extra: string): string {
	return `export default {
	name: '${name}',
	startUrls: [...${JSON.stringify(paths)}, ...(process.env.MORE_PATHS ?? '').split(',').filter(Boolean)].map((path) => process.env.SITE_URL + path),
	useHeaderGenerator: false,
	routes: {default: async ({request, push}) => push({url: request.url})},
	${extra}
};
`;
}

test('kill -9 during a long cooldown (Retry-After: 5), resume: the host is not contacted before the cooldown ends', {timeout: 60_000}, async (t) => {
	let cooldown: {sentAt: number; end: number} | undefined;
	const served = new Set<string>();
	const server = await startLoggingServer(t, (_request, response, {path}) => {
		if (!cooldown && path === '/p/3') {
			const sentAt = Date.now();
			cooldown = {sentAt, end: sentAt + 5_000};
			response.setHeader('retry-after', '5');
			return page(response, 'slow down', 429);
		}
		if (cooldown && Date.now() < cooldown.end) return page(response, 'too early', 429);
		setTimeout(() => {
			served.add(path);
			page(response);
		}, 20);
	});
	const project = tempProject(t);
	const paths = Array.from({length: 20}, (_, index) => `/p/${index}`);
	// One request at a time: nothing else is on the wire when the 429 leaves.
	const file = project.write('cooldown.ts', crawlerSource('cooldown', paths, 'hosts: {maxConcurrency: 1},'));
	const env = {...project.env, SITE_URL: server.url};

	const first = spawnCli(['run', file], {cwd: project.dir, env});
	while (!cooldown) {
		assert.equal(first.child.exitCode, null, `the first run ended before the 429:\n${first.stderr()}`);
		await sleep(10);
	}
	await sleep(300); // the crawler reads the 429 and stores the cooldown
	first.child.kill('SIGKILL');
	const killed = await first.exited;
	assert.equal(killed.signal, 'SIGKILL');
	const arrivalsBefore = server.arrivals.length;

	// New start URLs on resume have no retry-at of their own: only the stored host cooldown holds them back.
	const morePaths = ['/new/0', '/new/1', '/new/2'];
	const resumed = await runCli(['run', file], {cwd: project.dir, env: {...env, MORE_PATHS: morePaths.join(',')}});
	assert.equal(resumed.code, 0, resumed.stderr);
	assert.match(resumed.stderr, /resuming run 1/);
	const afterKill = server.arrivals.slice(arrivalsBefore);
	assert.ok(afterKill.length > 0, 'the resumed run crawled the rest');
	assert.ok(
		afterKill[0]!.at >= cooldown.end - SKEW_MS,
		`first request after the restart came ${cooldown.end - afterKill[0]!.at} ms before the cooldown ended`,
	);
	assert.equal(served.size, paths.length + morePaths.length, 'every page served once the cooldown ended');
	const store = openStore(project.storage, 'cooldown');
	try {
		assert.deepEqual(await store.counts(1).then(({done, pending, failed}) => ({done, pending, failed})), {done: 23, pending: 0, failed: 0});
	} finally {
		await store.close();
	}
});

test('crawljar failed lists failed requests; run --retry-failed puts them back and they succeed once the server heals; stats --json shows per-host 429s, retries and cooldown', {timeout: 60_000}, async (t) => {
	let isBroken = true;
	let isRateLimited = false;
	const server = await startLoggingServer(t, (_request, response, {path}) => {
		if (path.startsWith('/bad/') && isBroken) return page(response, 'internal error', 500);
		if (path === '/ok/2' && !isRateLimited) {
			isRateLimited = true;
			response.setHeader('retry-after', '1');
			return page(response, 'slow down', 429);
		}
		page(response);
	});
	const project = tempProject(t);
	const paths = ['/bad/0', '/bad/1', '/bad/2', '/ok/0', '/ok/1', '/ok/2', '/ok/3'];
	const file = project.write('healing.ts', crawlerSource('healing', paths, 'retry: {maxRetries: 1, backoff: {baseMs: 10, capMs: 20}},'));
	const cli = (...args: string[]) => runCli(args, {cwd: project.dir, env: {...project.env, SITE_URL: server.url}});

	const first = await cli('run', file);
	assert.equal(first.code, 0, first.stderr);
	for (const path of ['/bad/0', '/bad/1', '/bad/2']) assert.equal(server.count(path), 2, `${path}: maxRetries + 1 attempts`);

	const failedTable = await cli('failed', 'healing');
	assert.equal(failedTable.code, 0, failedTable.stderr);
	for (const path of ['/bad/0', '/bad/1', '/bad/2']) {
		const line = failedTable.stdout.split('\n').find((row) => row.includes(`${server.url}${path}`));
		assert.ok(line, `${path} listed:\n${failedTable.stdout}`);
		assert.match(line, /\b500\b.*ERR_HTTP_STATUS.*\b2\b.*HTTP 500/, line);
	}
	assert.doesNotMatch(failedTable.stdout, /\/ok\//);
	const failedJson = await cli('failed', 'healing', '--json');
	const rows = failedJson.stdout.trim().split('\n').map((line) => JSON.parse(line) as {url: string; status: number; errorCode: string; retryCount: number; error: string});
	assert.deepEqual(
		rows.map(({url, status, errorCode, retryCount}) => ({url, status, errorCode, retryCount})).sort((a, b) => a.url.localeCompare(b.url)),
		['/bad/0', '/bad/1', '/bad/2'].map((path) => ({url: `${server.url}${path}`, status: 500, errorCode: 'ERR_HTTP_STATUS', retryCount: 1})),
	);
	assert.ok(rows.every(({error}) => error.includes('HTTP 500')));

	const stats = await cli('stats', 'healing', '--json');
	assert.equal(stats.code, 0, stats.stderr);
	const summary = JSON.parse(stats.stdout) as {requests: {done: number; failed: number}; hosts: Record<string, {status429: number; retries: Record<string, number>; cooldownMs: number; requests: number}>};
	assert.deepEqual(summary.requests, {...summary.requests, done: 4, failed: 3});
	const host = summary.hosts[server.host];
	assert.ok(host, `per-host stats: ${stats.stdout}`);
	assert.equal(host.status429, 1);
	assert.equal(host.retries['429'], 1);
	assert.equal(host.retries['500'], 3);
	assert.ok(host.cooldownMs >= 900 && host.cooldownMs <= 1_500, `cooldownMs ${host.cooldownMs}`);
	assert.equal(host.requests, server.arrivals.length);

	isBroken = false;
	const second = await cli('run', file, '--retry-failed');
	assert.equal(second.code, 0, second.stderr);
	assert.match(second.stderr, /3 failed requests queued again/);
	for (const path of ['/bad/0', '/bad/1', '/bad/2']) assert.equal(server.count(path), 3, `${path} fetched once more`);
	assert.equal(server.count('/ok/0'), 1, 'done pages are not fetched again');
	const healed = await cli('failed', 'healing');
	assert.match(healed.stdout, /no failed requests/);
	const store = openStore(project.storage, 'healing');
	try {
		const run = await store.latestRun();
		assert.equal(run?.id, 1, 'the same run, continued');
		assert.equal((await store.counts(1)).done, paths.length);
		assert.equal(await store.itemCount(1), paths.length);
	} finally {
		await store.close();
	}
});
