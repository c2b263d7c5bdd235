import path from 'node:path';
import {resolveCrawler} from '../../job/load.js';
import {createProgressReporter} from '../../output/progress.js';
import {formatSummary} from '../../output/summary.js';
import {runCrawler} from '../../runner/run-crawler.js';
import {createLogger, storeLocationOf, type CliIo} from '../io.js';
import {describeCrawlerStore, locationFlags} from '../../store/open-store.js';
import {runCommand} from './specs.js';
import {parseCommand, positiveInt} from '../usage.js';
import {CrawljarError} from '../../errors.js';


export async function run(argv: readonly string[], io: CliIo): Promise<number> {
	const {values, positionals} = parseCommand(runCommand, argv);
	const reference = positionals[0];
	if (!reference || positionals.length > 1) throw new CrawljarError('ERR_USAGE', `usage: ${runCommand.usage}`);
	const concurrency = positiveInt(values.concurrency as string | undefined, '--concurrency');
	const maxRequests = positiveInt(values['max-requests'] as string | undefined, '--max-requests');
	const location = storeLocationOf(values, io);
	const threads = threadsFlag(values.threads as string | undefined);
	const {definition, file} = await resolveCrawler(reference, path.join(io.cwd, 'crawlers'));

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
			...(location.kind === 'postgres' ? {storeUrl: location.url} : {storageDir: location.dir}),
			fresh: Boolean(values.fresh),
			retryFailed: Boolean(values['retry-failed']),
			...(concurrency ? {concurrency} : {}),
			...(maxRequests ? {maxRequests} : {}),
			...(threads === undefined ? {} : {threads}),
			definitionFile: file,
			signal: graceful.signal,
			forceSignal: force.signal,
			log,
			onProgress: (snapshot) => reporter.update(snapshot),
		});
		reporter.stop();
		io.stdout.write(`${formatSummary(summary)}\n`);
		if (signalName) {
			io.stderr.write(`stopped; resume with: crawljar run ${reference}${locationFlags(values)}\n`);
			const code = signalName === 'SIGTERM' ? 143 : 130;
			// Sockets of requests still in flight (after a second signal, or past the grace period)
			// would keep the process alive until they answer. Everything is persisted (they are
			// retried on resume), so end the process as soon as this command has returned.
			setImmediate(() => process.exit(code));
			return code;
		}
		if (summary.state === 'aborted') return 1;
		io.stderr.write(
			`results: ${describeCrawlerStore(location, definition.name)}\nexport:  crawljar export ${definition.name} --format csv --out ${definition.name}.csv${locationFlags(values)}\n`,
		);
		return 0;
	} finally {
		reporter.stop();
		process.off('SIGINT', onSignal);
		process.off('SIGTERM', onSignal);
	}
}

function threadsFlag(value: string | undefined): number | 'auto' | undefined {
	if (value === undefined || value === 'auto') return value;
	if (!/^\d+$/.test(value)) throw new CrawljarError('ERR_USAGE', `--threads: expected a whole number or 'auto', got '${value}'`);
	return Number(value);
}
