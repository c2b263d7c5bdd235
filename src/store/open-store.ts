// The only place that names the concrete store engines and decides which one a command or a
// run uses (STYLE pattern 3):
//   --store URL      (a postgres:// URL)  → PostgreSQL, one schema per crawler
//   --storage DIR                         → SQLite, one file per crawler in DIR
//   CRAWLJAR_STORE   (env, a postgres:// URL) → PostgreSQL
//   CRAWLJAR_STORAGE (env, a folder)      → SQLite
//   default                               → SQLite in ./storage
// A flag beats the environment; --store and --storage together are a usage error.
import {existsSync, readdirSync} from 'node:fs';
import path from 'node:path';
import {CrawljarError} from '../errors.js';
import {isPostgresUrl, poolConfig, redactStoreUrl} from './postgres/connection.js';
import {postgresCrawlerExists, postgresCrawlers} from './postgres/catalog.js';
import {PostgresStore} from './postgres/postgres-store.js';
import {schemaOf} from './postgres/schema.js';
import {SqliteStore} from './sqlite/sqlite-store.js';
import type {Store} from './store.js';

export type StoreLocation = {readonly kind: 'sqlite'; readonly dir: string} | {readonly kind: 'postgres'; readonly url: string};

export interface StoreChoice {
	/** `--store` / RunOptions.storeUrl: a postgres:// URL. */
	readonly storeUrl?: string | undefined;
	/** `--storage` / RunOptions.storageDir: a SQLite folder. */
	readonly storageDir?: string | undefined;
}

export const defaultStorageDir = './storage';

/** Where the store is, from explicit choices first, then the environment. Throws ERR_USAGE naming the field. */
export function resolveStoreLocation(choice: StoreChoice, env: Readonly<Record<string, string | undefined>>): StoreLocation {
	if (choice.storeUrl !== undefined && choice.storageDir !== undefined) {
		throw new CrawljarError('ERR_USAGE', '--store (PostgreSQL) and --storage (SQLite folder) cannot be used together: pick one');
	}
	if (choice.storeUrl !== undefined) return postgresLocation(choice.storeUrl, '--store');
	if (choice.storageDir !== undefined) return {kind: 'sqlite', dir: choice.storageDir};
	if (env.CRAWLJAR_STORE) return postgresLocation(env.CRAWLJAR_STORE, 'CRAWLJAR_STORE');
	return {kind: 'sqlite', dir: env.CRAWLJAR_STORAGE || defaultStorageDir};
}

function postgresLocation(url: string, field: string): StoreLocation {
	if (!isPostgresUrl(url)) {
		throw new CrawljarError('ERR_USAGE', `${field} expects a postgres:// URL (use --storage DIR for a SQLite folder), got ${redactStoreUrl(url)}`);
	}
	try {
		poolConfig(url);
	} catch (error) {
		throw new CrawljarError('ERR_USAGE', `${field}: ${(error as Error).message}`);
	}
	return {kind: 'postgres', url};
}

/** The database file of one crawler: `<storageDir>/<crawler>.sqlite`. */
export function storeFile(storageDir: string, crawler: string): string {
	return path.join(storageDir, `${crawler}.sqlite`);
}

/** Opens (creating if needed) one crawler's store. A string is a SQLite folder. */
export function openStore(location: StoreLocation | string, crawler: string): Store {
	const resolved = typeof location === 'string' ? ({kind: 'sqlite', dir: location} as const) : location;
	if (resolved.kind === 'postgres') return PostgresStore.open({url: resolved.url, crawler});
	return SqliteStore.open(storeFile(resolved.dir, crawler));
}

/** Whether this crawler has a store there already (read-only commands never create one). */
export async function storeExists(location: StoreLocation, crawler: string): Promise<boolean> {
	if (location.kind === 'postgres') return postgresCrawlerExists(location.url, crawler);
	return existsSync(storeFile(location.dir, crawler));
}

/** The crawlers with a store there, sorted. */
export async function storedCrawlers(location: StoreLocation): Promise<string[]> {
	if (location.kind === 'postgres') return postgresCrawlers(location.url);
	if (!existsSync(location.dir)) return [];
	return readdirSync(location.dir)
		.filter((name) => name.endsWith('.sqlite'))
		.map((name) => name.slice(0, -'.sqlite'.length))
		.sort();
}

/** Where the store is, fit for output: the folder, or the URL without its password. */
export function describeLocation(location: StoreLocation): string {
	return location.kind === 'postgres' ? redactStoreUrl(location.url) : path.resolve(location.dir);
}

/** Where one crawler's results are, fit for output. */
export function describeCrawlerStore(location: StoreLocation, crawler: string): string {
	if (location.kind === 'sqlite') return storeFile(location.dir, crawler);
	return `${redactStoreUrl(location.url)} (schema ${schemaOf(crawler)})`;
}

/** The store flags a command was given, to repeat in a hint (`resume with: …`); the URL's password redacted. */
export function locationFlags(flags: {readonly store?: unknown; readonly storage?: unknown}): string {
	if (typeof flags.store === 'string') return ` --store ${redactStoreUrl(flags.store)}`;
	if (typeof flags.storage === 'string') return ` --storage ${flags.storage}`;
	return '';
}
