// Opens (creating if needed) one crawler's SQLite file with the pragmas the store relies on.
// Every failure here is the user's storage folder, so it becomes ERR_STORAGE naming the path.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import {CrawljarError} from '../../errors.js';
import {migrate} from './schema.js';
import {walSizeLimitBytes} from './wal-limits.js';

/** How long a statement waits for another process's write lock before failing with SQLITE_BUSY. */
const busyTimeoutMs = 5000;
/** Page cache per connection, in KiB (negative cache_size). Bounded: the frontier lives on disk. */
const cacheSizeKib = 32 * 1024;

export function openDatabase(file: string): Database.Database {
	if (file === ':memory:') {
		const db = new Database(':memory:');
		configure(db, file);
		migrate(db, file);
		return db;
	}

	const absolute = path.resolve(file);
	prepareFiles(absolute);
	let db: Database.Database | undefined;
	try {
		db = new Database(absolute);
		configure(db, absolute);
		migrate(db, absolute);
		return db;
	} catch (error) {
		db?.close();
		if (error instanceof CrawljarError) throw error;
		throw storageError(`Cannot open the storage file ${absolute}`, error);
	}
}

// The file holds encrypted session secrets and scraped data: owner-only from the first byte.
// SQLite gives the -wal and -shm files the main file's mode (it fchmods them, whatever the
// umask), so fixing the main file is enough for new ones; older ones are fixed here too.
function prepareFiles(absolute: string): void {
	const dir = path.dirname(absolute);
	try {
		fs.mkdirSync(dir, {recursive: true, mode: 0o700});
	} catch (error) {
		throw storageError(`Cannot create the storage folder ${dir}`, readOnlyCause(dir, error));
	}
	try {
		fs.accessSync(dir, fs.constants.W_OK);
	} catch (error) {
		throw storageError(`The storage folder ${dir} is not writable`, readOnlyCause(dir, error));
	}
	try {
		const fd = fs.openSync(absolute, 'a', 0o600);
		try {
			fs.fchmodSync(fd, 0o600);
		} finally {
			fs.closeSync(fd);
		}
		for (const suffix of ['-wal', '-shm']) chmodIfExists(absolute + suffix);
	} catch (error) {
		throw storageError(`Cannot create the storage file ${absolute}`, readOnlyCause(dir, error));
	}
}

/**
 * The error to report for a folder that cannot be created or written: says "read-only file
 * system" when that is the reason. Node's recursive mkdir reports ENOENT (not EROFS) for a
 * missing folder on a read-only mount, so the nearest existing ancestor is asked directly.
 */
export function readOnlyCause(dir: string, error: unknown): unknown {
	if ((error as NodeJS.ErrnoException).code === 'EROFS') return readOnlyError(dir, error);
	let ancestor = dir;
	while (!fs.existsSync(ancestor) && path.dirname(ancestor) !== ancestor) ancestor = path.dirname(ancestor);
	try {
		fs.accessSync(ancestor, fs.constants.W_OK);
	} catch (probe) {
		if ((probe as NodeJS.ErrnoException).code === 'EROFS') return readOnlyError(ancestor, error);
	}
	return error;
}

function readOnlyError(where: string, cause: unknown): Error {
	return Object.assign(new Error(`${where} is on a read-only file system (EROFS); choose a writable --storage folder`, {cause}), {code: 'EROFS'});
}

function chmodIfExists(file: string): void {
	try {
		fs.chmodSync(file, 0o600);
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
	}
}

function configure(db: Database.Database, file: string): void {
	db.pragma(`busy_timeout = ${busyTimeoutMs}`);
	if (file !== ':memory:') {
		const mode = db.pragma('journal_mode = WAL', {simple: true});
		if (mode !== 'wal') throw new CrawljarError('ERR_STORAGE', `${file} cannot use WAL journaling (got ${String(mode)})`);
	}
	// NORMAL in WAL mode survives a killed process; a power cut may lose the last commits, never consistency.
	db.pragma('synchronous = NORMAL');
	db.pragma('temp_store = MEMORY');
	db.pragma('foreign_keys = ON');
	db.pragma(`cache_size = -${cacheSizeKib}`);
	// Automatic checkpoints run inside whichever commit crosses the threshold and stall it
	// (p99 6–25 ms); the store checkpoints deliberately instead (SqliteStore.checkpoint).
	db.pragma('wal_autocheckpoint = 0');
	db.pragma(`journal_size_limit = ${walSizeLimitBytes}`);
}

function storageError(message: string, cause: unknown): CrawljarError {
	const detail = cause instanceof Error ? cause.message : String(cause);
	return new CrawljarError('ERR_STORAGE', `${message}: ${detail}`, {cause});
}
