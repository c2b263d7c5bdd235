// The target site in its own process, so its CPU is not charged to the crawler under test.
import {spawn} from 'node:child_process';
import {existsSync} from 'node:fs';
import {fileURLToPath} from 'node:url';
import {createInterface} from 'node:readline';

export interface SiteProcess {
	readonly url: string;
	readonly pid: number;
	stop(): Promise<void>;
}

const repo = fileURLToPath(new URL('../../', import.meta.url));

export async function startSiteProcess(options: {books: number; pageBytes: number}): Promise<SiteProcess> {
	const serve = existsSync(`${repo}demo/site/serve.ts`) ? 'demo/site/serve.ts' : 'bench/lib/serve-site.ts';
	const child = spawn(process.execPath, ['--import', 'tsx', serve, '--books', String(options.books), '--page-bytes', String(options.pageBytes)], {
		cwd: repo,
		stdio: ['ignore', 'pipe', 'inherit'],
	});
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
	const url = await new Promise<string>((resolve, reject) => {
		const lines = createInterface({input: child.stdout});
		lines.once('line', (line) => {
			try {
				resolve((JSON.parse(line) as {url: string}).url);
			} catch {
				reject(new Error(`${serve}: expected a JSON line with the url, got: ${line}`));
			}
		});
		child.once('exit', (code) => reject(new Error(`${serve} exited (${code}) before listening`)));
	});
	return {
		url,
		pid: child.pid!,
		async stop() {
			if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
			await exited;
		},
	};
}
