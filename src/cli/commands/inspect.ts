// Read-only commands over a crawler's store: list, failed, stats.
import path from 'node:path';
import {CrawljarError, redactUrl} from '../../errors.js';
import {listCrawlerFiles, loadCrawlerFile} from '../../job/load.js';
import {formatSummary, formatTable, type RunSummary} from '../../output/summary.js';
import {describeLocation, openStore, storedCrawlers, type StoreLocation} from '../../store/open-store.js';
import {latestRunOrThrow, openExistingStore} from '../crawler-store.js';
import {storeLocationOf, type CliIo} from '../io.js';
import {listCommand, failedCommand, statsCommand} from './specs.js';
import {parseCommand, positiveInt} from '../usage.js';


export async function list(argv: readonly string[], io: CliIo): Promise<number> {
	const {values, positionals} = parseCommand(listCommand, argv);
	const location = storeLocationOf(values, io);
	const stored = await storedCrawlers(location);
	const directory = positionals[0] ?? path.join(io.cwd, 'crawlers');
	const rows: Record<string, unknown>[] = [];
	const seen = new Set<string>();
	for (const file of listCrawlerFiles(directory)) {
		try {
			const {definition} = await loadCrawlerFile(file);
			seen.add(definition.name);
			rows.push({name: definition.name, file: path.relative(io.cwd, file), ...(await lastRunColumns(location, stored, definition.name))});
		} catch (error) {
			rows.push({name: '(invalid)', file: path.relative(io.cwd, file), 'last run': (error as Error).message.split('\n')[1]?.trim() ?? 'invalid'});
		}
	}
	for (const name of stored) {
		if (!seen.has(name)) rows.push({name, file: '', ...(await lastRunColumns(location, stored, name))});
	}
	io.stdout.write(rows.length ? `${formatTable(rows, ['name', 'file', 'last run', 'state', 'items'])}\n` : `no crawlers in ${directory} and no data in ${describeLocation(location)}\n`);
	return 0;
}

async function lastRunColumns(location: StoreLocation, stored: readonly string[], name: string): Promise<Record<string, unknown>> {
	if (!stored.includes(name)) return {'last run': 'never'};
	const store = openStore(location, name);
	try {
		const run = await store.latestRun();
		if (!run) return {'last run': 'never'};
		return {'last run': `#${run.id} ${new Date(run.startedAt).toISOString().slice(0, 19).replace('T', ' ')}`, state: run.state, items: await store.itemCount(run.id)};
	} finally {
		await store.close();
	}
}


export async function failed(argv: readonly string[], io: CliIo): Promise<number> {
	const {values, positionals} = parseCommand(failedCommand, argv);
	if (positionals.length !== 1) throw new CrawljarError('ERR_USAGE', `usage: ${failedCommand.usage}`);
	const {name, store} = await openExistingStore(positionals[0]!, storeLocationOf(values, io));
	try {
		const run = await latestRunOrThrow(store, name);
		const rows = await store.failedRequests(run.id, positiveInt(values.limit as string | undefined, '--limit') ?? 100);
		if (values.json) {
			for (const row of rows) io.stdout.write(`${JSON.stringify(row)}\n`);
		} else if (rows.length === 0) {
			io.stdout.write(`run ${run.id} of ${name} has no failed requests\n`);
		} else {
			const table = rows.map((row) => ({...row, url: redactUrl(row.url), attempts: row.retryCount + 1}));
			io.stdout.write(`${formatTable(table, ['url', 'status', 'errorCode', 'attempts', {key: 'error', maxWidth: 80}])}\n`);
		}
		return 0;
	} finally {
		await store.close();
	}
}


export async function stats(argv: readonly string[], io: CliIo): Promise<number> {
	const {values, positionals} = parseCommand(statsCommand, argv);
	if (positionals.length !== 1) throw new CrawljarError('ERR_USAGE', `usage: ${statsCommand.usage}`);
	const {name, store} = await openExistingStore(positionals[0]!, storeLocationOf(values, io));
	try {
		const runId = positiveInt(values.run as string | undefined, '--run');
		const run = runId ? (await store.listRuns(1_000_000)).find((candidate) => candidate.id === runId) : await latestRunOrThrow(store, name);
		if (!run) throw new CrawljarError('ERR_USAGE', `crawler '${name}' has no run ${runId}`);
		if (!run.summary) {
			const counts = await store.counts(run.id);
			const fallback = {runId: run.id, crawler: name, state: run.state, counts, items: await store.itemCount(run.id)};
			io.stdout.write(values.json ? `${JSON.stringify(fallback)}\n` : `run ${run.id} (${run.state}, no summary yet): ${JSON.stringify(counts)}\n`);
			return 0;
		}
		io.stdout.write(values.json ? `${JSON.stringify(run.summary, null, 2)}\n` : `${formatSummary(run.summary as RunSummary)}\n`);
		return 0;
	} finally {
		await store.close();
	}
}
