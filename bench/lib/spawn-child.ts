// Runs one bench script in a child process and returns its RESULT_MARKER line, parsed.
import {spawn} from 'node:child_process';
import {fileURLToPath} from 'node:url';
import {RESULT_MARKER} from './types.js';

export const repoDir = fileURLToPath(new URL('../../', import.meta.url));

export interface ChildOptions {
	/** Extra node flags (e.g. --cpu-prof). */
	readonly nodeFlags?: readonly string[];
	readonly env?: Record<string, string>;
	/** Kill the child after this long. @default 600_000 */
	readonly timeoutMs?: number;
}

export function runChild<T>(script: string, args: readonly string[], options: ChildOptions = {}): Promise<T> {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, [...(options.nodeFlags ?? []), '--import', 'tsx', script, ...args], {
			cwd: repoDir,
			env: {...process.env, ...options.env},
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		let stdout = '';
		let stderr = '';
		child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
		child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
		const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
		child.once('exit', (code, signal) => {
			clearTimeout(timer);
			const line = stdout.split('\n').findLast((each) => each.startsWith(RESULT_MARKER));
			if (code === 0 && line) resolve(JSON.parse(line.slice(RESULT_MARKER.length)) as T);
			else reject(new Error(`${script} ${args.join(' ').slice(0, 200)}: exit ${code ?? signal}\n${stderr.trim()}`));
		});
	});
}
