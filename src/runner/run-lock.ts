// One runner per crawler store: a second run of the same crawler (another `crawljar run`, or a
// second runCrawler() call in the same process) would lease the first one's in-flight requests
// as "crashed" and fetch them twice. The lock is an atomic claim (Store.compareAndSetMeta), owned
// by one process AND one call (a random token). A lock left by a killed process (its pid is
// gone) is taken over at once, so resume never waits; a live owner's lock is never taken.
import {randomUUID} from 'node:crypto';
import {hostname} from 'node:os';
import {CrawljarError} from '../errors.js';
import type {Store} from '../store/store.js';

const LOCK_KEY = 'run-lock';
/** A claim can only lose to another claim that changed the value: a few rounds always settle it. */
const MAX_CLAIM_ROUNDS = 5;

interface LockOwner {
	pid: number;
	host: string;
	/** One per acquireRunLock call: tells two runs of the same process apart. */
	token?: string;
	since: number;
}

/** Tokens of the locks this process holds now: only these make a lock with our pid "held". */
const heldByThisProcess = new Set<string>();

/** Whether a process with this pid runs on this host (EPERM: it does, as another user). */
export function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		return (error as NodeJS.ErrnoException).code === 'EPERM';
	}
}

function parseOwner(raw: string | undefined): LockOwner | undefined {
	if (!raw) return undefined;
	try {
		const owner = JSON.parse(raw) as Partial<LockOwner>;
		return typeof owner.pid === 'number' && typeof owner.host === 'string' ? (owner as LockOwner) : undefined;
	} catch {
		return undefined; // unreadable: nobody can own it
	}
}

/** Whether the owner is running now. Another host's lock is not ours to judge: taken over, as before. */
function isHeld(owner: LockOwner): boolean {
	if (owner.host !== hostname()) return false;
	// Our own pid: held only by a call of this process that has not released it (a lock written
	// by an earlier process that had our pid, or by a call that crashed without releasing, is stale).
	if (owner.pid === process.pid) return owner.token !== undefined && heldByThisProcess.has(owner.token);
	return isAlive(owner.pid);
}

export async function acquireRunLock(store: Store, crawler: string, now: number): Promise<() => Promise<void>> {
	const mine: LockOwner = {pid: process.pid, host: hostname(), token: randomUUID(), since: now};
	const value = JSON.stringify(mine);
	for (let round = 0; round < MAX_CLAIM_ROUNDS; round++) {
		const current = await store.getMeta(LOCK_KEY);
		const owner = parseOwner(current);
		if (owner && isHeld(owner)) {
			const who = owner.pid === process.pid ? 'in this process' : `pid ${owner.pid}`;
			throw new CrawljarError('ERR_LOCKED', `crawler '${crawler}' is already running (${who}); stop it first, or use another --storage folder`);
		}
		// The token is held before the claim lands: a racing call of this process then sees it held.
		heldByThisProcess.add(mine.token!);
		if (await store.compareAndSetMeta(LOCK_KEY, current, value)) {
			let isReleased = false;
			return async () => {
				if (isReleased) return;
				isReleased = true;
				heldByThisProcess.delete(mine.token!);
				// Only our own claim is cleared: never a lock another run took over meanwhile.
				await store.compareAndSetMeta(LOCK_KEY, value, '');
			};
		}
		heldByThisProcess.delete(mine.token!);
	}
	throw new CrawljarError('ERR_LOCKED', `crawler '${crawler}' is being started by another run at the same time; try again`);
}
