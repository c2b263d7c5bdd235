// Issue 6 item 3: `crawljar run` on a crawl killed with SIGKILL midway; time from spawning the
// resuming process to the first request the site sees. The site runs in this (otherwise idle)
// process because its request log, with arrival times, is what is measured against.
import {spawn, type ChildProcess} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {startDemoSite} from '../demo/site/index.js';
import {openStore} from '../src/store/open-store.js';
import {repoDir} from './lib/spawn-child.js';

export interface ResumeResult {
	readonly books: number;
	/** Book pages the site had served when the first run was killed. */
	readonly killedAfterBooks: number;
	/** Spawn of the resuming `crawljar run` to the first request it sent (as logged by the site). */
	readonly spawnToFirstRequestMs: number;
	/** The first request after the resume was a page, not a login (the session was reused). */
	readonly firstRequestPath: string;
	readonly resumedExitCode: number | null;
	/** Items in the run after resuming: exactly-once means exactly `books`. */
	readonly items: number;
}

export async function measureResume(options: {books: number; pageBytes: number; concurrency: number}): Promise<ResumeResult> {
	const site = await startDemoSite({books: options.books, pageBytes: options.pageBytes});
	const storageDir = mkdtempSync(path.join(tmpdir(), 'crawljar-bench-resume-'));
	// The CLI as installed (bin/crawljar.js on dist/, built by `npm run bench`).
	const args = ['bin/crawljar.js', 'run', 'bench/crawljar-definition.ts', '--storage', storageDir];
	const env = {
		...process.env,
		BENCH_SITE_URL: site.url,
		BENCH_CONCURRENCY: String(options.concurrency),
		CRAWLJAR_SECRET: randomBytes(32).toString('hex'),
	};
	try {
		const first = spawn(process.execPath, args, {cwd: repoDir, env, stdio: 'ignore'});
		const half = Math.floor(options.books / 2);
		await waitFor(() => site.stats.book >= half || first.exitCode !== null, 120_000);
		if (first.exitCode !== null) throw new Error(`the first crawljar run exited (${first.exitCode}) before it could be killed`);
		first.kill('SIGKILL');
		await exited(first);
		const killedAfterBooks = site.stats.book;

		const spawnedAt = Date.now();
		const logged = site.stats.log.length;
		const second = spawn(process.execPath, args, {cwd: repoDir, env, stdio: ['ignore', 'ignore', 'pipe']});
		let stderr = '';
		second.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
		await waitFor(() => site.stats.log.length > logged || second.exitCode !== null, 60_000);
		const firstRequest = site.stats.log[logged];
		if (!firstRequest) throw new Error(`the resumed run sent no request (exit ${second.exitCode}): ${stderr}`);
		const resumedExitCode = await exited(second);
		if (resumedExitCode !== 0) throw new Error(`the resumed run exited ${resumedExitCode}: ${stderr}`);

		const store = openStore(storageDir, 'bench-books');
		const run = await store.latestRun();
		const items = run ? await store.itemCount(run.id) : 0;
		await store.close();
		return {
			books: options.books,
			killedAfterBooks,
			spawnToFirstRequestMs: firstRequest.at - spawnedAt,
			firstRequestPath: `${firstRequest.method} ${firstRequest.path}`,
			resumedExitCode,
			items,
		};
	} finally {
		await site.close();
		rmSync(storageDir, {recursive: true, force: true});
	}
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
		// Short polls: the arrival time comes from the site's log, not from when we notice it.
		await new Promise((resolve) => setTimeout(resolve, 5));
	}
}

function exited(child: ChildProcess): Promise<number | null> {
	if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
	return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}
