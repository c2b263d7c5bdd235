import path from 'node:path';
import {resolveCrawler} from '../../job/load.js';
import {createProgressReporter} from '../../output/progress.js';
import {formatSummary} from '../../output/summary.js';
import {runCrawler} from '../../runner/run-crawler.js';
import {createLogger, storageDirOf, type CliIo} from '../io.js';
import {parseCommand, positiveInt, type Command} from '../usage.js';
import {CrawljarError} from '../../errors.js';

export const runCommand: Command = {
	name: 'run',
	summary: 'Crawl: resumes the unfinished run of this crawler, else starts a new one.',
	usage: 'crawljar run <file|name> [--storage DIR] [--fresh] [--retry-failed] [--concurrency N] [--max-requests N]',
	flags: {
		storage: {type: 'string'},
		fresh: {type: 'boolean'},
		'retry-failed': {type: 'boolean'},
		concurrency: {type: 'string'},
		'max-requests': {type: 'string'},
	},
	help: `
<file|name>         a crawler file (.ts/.js, anywhere), or the name of one in ./crawlers/
--storage DIR       data folder (default: $CRAWLJAR_STORAGE or ./storage)
--fresh             start a new run even if the last one is unfinished (logged-in sessions are kept)
--retry-failed      put the last run's failed requests back in the queue and continue that run
--concurrency N     requests in flight in total (default: the definition's, else 10)
--max-requests N    stop after N requests in this run (resumable)

Ctrl-C stops gracefully (in-flight requests finish, up to 10 s) and exits 130; a second Ctrl-C
exits at once. Nothing is lost either way: run the same command again to resume.
Exit codes: 0 finished (failed requests are reported, not fatal), 1 aborted (e.g. NO_USABLE_SESSION),
2 bad usage or invalid definition, 130/143 stopped by SIGINT/SIGTERM.`,
};

export async function run(argv: readonly string[], io: CliIo): Promise<number> {
	const {values, positionals} = parseCommand(runCommand, argv);
	const reference = positionals[0];
	if (!reference || positionals.length > 1) throw new CrawljarError('ERR_USAGE', `usage: ${runCommand.usage}`);
	const concurrency = positiveInt(values.concurrency as string | undefined, '--concurrency');
	const maxRequests = positiveInt(values['max-requests'] as string | undefined, '--max-requests');
	const storageDir = storageDirOf(values.storage as string | undefined, io);
	const {definition} = await resolveCrawler(reference, path.join(io.cwd, 'crawlers'));

	const reporter = createProgressReporter({stream: io.stderr});
	const log = createLogger((line) => reporter.log(line));
	const graceful = new AbortController();
	const force = new AbortController();
	let signalName: NodeJS.Signals | undefined;
	const onSignal = (signal: NodeJS.Signals) => {
		if (!signalName) {
			signalName = signal;
			log.info(`${signal}: stopping — in-flight requests finish, nothing is lost (press Ctrl-C again to exit at once)`);
			graceful.abort();
		} else {
			log.info(`${signal} again: exiting now; in-flight requests are retried on resume`);
			force.abort();
		}
	};
	process.on('SIGINT', onSignal);
	process.on('SIGTERM', onSignal);
	try {
		const summary = await runCrawler(definition, {
			storageDir,
			fresh: Boolean(values.fresh),
			retryFailed: Boolean(values['retry-failed']),
			...(concurrency ? {concurrency} : {}),
			...(maxRequests ? {maxRequests} : {}),
			signal: graceful.signal,
			forceSignal: force.signal,
			log,
			onProgress: (snapshot) => reporter.update(snapshot),
		});
		reporter.stop();
		io.stdout.write(`${formatSummary(summary)}\n`);
		const file = path.join(storageDir, `${definition.name}.sqlite`);
		if (signalName) {
			io.stderr.write(`stopped; resume with: crawljar run ${reference}${values.storage ? ` --storage ${storageDirOf(values.storage as string, io)}` : ''}\n`);
			const code = signalName === 'SIGTERM' ? 143 : 130;
			// Sockets of requests still in flight (after a second signal, or past the grace period)
			// would keep the process alive until they answer. Everything is persisted (they are
			// retried on resume), so end the process as soon as this command has returned.
			setImmediate(() => process.exit(code));
			return code;
		}
		if (summary.state === 'aborted') return 1;
		io.stderr.write(`results: ${file}\nexport:  crawljar export ${definition.name} --format csv --out ${definition.name}.csv${values.storage ? ` --storage ${values.storage as string}` : ''}\n`);
		return 0;
	} finally {
		reporter.stop();
		process.off('SIGINT', onSignal);
		process.off('SIGTERM', onSignal);
	}
}
