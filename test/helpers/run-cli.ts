// The CLI as a child process, as a user runs it: exit code, stdout and stderr, signals, kill -9.
// Runs the TypeScript sources through tsx (cli-entry.ts), so no build is needed.
import {spawn, type ChildProcess} from 'node:child_process';
import {mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import type {TestContext} from 'node:test';

export const REPO = path.resolve(import.meta.dirname, '../..');
const ENTRY = path.join(REPO, 'test/helpers/cli-entry.ts');
// Resolved here, not by the child: its cwd (a temp project) has no node_modules/tsx.
const TSX = import.meta.resolve('tsx');

export interface CliResult {
	readonly code: number | null;
	readonly signal: NodeJS.Signals | null;
	readonly stdout: string;
	readonly stderr: string;
}

export interface CliOptions {
	readonly cwd?: string;
	/** Added to a clean environment (PATH, HOME and a test CRAWLJAR_SECRET). */
	readonly env?: Readonly<Record<string, string>>;
	/** Kill -9 the child after this long (a hung CLI must not hang the suite). @default 60_000 */
	readonly timeoutMs?: number;
}

export interface CliProcess {
	readonly child: ChildProcess;
	/** Output so far. */
	stdout(): string;
	stderr(): string;
	readonly exited: Promise<CliResult>;
	/** Resolves when stdout+stderr match, or rejects when the process exits first. */
	waitFor(pattern: RegExp): Promise<void>;
}

export function spawnCli(args: readonly string[], options: CliOptions = {}): CliProcess {
	const child = spawn(process.execPath, ['--import', TSX, ENTRY, ...args], {
		cwd: options.cwd ?? REPO,
		env: {
			PATH: process.env.PATH ?? '',
			HOME: process.env.HOME ?? tmpdir(),
			CRAWLJAR_SECRET: 'crawljar-test-secret',
			...options.env,
		},
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	let stdout = '';
	let stderr = '';
	const watchers = new Set<() => void>();
	child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
		stdout += chunk;
		for (const watcher of watchers) watcher();
	});
	child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
		stderr += chunk;
		for (const watcher of watchers) watcher();
	});
	const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
	const exited = new Promise<CliResult>((resolve) => {
		child.on('close', (code, signal) => {
			clearTimeout(timer);
			resolve({code, signal, stdout, stderr});
		});
	});
	return {
		child,
		stdout: () => stdout,
		stderr: () => stderr,
		exited,
		waitFor(pattern) {
			return new Promise<void>((resolve, reject) => {
				const check = () => {
					if (!pattern.test(stdout + stderr)) return;
					watchers.delete(check);
					resolve();
				};
				watchers.add(check);
				check();
				void exited.then(() => {
					if (!watchers.has(check)) return;
					watchers.delete(check);
					reject(new Error(`exited before output matched ${pattern}:\n${stdout}\n${stderr}`));
				});
			});
		},
	};
}

/** Polls until `condition` holds; fails at once if the CLI child exits first, or after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, what: string, cli: CliProcess, timeoutMs = 30_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	let hasExited = false;
	void cli.exited.then(() => (hasExited = true));
	while (!condition()) {
		if (hasExited || Date.now() > deadline) {
			throw new Error(`${hasExited ? 'exited' : 'timed out'} waiting for ${what}:\n${cli.stdout()}\n${cli.stderr()}`);
		}
		await new Promise((resolve) => setTimeout(resolve, 5));
	}
}

export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
	return spawnCli(args, options).exited;
}

export interface TempProject {
	readonly dir: string;
	/** `<dir>/storage`, passed to the CLI through CRAWLJAR_STORAGE by `env`. */
	readonly storage: string;
	readonly env: Record<string, string>;
	/** Writes a file under the project; returns its absolute path. */
	write(relative: string, source: string): string;
}

export interface TempProjectOptions {
	/** The project's package.json; `false` for none. @default {type: 'module'} */
	readonly packageJson?: Record<string, unknown> | false;
}

/**
 * A folder outside the repository with crawljar linked into its node_modules (as `npm link`
 * would), so crawler files there can `import … from 'crawljar'`. Removed when the test ends.
 */
export function tempProject(t: TestContext, options: TempProjectOptions = {}): TempProject {
	const dir = mkdtempSync(path.join(tmpdir(), 'crawljar-cli-'));
	t.after(() => rmSync(dir, {recursive: true, force: true}));
	mkdirSync(path.join(dir, 'node_modules'));
	symlinkSync(REPO, path.join(dir, 'node_modules', 'crawljar'), 'dir');
	const packageJson = options.packageJson ?? {name: 'my-crawlers', private: true, type: 'module'};
	if (packageJson) writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(packageJson, null, 2)}\n`);
	const storage = path.join(dir, 'storage');
	return {
		dir,
		storage,
		env: {CRAWLJAR_STORAGE: storage},
		write(relative, source) {
			const file = path.join(dir, relative);
			mkdirSync(path.dirname(file), {recursive: true});
			writeFileSync(file, source);
			return file;
		},
	};
}
