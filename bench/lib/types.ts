// What the orchestrator hands a measurement child, and what the child reports back.

export type SystemName = 'crawljar' | 'crawljar-threads' | 'crawljar-pg' | 'crawljar-pg-2' | 'crawlee-disk' | 'crawlee-memory' | 'crawlee-sessions' | 'handwritten' | 'raw-http';

export const SYSTEMS: readonly SystemName[] = ['crawljar', 'crawljar-threads', 'crawlee-disk', 'crawlee-memory', 'crawlee-sessions', 'handwritten', 'raw-http'];
/**
 * Measured when a PostgreSQL server is reachable: one crawljar worker on PostgreSQL. Two worker
 * processes sharing that crawl ('crawljar-pg-2': each at the concurrency, the crawl-wide limits
 * doubled) are measured against one on a site cheap to serve (bench/scale-out.ts), or here with --systems.
 */
export const POSTGRES_SYSTEMS: readonly SystemName[] = ['crawljar-pg'];

export interface WorkerConfig {
	readonly system: SystemName;
	/** Origin of the demo site, e.g. `http://127.0.0.1:40123`. */
	readonly siteUrl: string;
	readonly concurrency: number;
	/** Books the site serves: the crawl fetches them all plus every catalogue page. */
	readonly books: number;
	/** Books per catalogue page (the site's default is 20). */
	readonly perPage: number;
	/** A fresh empty folder the system may write into (crawljar's SQLite, Crawlee's storage). */
	readonly storageDir: string;
	/** crawljar-pg: the PostgreSQL server, and the crawler name (its schema) the workers share. */
	readonly storeUrl?: string;
	readonly crawlerName?: string;
	/** Workers sharing the crawl: its host and session limits are this many times the concurrency. @default 1 */
	readonly workers?: number;
	/**
	 * crawljar: every catalogue page a start URL (a wide frontier from the first lease) instead of
	 * the chain of "next" links from the first one. @default false
	 */
	readonly wideStart?: boolean;
}

export interface Measurement {
	/** Book and catalogue pages fetched and parsed (raw-http: fetched only). */
	readonly pages: number;
	/** Records extracted (one per book page). */
	readonly items: number;
	/** From just before the crawl starts to its end (after imports and, but for crawljar, after login). */
	readonly elapsedMs: number;
	/** CPU time (user + system) of the crawler's process over the same span: steadier than wall time on a busy machine. */
	readonly cpuMs: number;
	/** `process.resourceUsage().maxRSS` at the end, in KiB. */
	readonly maxRssKiB: number;
	/** Epoch ms of the timed span's start (crawljar): spans of processes sharing a crawl are joined by it. */
	readonly startedAt?: number;
}

/** Children print their result as one line starting with this marker (libraries may log on stdout too). */
export const RESULT_MARKER = 'BENCH_RESULT ';

export function expectedPages(books: number, perPage: number): number {
	return books + Math.ceil(books / perPage);
}

/** Starts the timed span; the returned function reads wall and CPU time spent since. */
export function startClock(): () => {elapsedMs: number; cpuMs: number} {
	const start = performance.now();
	const cpu = process.cpuUsage();
	return () => {
		const used = process.cpuUsage(cpu);
		return {elapsedMs: performance.now() - start, cpuMs: (used.user + used.system) / 1000};
	};
}
