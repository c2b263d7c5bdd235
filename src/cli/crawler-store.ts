// Commands that read results (export, failed, stats, sessions) take a crawler name or file and
// open its existing store; they never create an empty one by mistake.
import {CrawljarError} from '../errors.js';
import {loadCrawlerFile} from '../job/load.js';
import {describeLocation, openStore, storeExists, storedCrawlers, type StoreLocation} from '../store/open-store.js';
import type {RunRecord, Store} from '../store/store.js';

export async function crawlerNameOf(reference: string): Promise<string> {
	if (/\.(m?ts|m?js)$/.test(reference) || reference.includes('/')) {
		return (await loadCrawlerFile(reference)).definition.name;
	}
	return reference;
}

export async function openExistingStore(reference: string, location: StoreLocation): Promise<{name: string; store: Store}> {
	const name = await crawlerNameOf(reference);
	if (!(await storeExists(location, name))) {
		const known = await storedCrawlers(location);
		throw new CrawljarError(
			'ERR_USAGE',
			`no data for crawler '${name}' in ${describeLocation(location)} (${known.length ? `crawlers with data: ${known.join(', ')}` : 'no crawler has run there yet'})`,
		);
	}
	return {name, store: openStore(location, name)};
}

export async function latestRunOrThrow(store: Store, name: string): Promise<RunRecord> {
	const run = await store.latestRun();
	if (!run) throw new CrawljarError('ERR_USAGE', `crawler '${name}' has no runs yet`);
	return run;
}
