// One measurement in its own process: `node --import tsx bench/worker.ts '<WorkerConfig JSON>'`.
// Prints the Measurement as one RESULT_MARKER line, then exits (lingering timers of a library
// must not stretch the run).
import {runCrawlee} from './systems/crawlee.js';
import {runCrawljar, runCrawljarWorkers} from './systems/crawljar.js';
import {runHandwritten} from './systems/handwritten.js';
import {runRawHttp} from './systems/raw-http.js';
import {RESULT_MARKER, type Measurement, type WorkerConfig} from './lib/types.js';

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;

function measure(): Promise<Measurement> {
	switch (config.system) {
		case 'crawljar':
			return runCrawljar(config);
		case 'crawljar-threads':
			return runCrawljar(config, {threads: 1});
		case 'crawljar-pg':
			// A worker of a shared crawl (started by runCrawljarWorkers), or the one-worker measurement.
			return config.crawlerName ? runCrawljar(config) : runCrawljarWorkers(config, 1);
		case 'crawljar-pg-2':
			return runCrawljarWorkers(config, 2);
		case 'crawlee-disk':
			return runCrawlee(config, 'disk');
		case 'crawlee-memory':
			return runCrawlee(config, 'memory');
		case 'crawlee-sessions':
			return runCrawlee(config, 'memory', true);
		case 'handwritten':
			return runHandwritten(config);
		case 'raw-http':
			return runRawHttp(config);
	}
}

try {
	const measurement = await measure();
	process.stdout.write(`${RESULT_MARKER}${JSON.stringify(measurement)}\n`, () => process.exit(0));
} catch (error) {
	console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
	process.exit(1);
}
