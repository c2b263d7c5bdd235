// A fake clock with fake timers for the scheduler tests: time only moves when a test advances
// it, and every due timer runs at its own due time, with promises settled in between.
import type {SchedulerDeps} from '../../src/scheduler/scheduler.js';

interface FakeTimer {
	readonly id: number;
	readonly dueMs: number;
	readonly fn: () => void;
}

export class FakeClock {
	nowMs: number;
	readonly delays: number[] = [];
	#timers: FakeTimer[] = [];
	#nextId = 1;

	constructor(start: string | number) {
		this.nowMs = typeof start === 'number' ? start : Date.parse(start);
	}

	now = (): number => this.nowMs;

	setTimer = (fn: () => void, ms: number): unknown => {
		this.delays.push(ms);
		const timer = {id: this.#nextId++, dueMs: this.nowMs + ms, fn};
		this.#timers.push(timer);
		return timer.id;
	};

	clearTimer = (handle: unknown): void => {
		this.#timers = this.#timers.filter((timer) => timer.id !== handle);
	};

	get pendingTimers(): number {
		return this.#timers.length;
	}

	/** Moves time forward by `ms`, running each due timer at its due time (earliest first). */
	async advance(ms: number): Promise<void> {
		const targetMs = this.nowMs + ms;
		for (;;) {
			await settle();
			const due = this.#timers.filter((timer) => timer.dueMs <= targetMs).sort((a, b) => a.dueMs - b.dueMs || a.id - b.id)[0];
			if (!due) break;
			this.#timers = this.#timers.filter((timer) => timer !== due);
			this.nowMs = Math.max(this.nowMs, due.dueMs);
			due.fn();
		}
		this.nowMs = targetMs;
		await settle();
	}

	/** Advances to an absolute ISO time. */
	async advanceTo(iso: string): Promise<void> {
		await this.advance(Date.parse(iso) - this.nowMs);
	}

	/** A run that takes `ms` of fake time, then resolves with `summary`. */
	slowRun(ms: number, summary: unknown = {}): () => Promise<unknown> {
		return async () => new Promise((resolve) => this.setTimer(() => resolve(summary), ms));
	}
}

/** Lets every pending promise chain settle (they all resolve without real I/O). */
export async function settle(): Promise<void> {
	for (let index = 0; index < 3; index++) await new Promise((resolve) => setImmediate(resolve));
}

export interface Recorder {
	readonly lines: string[];
	readonly runs: {name: string; atMs: number}[];
	readonly lastFires: Map<string, number>;
	readonly sets: {name: string; at: number}[];
}

/** Deps on the fake clock; `run` records each call, then defers to `run` (default: instant). */
export function fakeDeps(
	clock: FakeClock,
	run: (name: string) => Promise<unknown> = async () => ({}),
	lastFires = new Map<string, number>(),
): SchedulerDeps & Recorder {
	const lines: string[] = [];
	const runs: {name: string; atMs: number}[] = [];
	const sets: {name: string; at: number}[] = [];
	return {
		lines,
		runs,
		lastFires,
		sets,
		now: clock.now,
		setTimer: clock.setTimer,
		clearTimer: clock.clearTimer,
		async run(name) {
			runs.push({name, atMs: clock.now()});
			return run(name);
		},
		lastFire: {
			async get(name) {
				return lastFires.get(name);
			},
			async set(name, at) {
				sets.push({name, at});
				lastFires.set(name, at);
			},
		},
		log: (line) => lines.push(line),
	};
}
