// The CLI around a run (issue 2): exit codes (failed requests are not fatal; an unusable
// storage folder is exit 2), the end summary printed and stored (`stats --json`), `failed`,
// `list`, and `--help` on every command.
import assert from 'node:assert/strict';
import {writeFileSync} from 'node:fs';
import path from 'node:path';
import {Writable} from 'node:stream';
import {test} from 'node:test';
import {main} from '../../src/cli/main.js';
import type {CliIo} from '../../src/cli/io.js';
import {runCli, tempProject} from '../helpers/run-cli.js';
import {startServer} from '../sites/start-server.js';

const crawlerSource = `import {defineCrawler} from 'crawljar';
export default defineCrawler({
	name: 'shop',
	startUrls: [process.env.SITE_URL + '/'],
	useHeaderGenerator: false,
	retry: {maxRetries: 1, backoff: {baseMs: 10, capMs: 20}},
	routes: {
		default: async ({enqueue}) => void (await enqueue({selector: 'a', label: 'product'})),
		product: async ({request, $, push}) => {
			if (request.url.endsWith('/broken')) throw new Error('no price on this page');
			await push({url: request.url, name: $('h1').text()});
		},
	},
});
`;

test('crawljar run: a failing handler is reported, not fatal (exit 0); the summary is printed and stored; failed and list show it', async (t) => {
	const server = await startServer(t, (request, response) => {
		response.setHeader('content-type', 'text/html');
		if (request.url === '/') return response.end('<a href="/p/1">1</a><a href="/p/2">2</a><a href="/p/broken">x</a>');
		response.end(`<h1>${request.url}</h1>`);
	});
	const project = tempProject(t);
	project.write('crawlers/shop.ts', crawlerSource);
	const env = {...project.env, SITE_URL: server.url};

	const run = await runCli(['run', 'shop'], {cwd: project.dir, env});
	assert.equal(run.code, 0, run.stderr);
	assert.match(run.stdout, /^Run 1 of shop finished$/m);
	assert.match(run.stdout, /^ {2}requests +3 done, 1 failed, 1 retried$/m);
	assert.match(run.stdout, /^ {2}items +2$/m);
	assert.match(run.stdout, /^ {2}duration +\S+/m);
	assert.match(run.stdout, /^ {2}rate +[\d.]+ pages\/s$/m);
	assert.match(run.stdout, /ERR_HANDLER +1 +http:\/\/127\.0\.0\.1:\d+\/p\/broken/);
	assert.match(run.stderr, /results: .*shop\.sqlite/);
	assert.match(run.stderr, /export: +crawljar export shop --format csv/);

	const cli = (args: string[]) => runCli(args, {cwd: project.dir, env});
	const [stats, failed, list] = await Promise.all([cli(['stats', 'shop', '--json']), cli(['failed', 'shop', '--json']), cli(['list'])]);

	assert.equal(stats.code, 0, stats.stderr);
	const summary = JSON.parse(stats.stdout) as Record<string, unknown>;
	assert.equal(summary.runId, 1);
	assert.equal(summary.state, 'finished');
	assert.deepEqual(summary.requests, {done: 3, failed: 1, retried: 1});
	assert.equal(summary.items, 2);
	assert.equal(typeof summary.durationMs, 'number');
	assert.equal(typeof summary.pagesPerSecond, 'number');
	assert.deepEqual((summary.topErrors as {code: string; count: number}[]).map(({code, count}) => [code, count]), [['ERR_HANDLER', 1]]);

	assert.equal(failed.code, 0, failed.stderr);
	const rows = failed.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
	assert.equal(rows.length, 1);
	assert.equal(rows[0]!.url, `${server.url}/p/broken`);
	assert.equal(rows[0]!.errorCode, 'ERR_HANDLER');
	assert.equal(rows[0]!.retryCount, 1);
	assert.match(String(rows[0]!.error), /no price on this page/);

	assert.equal(list.code, 0, list.stderr);
	assert.match(list.stdout, /^shop +crawlers\/shop\.ts +#1 \S+ \S+ +finished +2 *$/m);
});

test('crawljar run: a storage folder that cannot be created exits 2 with a clear message', async (t) => {
	const project = tempProject(t);
	const file = project.write('crawlers/shop.ts', crawlerSource);
	// A path under a regular file fails for root too (unlike chmod).
	const blocker = path.join(project.dir, 'not-a-folder');
	writeFileSync(blocker, 'x');
	const storage = path.join(blocker, 'storage');
	const [byFlag, byEnv] = await Promise.all([
		runCli(['run', file, '--storage', storage], {cwd: project.dir, env: {SITE_URL: 'http://127.0.0.1:9'}}),
		runCli(['run', file], {cwd: project.dir, env: {SITE_URL: 'http://127.0.0.1:9', CRAWLJAR_STORAGE: storage}}),
	]);
	for (const result of [byFlag, byEnv]) {
		assert.equal(result.code, 2, result.stderr);
		assert.match(result.stderr, new RegExp(`Cannot create the storage folder ${blocker.replaceAll('/', '\\/')}`));
		assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
	}
});

/** Runs main() in-process with captured output: the same dispatch the binary does. */
async function mainOutput(argv: string[]): Promise<{code: number; stdout: string; stderr: string}> {
	let stdout = '';
	let stderr = '';
	const sink = (append: (chunk: string) => void) =>
		new Writable({
			write(chunk: Buffer, _encoding, callback) {
				append(chunk.toString());
				callback();
			},
		});
	const io: CliIo = {
		stdout: sink((chunk) => (stdout += chunk)),
		stderr: sink((chunk) => (stderr += chunk)),
		env: {CRAWLJAR_SECRET: 'crawljar-test-secret'},
		cwd: process.cwd(),
	};
	const code = await main(argv, io);
	return {code, stdout, stderr};
}

test('--help on every command exits 0 with its usage', async () => {
	const overview = await mainOutput(['--help']);
	assert.equal(overview.code, 0);
	const commands = [...overview.stdout.matchAll(/^ {2}(\w+) {2,}/gm)].map((match) => match[1]!);
	assert.deepEqual(commands, ['run', 'export', 'list', 'failed', 'stats', 'sessions', 'fetch', 'schedule', 'status']);
	for (const command of commands) {
		for (const flag of ['--help', '-h']) {
			const help = await mainOutput([command, flag]);
			assert.equal(help.code, 0, `${command} ${flag}`);
			assert.match(help.stdout, new RegExp(`^usage: crawljar ${command}\\b`), `${command} ${flag}`);
			assert.equal(help.stderr, '');
		}
	}
	const runHelp = await mainOutput(['run', '--help']);
	for (const flag of ['--storage', '--fresh', '--concurrency', '--max-requests']) assert.match(runHelp.stdout, new RegExp(flag));
	const exportHelp = await mainOutput(['export', '--help']);
	for (const flag of ['--format', '--out', '--storage']) assert.match(exportHelp.stdout, new RegExp(flag));

	const none = await mainOutput([]);
	assert.equal(none.code, 2, 'no command is bad usage');
	assert.match(none.stdout, /usage: crawljar <command>/);
	const unknown = await mainOutput(['crawl']);
	assert.equal(unknown.code, 2);
	assert.match(unknown.stderr, /unknown command 'crawl'/);
	const badFlag = await mainOutput(['run', 'x.ts', '--concurrency', 'many']);
	assert.equal(badFlag.code, 2);
	assert.match(badFlag.stderr, /--concurrency expects a positive integer/);
});

test('the CLI binary: --help and list as child processes', async (t) => {
	const project = tempProject(t);
	project.write('crawlers/shop.ts', crawlerSource);
	const [help, list, empty] = await Promise.all([
		runCli(['run', '--help'], {cwd: project.dir}),
		runCli(['list'], {cwd: project.dir, env: {...project.env, SITE_URL: 'http://127.0.0.1:9'}}),
		runCli(['list'], {cwd: path.join(project.dir, 'node_modules'), env: project.env}),
	]);
	assert.equal(help.code, 0);
	assert.match(help.stdout, /^usage: crawljar run <file\|name>/);
	assert.equal(list.code, 0, list.stderr);
	assert.match(list.stdout, /^shop +crawlers\/shop\.ts +never/m);
	assert.equal(empty.code, 0, empty.stderr);
	assert.match(empty.stdout, /no crawlers in .*crawlers and no data in/);
});

test('crawljar run reads .env from the current folder; variables already set in the environment win', async (t) => {
	const seen: string[] = [];
	const server = await startServer(t, (request, response) => {
		seen.push(String(request.headers['x-token']));
		response.setHeader('content-type', 'text/html');
		response.end('<h1>ok</h1>');
	});
	const project = tempProject(t);
	project.write(
		'crawlers/envy.ts',
		`import {defineCrawler} from 'crawljar';
export default defineCrawler({
	name: 'envy',
	startUrls: [process.env.SITE_URL + '/'],
	headers: {'x-token': process.env.FROM_DOTENV + '/' + process.env.BOTH},
	routes: {default: async () => {}},
});
`,
	);
	project.write('.env', 'FROM_DOTENV=dotenv-value\nBOTH=from-file\n');
	const run = await runCli(['run', 'envy'], {cwd: project.dir, env: {...project.env, SITE_URL: server.url, BOTH: 'from-env'}});
	assert.equal(run.code, 0, run.stderr);
	assert.deepEqual(seen, ['dotenv-value/from-env']);
});
