// `crawljar schedule` (long-running: fires each crawler on its cron) and `crawljar status`.
import path from 'node:path';
import {existsSync, statSync} from 'node:fs';
import {CrawljarError} from '../../errors.js';
import {listCrawlerFiles, loadCrawlerFile, type LoadedCrawler} from '../../job/load.js';
import {formatDuration, formatTable, type RunSummary} from '../../output/summary.js';
import {formatWorkers} from '../../output/workers-table.js';
import {runCrawler} from '../../runner/run-crawler.js';
import {FireTimes} from '../../scheduler/fire-times.js';
import {normalizeSchedule} from '../../scheduler/schedule-options.js';
import {Scheduler} from '../../scheduler/scheduler.js';
import {StoreRunHolds, storeLastFire} from '../../scheduler/store-claims.js';
import {openStore, storeExists, type StoreLocation} from '../../store/open-store.js';
import type {Store} from '../../store/store.js';
import {createLogger, storeLocationOf, type CliIo} from '../io.js';
import {scheduleCommand, statusCommand} from './specs.js';
import {parseCommand, positiveInt} from '../usage.js';

async function loadScheduled(targets: readonly string[], io: CliIo): Promise<LoadedCrawler[]> {
	const files: string[] = [];
	const searched = targets.length ? targets : [path.join(io.cwd, 'crawlers')];
	for (const target of searched) {
		if (existsSync(target) && statSync(target).isDirectory()) files.push(...listCrawlerFiles(target));
		else files.push(target);
	}
	const loaded: LoadedCrawler[] = [];
	for (const file of files) loaded.push(await loadCrawlerFile(file));
	const scheduled = loaded.filter((crawler) => crawler.definition.schedule !== undefined);
	if (scheduled.length === 0) {
		const where = searched.map((target) => path.relative(io.cwd, path.resolve(target)) || '.').join(', ');
		const found = files.length ? `${files.map((file) => path.basename(file)).join(', ')} declare${files.length === 1 ? 's' : ''} no schedule` : 'no crawler files there';
		throw new CrawljarError('ERR_USAGE', `no crawler with a \`schedule\` in ${where} (${found})`);
	}
	return scheduled;
}

export async function schedule(argv: readonly string[], io: CliIo): Promise<number> {
	const {values, positionals} = parseCommand(scheduleCommand, argv);
	const location = storeLocationOf(values, io);
	const crawlers = await loadScheduled(positionals, io);
	const byName = new Map(crawlers.map((crawler) => [crawler.definition.name, crawler]));
	const scheduled = crawlers.map(({definition}) => ({name: definition.name, schedule: normalizeSchedule(definition.schedule!)}));

	if (values.list) {
		for (const {name, schedule: entry} of scheduled) {
			const fires = new FireTimes(name, entry).upcoming(Date.now(), 5);
			io.stdout.write(`${name}  ${entry.cron}${entry.timezone ? ` (${entry.timezone})` : ''}  overlap=${entry.overlap} catchUp=${entry.catchUp}\n`);
			for (const fire of fires) io.stdout.write(`  ${fire.toISOString()}\n`);
		}
		return 0;
	}

	const log = createLogger((line) => io.stderr.write(`${line}\n`));
	const graceful = new AbortController();
	const force = new AbortController();
	// One handle per crawler for the scheduler's own claims and holds, open while it runs: other
	// `crawljar schedule` processes on the same store claim against the same rows.
	const stores = new Map<string, Store>();
	const storeFor = (name: string): Store => {
		let store = stores.get(name);
		if (!store) stores.set(name, (store = openStore(location, name)));
		return store;
	};
	const timers = {
		now: Date.now,
		setTimer: (fn: () => void, ms: number) => setTimeout(fn, ms),
		clearTimer: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
	};
	const scheduler = new Scheduler(
		scheduled,
		{
			...timers,
			log: (line) => log.info(line),
			run: async (name) =>
				runCrawler(byName.get(name)!.definition, {
					definitionFile: byName.get(name)!.file,
					...(location.kind === 'postgres' ? {storeUrl: location.url} : {storageDir: location.dir}),
					signal: graceful.signal,
					forceSignal: force.signal,
					log: {info: (m) => log.info(`[${name}] ${m}`), warn: (m) => log.warn(`[${name}] ${m}`), error: (m) => log.error(`[${name}] ${m}`)},
				}),
			lastFire: storeLastFire(storeFor),
			runHolds: new StoreRunHolds(storeFor, timers, {log: (line) => log.warn(line)}),
		},
		{maxParallel: positiveInt(values['max-parallel'] as string | undefined, '--max-parallel') ?? 2},
	);
	let signalName: NodeJS.Signals | undefined;
	const onSignal = (signal: NodeJS.Signals) => {
		if (signalName) {
			force.abort();
			return;
		}
		signalName = signal;
		log.info(`${signal}: no more fires; stopping running crawls gracefully (Ctrl-C again to exit at once)`);
		graceful.abort();
		void scheduler.stop().then(resolveStopped);
	};
	let resolveStopped!: () => void;
	const stopped = new Promise<void>((resolve) => {
		resolveStopped = resolve;
	});
	process.on('SIGINT', onSignal);
	process.on('SIGTERM', onSignal);
	try {
		await scheduler.start();
		for (const {name} of scheduled) log.info(`scheduled ${name}: next fire ${scheduler.nextFires(name, 1)[0]?.toISOString() ?? 'never'}`);
		await stopped;
	} finally {
		process.off('SIGINT', onSignal);
		process.off('SIGTERM', onSignal);
		await Promise.all([...stores.values()].map(async (store) => store.close().catch(() => {})));
	}
	const code = signalName === 'SIGTERM' ? 143 : 130;
	// Sockets of requests abandoned by a second signal or after the grace period would keep the
	// process alive until they answer. Everything is persisted (retried on resume): end now.
	setImmediate(() => process.exit(code));
	return code;
}

async function withStore<T>(location: StoreLocation, name: string, action: (store: ReturnType<typeof openStore>) => Promise<T>): Promise<T> {
	const store = openStore(location, name);
	try {
		return await action(store);
	} finally {
		await store.close();
	}
}


export async function status(argv: readonly string[], io: CliIo): Promise<number> {
	const {values, positionals} = parseCommand(statusCommand, argv);
	const location = storeLocationOf(values, io);
	const limit = positiveInt(values.runs as string | undefined, '--runs') ?? 5;
	const crawlers: LoadedCrawler[] = [];
	if (positionals[0] && (positionals[0].includes('/') || /\.(m?ts|m?js)$/.test(positionals[0]))) crawlers.push(await loadCrawlerFile(positionals[0]));
	else {
		for (const file of listCrawlerFiles(path.join(io.cwd, 'crawlers'))) {
			// One broken file must not hide the status of the others: name it and go on.
			try {
				crawlers.push(await loadCrawlerFile(file));
			} catch (error) {
				io.stderr.write(`skipping ${path.relative(io.cwd, file)}: ${(error as Error).message.split('\n')[0]}\n`);
			}
		}
	}
	const wanted = positionals[0] ? crawlers.filter((c) => c.definition.name === positionals[0] || c.file === path.resolve(positionals[0]!)) : crawlers;
	if (positionals[0] && wanted.length === 0) {
		if (!(await storeExists(location, positionals[0]))) throw new CrawljarError('ERR_USAGE', `unknown crawler '${positionals[0]}'`);
	}
	const names = wanted.length ? wanted.map((c) => c.definition.name) : [positionals[0]!];
	for (const name of names) {
		const definition = wanted.find((c) => c.definition.name === name)?.definition;
		const next = definition?.schedule ? new FireTimes(name, normalizeSchedule(definition.schedule)).upcoming(Date.now(), 1)[0] : undefined;
		io.stdout.write(`${name}${next ? `  next fire ${next.toISOString()}` : definition?.schedule ? '' : '  (no schedule)'}\n`);
		if (!(await storeExists(location, name))) {
			io.stdout.write('  never run\n');
			continue;
		}
		await withStore(location, name, async (store) => {
			const runs = await store.listRuns(limit);
			if (runs.length === 0) {
				io.stdout.write('  never run\n');
				return;
			}
			const rows = runs.map((run) => {
				const summary = run.summary as Partial<RunSummary> | undefined;
				return {
					run: run.id,
					state: run.state,
					started: new Date(run.startedAt).toISOString().slice(0, 19).replace('T', ' '),
					duration: run.finishedAt ? formatDuration(run.finishedAt - run.startedAt) : '',
					pages: summary?.requests?.done ?? '',
					items: summary?.items ?? '',
					failed: summary?.requests?.failed ?? '',
				};
			});
			io.stdout.write(`${formatTable(rows).replace(/^/gm, '  ')}\n`);
			const workers = await store.listWorkers(runs[0]!.id);
			if (workers.length > 0) io.stdout.write(`  workers of run ${runs[0]!.id}:\n${formatWorkers(workers, Date.now()).replace(/^/gm, '    ')}\n`);
		});
	}
	return 0;
}
