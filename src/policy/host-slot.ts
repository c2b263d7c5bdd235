// Waiting for a slot of the host throttle, for requests that are not dispatched by the engine
// (login, refresh and custom-login requests; a page request whose session had to log in first).
// The throttle itself stays synchronous: this polls it on its own clock and takes a slot freed
// by a release at once, before the engine's next dispatch can.
import {setTimeout as delay} from 'node:timers/promises';
import type {AcquireResult, HostThrottle} from './host-throttle.js';

export type HostGate = Pick<HostThrottle, 'tryAcquire' | 'onNextRelease'>;

export type SlotResult = {readonly ok: true} | {readonly ok: false; readonly retryInMs: number};

/** A concurrency wait re-asks at least this often (a release on another path may not be seen). */
const CONCURRENCY_POLL_MS = 250;

/**
 * Acquires a slot of `host`, waiting through cooldowns, rate waits and full concurrency as long
 * as each wait is at most `maxWaitMs`; a longer one is returned (`ok: false`) for the caller
 * to defer. The caller releases the slot (`throttle.release`) in the same function.
 */
export async function acquireHostSlot(gate: HostGate, host: string, maxWaitMs: number): Promise<SlotResult> {
	for (;;) {
		const result: AcquireResult = gate.tryAcquire(host);
		if (result.ok) return result;
		if (result.retryInMs > maxWaitMs) return {ok: false, retryInMs: result.retryInMs};
		if (result.reason === 'concurrency') {
			if (await takeFreedSlot(gate, host)) return {ok: true};
			continue;
		}
		await delay(Math.max(1, result.retryInMs));
	}
}

/** Waits for the next release of `host` (or a poll interval) and tries to take the slot it freed. */
function takeFreedSlot(gate: HostGate, host: string): Promise<boolean> {
	return new Promise((resolve) => {
		let isSettled = false;
		const timer = setTimeout(() => {
			isSettled = true;
			resolve(false);
		}, CONCURRENCY_POLL_MS);
		gate.onNextRelease(host, () => {
			if (isSettled) return;
			isSettled = true;
			clearTimeout(timer);
			// Synchronously, inside the release: nothing else can take the slot in between.
			resolve(gate.tryAcquire(host).ok);
		});
	});
}
