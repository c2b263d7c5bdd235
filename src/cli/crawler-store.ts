// Commands that read results (export, failed, stats, sessions) take a crawler name or file and
// open its existing store; they never create an empty one by mistake.
import {existsSync, readdirSync} from 'node:fs';
import path from 'node:path';
import {CrawljarError} from '../errors.js';
import {loadCrawlerFile} from '../job/load.js';
import {openStore, storeFile} from '../store/open-store.js';
import type {RunRecord, Store} from '../store/store.js';

export async function crawlerNameOf(reference: string): Promise<string> {
	if (/\.(m?ts|m?js)$/.test(reference) || reference.includes('/')) {
		return (await loadCrawlerFile(reference)).definition.name;
	}
	return reference;
}

export function storedCrawlers(storageDir: string): string[] {
	if (!existsSync(storageDir)) return [];
	return readdirSync(storageDir)
		.filter((name) => name.endsWith('.sqlite'))
		.map((name) => name.slice(0, -'.sqlite'.length))
		.sort();
}

export async function openExistingStore(reference: string, storageDir: string): Promise<{name: string; store: Store}> {
	const name = await crawlerNameOf(reference);
	if (!existsSync(storeFile(storageDir, name))) {
		const known = storedCrawlers(storageDir);
		throw new CrawljarError(
			'ERR_USAGE',
			`no data for crawler '${name}' in ${path.resolve(storageDir)} (${known.length ? `crawlers with data: ${known.join(', ')}` : 'no crawler has run there yet'})`,
		);
	}
	return {name, store: openStore(storageDir, name)};
}

export async function latestRunOrThrow(store: Store, name: string): Promise<RunRecord> {
	const run = await store.latestRun();
	if (!run) throw new CrawljarError('ERR_USAGE', `crawler '${name}' has no runs yet`);
	return run;
}
