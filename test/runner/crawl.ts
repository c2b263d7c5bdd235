// Runs a crawler in-process (runCrawler, real SQLite in a temp folder) and reads back what a
// user would export: the items and the failed requests of the run.
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import type {TestContext} from 'node:test';
import type {CrawlerDefinition, Logger} from '../../src/job/types.js';
import type {RunSummary} from '../../src/output/summary.js';
import {runCrawler, type RunOptions} from '../../src/runner/run-crawler.js';
import {openStore} from '../../src/store/open-store.js';
import type {FailedRequest} from '../../src/store/store.js';

// Sessions are encrypted with this key: no key file is written to the real home folder.
process.env.CRAWLJAR_SECRET ??= 'crawljar-test-secret';

export interface CrawlResult {
	readonly summary: RunSummary;
	readonly items: unknown[];
	readonly failed: FailedRequest[];
	readonly logs: string[];
	readonly storageDir: string;
}

export function tempStorage(t: TestContext): string {
	const dir = mkdtempSync(path.join(tmpdir(), 'crawljar-runner-'));
	t.after(() => rmSync(dir, {recursive: true, force: true}));
	return dir;
}

/** Fast retries and no generated browser headers unless the definition says otherwise. */
export const fastRetry = {maxRetries: 2, backoff: {baseMs: 10, capMs: 50}} as const;

export async function crawl(
	t: TestContext,
	definition: CrawlerDefinition,
	options: RunOptions & {storageDir?: string} = {},
): Promise<CrawlResult> {
	const storageDir = options.storageDir ?? tempStorage(t);
	const logs: string[] = [];
	const log: Logger = {
		info: (line) => logs.push(line),
		warn: (line) => logs.push(`warn: ${line}`),
		error: (line) => logs.push(`error: ${line}`),
	};
	const summary = await runCrawler({useHeaderGenerator: false, retry: fastRetry, ...definition}, {log, ...options, storageDir});
	const store = openStore(storageDir, definition.name);
	try {
		const items: unknown[] = [];
		for await (const item of store.items(summary.runId)) items.push(item);
		const failed = await store.failedRequests(summary.runId, 1_000);
		return {summary, items, failed, logs, storageDir};
	} finally {
		await store.close();
	}
}

export function html(body: string): string {
	return `<!doctype html><html><head><title>t</title></head><body>${body}</body></html>`;
}

/** Paths the server saw, counted. */
export function counts(paths: readonly string[]): Map<string, number> {
	const map = new Map<string, number>();
	for (const each of paths) map.set(each, (map.get(each) ?? 0) + 1);
	return map;
}
