// Fire claims and run holds kept in each crawler's store, so that several schedulers (several
// `crawljar schedule` processes, on one machine or many) on one store fire each cron slot once
// and see each other's runs. Both are compare-and-set loops on one meta key per crawler:
//   schedule-last-fire  the latest claimed slot (epoch ms): a slot is claimed by raising it
//   schedule-run        {owner, expiresAt} of the scheduler whose run is going, renewed while it goes
// A hold expires (a scheduler killed mid-run must not block the crawler for ever), so expiry
// compares the clocks of two machines: keep them in sync (NTP), the default hold is a minute.
// A hold of a process on this host that is gone (kill -9) is free at once, as the run lock is.
import {randomUUID} from 'node:crypto';
import {hostname} from 'node:os';
import type {Store} from '../store/store.js';
import type {LastFireStore, ReleaseHold, RunHolds} from './scheduler.js';
import type {TimerDeps} from './timer-at.js';

export const LAST_FIRE_KEY = 'schedule-last-fire';
export const RUN_HOLD_KEY = 'schedule-run';
/** A compare-and-set loses only to another one that changed the value: a few rounds settle it. */
const maxClaimRounds = 5;

/** The store of one crawler; the caller owns the handles (opens them once, closes them at the end). */
export type StoreFor = (name: string) => Store;

/** Last fires in the store, claimed with a compare-and-set (see LastFireStore.claim). */
export function storeLastFire(storeFor: StoreFor): Required<LastFireStore> {
	const read = async (name: string) => parseMs(await storeFor(name).getMeta(LAST_FIRE_KEY));
	return {
		get: read,
		async set(name, at) {
			await storeFor(name).setMeta(LAST_FIRE_KEY, String(at));
		},
		async claim(name, slotMs) {
			const store = storeFor(name);
			for (let round = 0; round < maxClaimRounds; round++) {
				const current = await store.getMeta(LAST_FIRE_KEY);
				const last = parseMs(current);
				if (last !== undefined && last >= slotMs) return false;
				if (await store.compareAndSetMeta(LAST_FIRE_KEY, current, String(slotMs))) return true;
			}
			return false; // every round lost to another claim: that one has this slot or a later one
		},
	};
}

export interface StoreRunHoldsOptions {
	/** A hold not renewed for this long is free again (its scheduler died). @default 60_000 */
	readonly holdMs?: number;
	/** Told when a renewal fails or finds the hold taken over. */
	readonly log?: (line: string) => void;
	/** Names this scheduler in the hold. @default host:pid:random */
	readonly owner?: string;
}

interface Hold {
	readonly owner: string;
	readonly expiresAt: number;
	readonly host?: string;
	readonly pid?: number;
}

/** Whether a hold is still someone else's: not ours, not expired, and not left by a dead process of this host. */
function isHeldByOther(hold: Hold, owner: string, now: number): boolean {
	if (hold.owner === owner || hold.expiresAt <= now) return false;
	if (hold.host !== hostname() || hold.pid === undefined || hold.pid === process.pid) return true;
	try {
		process.kill(hold.pid, 0);
		return true;
	} catch (error) {
		return (error as NodeJS.ErrnoException).code === 'EPERM';
	}
}

/** Run holds in the store, renewed every holdMs / 3 on the injected timers. */
export class StoreRunHolds implements RunHolds {
	readonly #storeFor: StoreFor;
	readonly #timers: TimerDeps;
	readonly #holdMs: number;
	readonly #log: (line: string) => void;
	readonly #owner: string;

	constructor(storeFor: StoreFor, timers: TimerDeps, options: StoreRunHoldsOptions = {}) {
		const holdMs = options.holdMs ?? 60_000;
		if (!Number.isFinite(holdMs) || holdMs < 3) throw new TypeError(`Expected \`holdMs\` to be a number from 3 and up, got \`${holdMs}\``);
		this.#storeFor = storeFor;
		this.#timers = timers;
		this.#holdMs = holdMs;
		this.#log = options.log ?? (() => {});
		this.#owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
	}

	async tryHold(name: string): Promise<ReleaseHold | undefined> {
		const store = this.#storeFor(name);
		for (let round = 0; round < maxClaimRounds; round++) {
			const current = await store.getMeta(RUN_HOLD_KEY);
			const holder = parseHold(current);
			if (holder !== undefined && isHeldByOther(holder, this.#owner, this.#timers.now())) return undefined;
			const value = this.#value();
			if (await store.compareAndSetMeta(RUN_HOLD_KEY, current, value)) return this.#keep(name, store, value);
		}
		return undefined;
	}

	#value(): string {
		return JSON.stringify({owner: this.#owner, expiresAt: this.#timers.now() + this.#holdMs, host: hostname(), pid: process.pid} satisfies Hold);
	}

	/** Renews the hold until released; each change is a compare-and-set on the value we wrote last. */
	#keep(name: string, store: Store, first: string): ReleaseHold {
		let value: string | undefined = first;
		let handle: unknown;
		let isReleased = false;
		let changes = Promise.resolve();
		const renew = () => {
			changes = changes.then(async () => {
				if (value === undefined || isReleased) return;
				const next = this.#value();
				try {
					if (await store.compareAndSetMeta(RUN_HOLD_KEY, value, next)) {
						value = next;
						arm();
					} else {
						value = undefined;
						this.#log(`${name}: the run hold expired and was taken by another scheduler (was this process paused?)`);
					}
				} catch (error) {
					this.#log(`${name}: could not renew the run hold (trying again): ${(error as Error).message}`);
					arm();
				}
			});
		};
		const arm = () => {
			if (value !== undefined && !isReleased) handle = this.#timers.setTimer(renew, Math.floor(this.#holdMs / 3));
		};
		arm();
		return async () => {
			isReleased = true;
			this.#timers.clearTimer(handle);
			await changes;
			const mine = value;
			value = undefined;
			// Only our own hold is cleared, never one another scheduler took after ours expired.
			if (mine !== undefined) await store.compareAndSetMeta(RUN_HOLD_KEY, mine, '');
		};
	}
}

function parseMs(raw: string | undefined): number | undefined {
	const value = Number(raw ?? '');
	return raw && Number.isFinite(value) && value > 0 ? value : undefined;
}

function parseHold(raw: string | undefined): Hold | undefined {
	if (!raw) return undefined;
	try {
		const hold = JSON.parse(raw) as Partial<Hold>;
		return typeof hold.owner === 'string' && typeof hold.expiresAt === 'number' ? (hold as Hold) : undefined;
	} catch {
		return undefined; // unreadable: nobody holds it
	}
}
