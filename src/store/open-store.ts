// The only place that names the concrete store engine (STYLE pattern 3).
import path from 'node:path';
import {SqliteStore} from './sqlite/sqlite-store.js';
import type {Store} from './store.js';

/** The database file of one crawler: `<storageDir>/<crawler>.sqlite`. */
export function storeFile(storageDir: string, crawler: string): string {
	return path.join(storageDir, `${crawler}.sqlite`);
}

export function openStore(storageDir: string, crawler: string): Store {
	return SqliteStore.open(storeFile(storageDir, crawler));
}
