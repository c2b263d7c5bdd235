// The store benchmark (`npm run bench -- --store`): N simulated workers, each a child process with
// its own PostgresStore handle (child processes, not worker threads: each worker's CPU is then a
// process's own, measured exactly, and the client work is spread over the cores as separate
// machines' workers would be), doing leaseAs → commitAs against one PostgreSQL on this machine.
// No HTTP. Each page commits 1 item and 10 links, 9 of them already in the frontier.
//
// Server CPU: utime + stime from /proc/<pid>/stat of the PostgreSQL backends serving the bench's
// connections (found by application_name in pg_stat_activity), sampled at the start and the end
// of the measured window. The WAL writer, checkpointer and autovacuum are not counted.
import {spawn, type ChildProcess} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {readFileSync} from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import {PostgresStore} from '../src/store/postgres/postgres-store.js';
import {repoDir} from './lib/spawn-child.js';
import {median, round, table} from './lib/stats.js';
import {RESULT_MARKER} from './lib/types.js';
import {freshLinksPerPage, linksPerPage, seededRequest, type StoreWorkerConfig, type StoreWorkerResult} from './lib/store-bench-shared.js';

export interface StoreBenchOptions {
	readonly url: string;
	readonly workers: readonly number[];
	readonly reps: number;
	readonly durationMs: number;
	readonly batch: number;
	readonly log: (line: string) => void;
}

export interface StoreRun {
	readonly workers: number;
	readonly rep: number;
	readonly pages: number;
	readonly refused: number;
	readonly pagesPerSecond: number;
	readonly workerCpuUsPerPage: number;
	readonly serverCpuUsPerPage: number;
	readonly loadAverage: readonly number[];
}

export interface StoreBenchResult {
	readonly date: string;
	readonly config: {readonly batch: number; readonly durationMs: number; readonly reps: number; readonly linksPerPage: number; readonly freshLinksPerPage: number; readonly seeded: number};
	readonly server: {readonly version: string; readonly serverCpuFrom: string};
	readonly loadAverageAtStart: readonly number[];
	readonly summary: Record<string, {pagesPerSecond: number; workerCpuUsPerPage: number; serverCpuUsPerPage: number}>;
	readonly target: {readonly target: string; readonly measured: number | null; readonly met: boolean | null};
	readonly runs: readonly StoreRun[];
}

/** Pending requests seeded per measurement: the frontier stays this size (each page adds one new link). */
const seeded = 20_000;
const clockTicksPerSecond = 100; // USER_HZ on Linux

export async function measureStore(options: StoreBenchOptions): Promise<StoreBenchResult> {
	const loadAverageAtStart = os.loadavg();
	const runs: StoreRun[] = [];
	for (let rep = 1; rep <= options.reps; rep++) {
		for (const workers of options.workers) {
			const run = await measureOnce(options, workers, rep);
			runs.push(run);
			options.log(
				`  store N=${String(workers).padStart(2)} #${rep} ${String(run.pagesPerSecond).padStart(7)} pages/s  worker ${run.workerCpuUsPerPage} µs/page  server ${run.serverCpuUsPerPage} µs/page  load ${run.loadAverage.map((each) => each.toFixed(1)).join(' ')}`,
			);
		}
	}
	const summary = Object.fromEntries(
		options.workers.map((workers) => {
			const mine = runs.filter((run) => run.workers === workers);
			return [
				String(workers),
				{
					pagesPerSecond: round(median(mine.map((run) => run.pagesPerSecond)), 0),
					workerCpuUsPerPage: round(median(mine.map((run) => run.workerCpuUsPerPage)), 0),
					serverCpuUsPerPage: round(median(mine.map((run) => run.serverCpuUsPerPage)), 0),
				},
			];
		}),
	);
	const at16 = summary['16']?.pagesPerSecond ?? null;
	return {
		date: new Date().toISOString(),
		config: {batch: options.batch, durationMs: options.durationMs, reps: options.reps, linksPerPage, freshLinksPerPage, seeded},
		server: {version: await serverVersion(options.url), serverCpuFrom: '/proc/<pid>/stat utime+stime of the bench connections\' backends (pg_stat_activity by application_name)'},
		loadAverageAtStart,
		summary,
		target: {target: '>= 3000 pages/s at N=16', measured: at16, met: at16 === null ? null : at16 >= 3000},
		runs,
	};
}

async function measureOnce(options: StoreBenchOptions, workers: number, rep: number): Promise<StoreRun> {
	const tag = randomBytes(4).toString('hex');
	const schema = `crawljar_store_bench_${tag}`;
	const application = `crawljar-store-bench-${tag}`;
	const url = withParams(options.url, {application_name: application, max: '1'});
	const seeder = PostgresStore.open({url: options.url, schema});
	const children: ChildProcess[] = [];
	try {
		const run = await seeder.createRun(Date.now());
		for (let offset = 0; offset < seeded; offset += 5000) {
			await seeder.addRequests(run.id, Array.from({length: 5000}, (_, index) => seededRequest(offset + index)));
		}
		const results: Promise<StoreWorkerResult>[] = [];
		const ready: Promise<void>[] = [];
		for (let worker = 0; worker < workers; worker++) {
			const config: StoreWorkerConfig = {url, schema, runId: run.id, worker, batch: options.batch, knownKeys: seeded};
			const child = spawn(process.execPath, ['--import', 'tsx', 'bench/store-bench-worker.ts', JSON.stringify(config)], {cwd: repoDir, stdio: ['pipe', 'pipe', 'pipe']});
			children.push(child);
			const {isReady, result} = watch(child, `worker ${worker}`);
			ready.push(isReady);
			results.push(result);
		}
		await Promise.all(ready);
		const backends = await backendPids(options.url, application);
		if (backends.length !== workers) throw new Error(`expected ${workers} backends of ${application}, found ${backends.length}`);
		const startAt = Date.now() + 300;
		const endAt = startAt + options.durationMs;
		for (const child of children) child.stdin!.end(`${JSON.stringify({startAt, endAt})}\n`);
		await sleepUntil(startAt);
		const serverBefore = cpuTicks(backends);
		await sleepUntil(endAt);
		const serverAfter = cpuTicks(backends);
		const loadAverage = os.loadavg();
		const done = await Promise.all(results);
		const pages = done.reduce((sum, each) => sum + each.pages, 0);
		const elapsedMs = median(done.map((each) => each.elapsedMs));
		const workerCpuMs = done.reduce((sum, each) => sum + each.cpuMs, 0);
		const serverCpuMs = ((serverAfter - serverBefore) * 1000) / clockTicksPerSecond;
		return {
			workers,
			rep,
			pages,
			refused: done.reduce((sum, each) => sum + each.refused, 0),
			pagesPerSecond: round((pages * 1000) / elapsedMs, 0),
			workerCpuUsPerPage: round((workerCpuMs * 1000) / Math.max(1, pages), 0),
			serverCpuUsPerPage: round((serverCpuMs * 1000) / Math.max(1, pages), 0),
			loadAverage,
		};
	} finally {
		for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
		await seeder.close();
		await dropSchema(options.url, schema);
	}
}

function watch(child: ChildProcess, name: string): {isReady: Promise<void>; result: Promise<StoreWorkerResult>} {
	let stdout = '';
	let stderr = '';
	let markReady!: () => void;
	const isReady = new Promise<void>((resolve) => (markReady = resolve));
	child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
		stdout += chunk;
		if (stdout.includes('READY\n')) markReady();
	});
	child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
	const result = new Promise<StoreWorkerResult>((resolve, reject) => {
		child.once('exit', (code, signal) => {
			const line = stdout.split('\n').findLast((each) => each.startsWith(RESULT_MARKER));
			if (code === 0 && line) resolve(JSON.parse(line.slice(RESULT_MARKER.length)) as StoreWorkerResult);
			else reject(new Error(`store bench ${name}: exit ${code ?? signal}\n${stderr.trim()}`));
		});
	});
	// A worker that dies before READY must fail the measurement, not hang it.
	return {isReady: Promise.race([isReady, result.then(() => {})]), result};
}

function withParams(url: string, params: Record<string, string>): string {
	const parsed = new URL(url);
	for (const [key, value] of Object.entries(params)) parsed.searchParams.set(key, value);
	return parsed.href;
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
	const client = new pg.Client({connectionString: url});
	await client.connect();
	try {
		return await work(client);
	} finally {
		await client.end();
	}
}

async function backendPids(url: string, application: string): Promise<number[]> {
	return withClient(url, async (client) => {
		const {rows} = await client.query<{pid: number}>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [application]);
		return rows.map((row) => row.pid);
	});
}

async function serverVersion(url: string): Promise<string> {
	return withClient(url, async (client) => (await client.query<{server_version: string}>('SHOW server_version')).rows[0]!.server_version);
}

async function dropSchema(url: string, schema: string): Promise<void> {
	await withClient(url, async (client) => client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`));
}

/** utime + stime (clock ticks) of these processes; fields 14 and 15 of /proc/<pid>/stat, after the ")" of the name. */
function cpuTicks(pids: readonly number[]): number {
	let ticks = 0;
	for (const pid of pids) {
		let stat: string;
		try {
			stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		} catch {
			continue; // the backend is gone (its connection dropped): its CPU is not counted
		}
		const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		ticks += Number(fields[11]) + Number(fields[12]);
	}
	return ticks;
}

async function sleepUntil(at: number): Promise<void> {
	await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
}

export function formatStoreBench(result: StoreBenchResult): string {
	const rows = Object.entries(result.summary).map(([workers, each]) => [
		`N=${workers}`,
		String(each.pagesPerSecond),
		String(each.workerCpuUsPerPage),
		String(each.serverCpuUsPerPage),
		String(each.workerCpuUsPerPage + each.serverCpuUsPerPage),
	]);
	return [
		`\nstore benchmark: PostgreSQL ${result.server.version}, leaseAs(${result.config.batch}) → commitAs(${result.config.batch} pages, 1 item + ${result.config.linksPerPage} links each, ${result.config.linksPerPage - result.config.freshLinksPerPage} known), ${result.config.durationMs / 1000} s windows, medians of ${result.config.reps}`,
		table(['workers', 'committed pages/s', 'worker CPU µs/page', 'server CPU µs/page', 'total µs/page'], rows),
		`load average at start: ${result.loadAverageAtStart.map((each) => each.toFixed(2)).join(' ')} (${os.cpus().length} cores)`,
		`target ${result.target.target}: ${result.target.measured ?? '-'} ${result.target.met === null ? 'n/a' : result.target.met ? 'met' : 'MISSED'}`,
	].join('\n');
}
