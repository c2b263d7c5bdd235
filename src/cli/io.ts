// What a command needs from the outside world, injectable so commands are testable in-process.
import type {Logger} from '../job/types.js';
import {resolveStoreLocation, type StoreLocation} from '../store/open-store.js';

export interface CliIo {
	readonly stdout: NodeJS.WritableStream & {isTTY?: boolean};
	readonly stderr: NodeJS.WritableStream & {isTTY?: boolean; columns?: number};
	readonly env: Readonly<Record<string, string | undefined>>;
	readonly cwd: string;
}

export function defaultIo(): CliIo {
	return {stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd()};
}

/** Log lines go to stderr so stdout stays clean for data (exports, --json). */
export function createLogger(write: (line: string) => void): Logger {
	const stamp = () => new Date().toISOString().slice(11, 19);
	return {
		info: (message) => write(`${stamp()} ${message}`),
		warn: (message) => write(`${stamp()} warn: ${message}`),
		error: (message) => write(`${stamp()} error: ${message}`),
	};
}

export function storageDirOf(flag: string | undefined, io: CliIo): string {
	return flag ?? io.env.CRAWLJAR_STORAGE ?? './storage';
}

/** The store a command uses, from its --store / --storage flags and the environment (see store/open-store.ts). */
export function storeLocationOf(values: Readonly<Record<string, string | boolean | undefined>>, io: CliIo): StoreLocation {
	return resolveStoreLocation({storeUrl: values.store as string | undefined, storageDir: values.storage as string | undefined}, io.env);
}
