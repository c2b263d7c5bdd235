// One process per crawler store: a second `crawljar run` of the same crawler would lease the
// first one's in-flight requests as "crashed" and fetch them twice. A lock left by a killed
// process (its pid is gone) is taken over at once: resume must not wait.
import {hostname} from 'node:os';
import {CrawljarError} from '../errors.js';
import type {Store} from '../store/store.js';

const LOCK_KEY = 'run-lock';

interface LockOwner {
	pid: number;
	host: string;
	since: number;
}

function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		return (error as NodeJS.ErrnoException).code === 'EPERM';
	}
}

export async function acquireRunLock(store: Store, crawler: string, now: number): Promise<() => Promise<void>> {
	const raw = await store.getMeta(LOCK_KEY);
	if (raw) {
		const owner = JSON.parse(raw) as LockOwner;
		const isOurs = owner.pid === process.pid && owner.host === hostname();
		if (!isOurs && owner.host === hostname() && isAlive(owner.pid)) {
			throw new CrawljarError(
				'ERR_LOCKED',
				`crawler '${crawler}' is already running (pid ${owner.pid}); stop it first, or use another --storage folder`,
			);
		}
	}
	const mine: LockOwner = {pid: process.pid, host: hostname(), since: now};
	await store.setMeta(LOCK_KEY, JSON.stringify(mine));
	return async () => {
		await store.setMeta(LOCK_KEY, '');
	};
}
