// Issue 10 item 3 across processes: two worker processes on one PostgreSQL schema start at once
// on a fresh session. The login lock and the version in the store make one of them log in and
// the other load its result: one login in total. With a wrong password, one POST in total.
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import path from 'node:path';
import {describe, test} from 'node:test';
import {fileURLToPath} from 'node:url';
import {pgUrl, skipWithoutPostgres, uniqueName, dropSchemas} from '../store/pg-helpers.js';
import {demoSite, sleep} from './helpers.js';
import {KEY} from './shared-pools.js';

const worker = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/shared-pool-worker.ts');

interface WorkerReport {
	readonly statuses: number[];
	readonly error: string | undefined;
	/** Logins this process did. */
	readonly logins: number;
}

function startWorker(env: Record<string, string>): {ready: Promise<void>; go(): void; report: Promise<WorkerReport>} {
	const child = spawn(process.execPath, ['--import', 'tsx', worker], {env: {...process.env, ...env}, stdio: ['pipe', 'pipe', 'pipe']});
	let stdout = '';
	let stderr = '';
	child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
	child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
	const report = new Promise<WorkerReport>((resolve, reject) => {
		child.on('exit', (code) => {
			try {
				resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as WorkerReport);
			} catch {
				reject(new Error(`worker exited ${code}: ${stdout}\n${stderr}`));
			}
		});
	});
	return {
		// tsx start-up and pool.init() take a while: give both processes time to be ready.
		ready: sleep(3_000),
		go: () => child.stdin.end('go\n'),
		report,
	};
}

describe('shared sessions across 2 worker processes on PostgreSQL', {skip: skipWithoutPostgres}, () => {
	for (const [title, password, expectLogins, expectFailures] of [
		['fresh session, both start at once: one login in total, both fetch pages', 'demo-password', 1, 0],
		['wrong password, both start at once: posted once in total', 'not-the-Pa55word', 0, 1],
	] as const) {
		test(title, async (t) => {
			const site = await demoSite(t, {books: 5});
			const schema = uniqueName('crawljar_procs');
			t.after(() => dropSchemas([schema]));
			const env = {SITE_URL: site.url, PG_URL: pgUrl, PG_SCHEMA: schema, DEMO_PASSWORD: password, SESSION_KEY: KEY.toString('hex')};
			const workers = [startWorker(env), startWorker(env)];
			await Promise.all(workers.map((child) => child.ready));
			for (const child of workers) child.go();
			const reports = await Promise.all(workers.map((child) => child.report));
			assert.equal(site.stats.loginSuccess, expectLogins, JSON.stringify(reports));
			assert.equal(site.stats.loginFailure, expectFailures, JSON.stringify(reports));
			if (expectLogins === 1) {
				for (const report of reports) assert.deepEqual(report.statuses, [200, 200, 200], JSON.stringify(report));
				assert.deepEqual(reports.map((report) => report.logins).sort(), [0, 1], 'one process logged in, the other loaded its session');
			} else {
				for (const report of reports) assert.match(report.error ?? '', /LOGIN_FAILED/);
				for (const report of reports) assert.doesNotMatch(report.error ?? '', /not-the-Pa55word/);
			}
		});
	}
});
