// The CLI entry: dispatches to one command, maps errors to exit codes. The only place (with
// bin/) that knows about process exit codes; the core never calls process.exit.
import {existsSync} from 'node:fs';
import path from 'node:path';
import {describeError, isCrawljarError} from '../errors.js';
import {
	exportCommand,
	fetchCommand,
	failedCommand,
	listCommand,
	runCommand,
	scheduleCommand,
	sessionsCommand,
	statsCommand,
	statusCommand,
} from './commands/specs.js';
import {defaultIo, type CliIo} from './io.js';
import {helpText, type Command} from './usage.js';

type Handler = (argv: readonly string[], io: CliIo) => Promise<number>;

// Handlers load on use: `crawljar --help` should not pay for got-scraping and SQLite.
const commands: ReadonlyArray<readonly [Command, () => Promise<Handler>]> = [
	[runCommand, async () => (await import('./commands/run.js')).run],
	[exportCommand, async () => (await import('./commands/export.js')).exportResults],
	[listCommand, async () => (await import('./commands/inspect.js')).list],
	[failedCommand, async () => (await import('./commands/inspect.js')).failed],
	[statsCommand, async () => (await import('./commands/inspect.js')).stats],
	[sessionsCommand, async () => (await import('./commands/sessions.js')).sessions],
	[fetchCommand, async () => (await import('./commands/fetch.js')).fetchUrl],
	[scheduleCommand, async () => (await import('./commands/schedule.js')).schedule],
	[statusCommand, async () => (await import('./commands/schedule.js')).status],
];

function overview(): string {
	const width = Math.max(...commands.map(([command]) => command.name.length));
	const lines = commands.map(([command]) => `  ${command.name.padEnd(width)}  ${command.summary}`);
	return `crawljar — sessioned crawl jobs\n\nusage: crawljar <command> [options]\n\n${lines.join('\n')}\n\nRun 'crawljar <command> --help' for a command's options.\n`;
}

/** Credentials usually live in `.env`: read it (variables already set win), as the demo documents. */
function loadDotEnv(io: CliIo): void {
	const file = path.join(io.cwd, '.env');
	if (io.env === process.env && existsSync(file)) process.loadEnvFile(file);
}

/** Exit codes that are usage problems, not run failures. */
const USAGE_CODES = new Set(['ERR_USAGE', 'ERR_DEFINITION', 'ERR_STORAGE', 'ERR_LOCKED', 'ERR_SCHEDULE', 'ERR_NO_BROWSER']);

export async function main(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
	const [name, ...rest] = argv;
	if (!name || name === '--help' || name === '-h' || name === 'help') {
		io.stdout.write(overview());
		return name ? 0 : 2;
	}
	if (name === '--version' || name === '-v') {
		const {createRequire} = await import('node:module');
		io.stdout.write(`${(createRequire(import.meta.url)('../../package.json') as {version: string}).version}\n`);
		return 0;
	}
	const entry = commands.find(([command]) => command.name === name);
	if (!entry) {
		io.stderr.write(`crawljar: unknown command '${name}'\n\n${overview()}`);
		return 2;
	}
	const [command, loadHandler] = entry;
	if (rest.includes('--help') || rest.includes('-h')) {
		io.stdout.write(helpText(command));
		return 0;
	}
	try {
		loadDotEnv(io);
		return await (await loadHandler())(rest, io);
	} catch (error) {
		const {code, message} = describeError(error);
		io.stderr.write(`crawljar ${name}: ${message}${isCrawljarError(error) ? '' : ` (${code})`}\n`);
		return isCrawljarError(error) && USAGE_CODES.has(error.code) ? 2 : 1;
	}
}
