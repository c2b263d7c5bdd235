// Per-test storage folders and a log that keeps its lines: shared by the integration suites.
import {mkdtempSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type {TestContext} from 'node:test';
import type {Logger} from '../../src/job/types.js';

/** A fresh storage folder, removed when the test ends. */
export function tempStorage(t: TestContext, prefix = 'crawljar-'): string {
	const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
	t.after(() => rmSync(dir, {recursive: true, force: true}));
	return dir;
}

export interface CapturedLog extends Logger {
	readonly lines: string[];
}

export function captureLog(): CapturedLog {
	const lines: string[] = [];
	return {
		lines,
		info: (message) => lines.push(`info: ${message}`),
		warn: (message) => lines.push(`warn: ${message}`),
		error: (message) => lines.push(`error: ${message}`),
	};
}
