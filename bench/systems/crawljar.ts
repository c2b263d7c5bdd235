// (a) crawljar: runCrawler with its SQLite store, form login and exactly-once results (the default).
import {randomBytes} from 'node:crypto';
import {runCrawler} from '../../dist/index.js';
import {benchDefinition} from '../crawljar-definition.js';
import {startClock, type Measurement, type WorkerConfig} from '../lib/types.js';

export async function runCrawljar(config: WorkerConfig): Promise<Measurement> {
	const definition = benchDefinition(config.siteUrl, config.concurrency);
	const stop = startClock();
	// The timed span includes opening the store and the login: that is what a user waits for.
	const summary = await runCrawler(definition, {
		storageDir: config.storageDir,
		concurrency: config.concurrency,
		secretKey: randomBytes(32),
	});
	const {elapsedMs, cpuMs} = stop();
	if (summary.state !== 'finished') throw new Error(`crawljar run ended '${summary.state}': ${summary.stoppedReason ?? ''}`);
	return {pages: summary.requests.done, items: summary.items, elapsedMs, cpuMs, maxRssKiB: process.resourceUsage().maxRSS};
}
