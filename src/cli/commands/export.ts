import {createWriteStream} from 'node:fs';
import {once} from 'node:events';
import {CrawljarError} from '../../errors.js';
import {exportFormats, writeExport, type ExportFormat} from '../../output/export-writer.js';
import {latestRunOrThrow, openExistingStore} from '../crawler-store.js';
import {storeLocationOf, type CliIo} from '../io.js';
import {exportCommand} from './specs.js';
import {parseCommand, positiveInt} from '../usage.js';


export async function exportResults(argv: readonly string[], io: CliIo): Promise<number> {
	const {values, positionals} = parseCommand(exportCommand, argv);
	if (positionals.length !== 1) throw new CrawljarError('ERR_USAGE', `usage: ${exportCommand.usage}`);
	const format = (values.format ?? 'jsonl') as ExportFormat;
	if (!exportFormats.includes(format)) {
		throw new CrawljarError('ERR_USAGE', `--format must be one of ${exportFormats.join(', ')}, got '${String(format)}'`);
	}
	const {name, store} = await openExistingStore(positionals[0]!, storeLocationOf(values, io));
	try {
		const runId = positiveInt(values.run as string | undefined, '--run') ?? (await latestRunOrThrow(store, name)).id;
		const out = values.out ? createWriteStream(values.out as string) : io.stdout;
		const {count} = await writeExport(() => store.items(runId), format, out);
		if (values.out) {
			(out as NodeJS.WritableStream).end();
			await once(out, 'finish');
			io.stderr.write(`exported ${count} item(s) of ${name} run ${runId} to ${values.out as string}\n`);
		}
		return 0;
	} finally {
		await store.close();
	}
}
