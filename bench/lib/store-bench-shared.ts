// What the store benchmark's orchestrator (bench/store-bench.ts) and its workers share.
import type {NewRequest} from '../../src/store/store.js';

export interface StoreWorkerConfig {
	readonly url: string;
	readonly schema: string;
	readonly runId: number;
	readonly worker: number;
	/** Requests per lease, completions per commit. */
	readonly batch: number;
	/** Keys 0..knownKeys-1 were seeded: links to them are duplicates. */
	readonly knownKeys: number;
}

export interface StoreWorkerWindow {
	readonly startAt: number;
	readonly endAt: number;
}

export interface StoreWorkerResult {
	readonly pages: number;
	readonly refused: number;
	/** This process's CPU (user + system) between startAt and endAt. */
	readonly cpuMs: number;
	readonly elapsedMs: number;
}

export const linksPerPage = 10;
export const freshLinksPerPage = 1;

export function seededRequest(key: number): NewRequest {
	const url = `https://shop.example.com/catalogue/item-${key}.html`;
	return {url, uniqueKey: url, label: 'detail', depth: 1};
}

