// A resume after kill -9: the dead process's host and session shares are given back when the
// next process joins the run, not when they lapse (5 s later). Without that, the resumed crawl
// waited the lapse for the host concurrency its dead predecessor still held.
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {hostname} from 'node:os';
import {test} from 'node:test';
import {prepareRun} from '../../src/runner/prepare-run.js';
import {newWorker} from '../../src/runner/worker.js';
import {sessionShareOwner} from '../../src/sessions/session-shares.js';
import {openStore} from '../../src/store/open-store.js';
import {captureLog} from '../helpers/temp.js';
import {tempStorage} from './crawl.js';

test("joining a run gives back the shares of its workers whose process is gone, and only theirs", async (t) => {
	const store = openStore(tempStorage(t), 'shares');
	t.after(() => store.close());
	const now = Date.now();
	// A pid that has just exited, on this host: the process a kill -9 left behind.
	const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
	const dead = {id: `${hostname()}:${deadPid}:dead`, host: hostname(), pid: deadPid};
	const alive = {id: `other-machine:1:alive`, host: 'other-machine', pid: 1};
	for (const worker of [dead, alive]) await store.joinRun({worker, now, leaseMs: 60_000, fresh: false, retryFailed: false});
	const hostKey = 'host:127.0.0.1:8080';
	const expiresAt = now + 60_000;
	for (const owner of [dead.id, alive.id]) {
		await store.claimShares([{key: hostKey, wanted: 2, limit: 4}], owner, now, expiresAt);
		await store.claimShares([{key: 'session:demo#1', wanted: 2, limit: 4}], sessionShareOwner(owner), now, expiresAt);
	}

	const definition = {name: 'shares', startUrls: ['http://127.0.0.1:8080/'], routes: {default: () => {}}};
	await prepareRun(store, definition as never, {fresh: false, retryFailed: false, now: () => now, log: captureLog(), worker: newWorker(), leaseMs: 60_000});

	// What a newcomer is granted shows what the others still hold: the live worker's 2, not the dead one's.
	const [host] = await store.claimShares([{key: hostKey, wanted: 4, limit: 4}], 'newcomer', now, expiresAt);
	assert.deepEqual({granted: host!.granted, claimants: host!.claimants}, {granted: 2, claimants: 2});
	const [session] = await store.claimShares([{key: 'session:demo#1', wanted: 4, limit: 4}], 'newcomer', now, expiresAt);
	assert.deepEqual({granted: session!.granted, claimants: session!.claimants}, {granted: 2, claimants: 2});
});
