// Fires crawlers on their cron schedules. Knows nothing of the runner: the run, the clock, the
// timers and the last-fire store are injected, so the whole policy runs on a fake clock in tests.
//
// Rules: one crawler's runs never overlap (a fire during its run is skipped or queued, at most one
// waiting fire per crawler); at most `maxParallel` runs at once across crawlers, later fires wait
// in one FIFO; fires missed while the scheduler was down are caught up once or not at all.
// Several schedulers on one store (several machines): each cron slot is claimed in the store
// (`LastFireStore.claim`), so only one of them fires it, and a run is held in the store
// (`RunHolds`), so the overlap policy also sees the runs the other schedulers started.
import {CrawljarError, describeError} from '../errors.js';
import {FireTimes} from './fire-times.js';
import {formatDuration, formatRunSummary} from './format-summary.js';
import type {NormalizedSchedule} from './schedule-options.js';
import {TimerAt, type TimerDeps} from './timer-at.js';

export interface LastFireStore {
	get(name: string): Promise<number | undefined>;
	set(name: string, at: number): Promise<void>;
	/**
	 * For a store shared by several schedulers: records `slotMs` (a cron slot) as the last fire only
	 * if the stored one is earlier, atomically, and resolves true for the one caller that did. When
	 * present, it replaces `set`, and a fire is run only by the scheduler that claimed its slot.
	 */
	claim?(name: string, slotMs: number): Promise<boolean>;
}

/** Releases a run hold (see RunHolds). */
export type ReleaseHold = () => Promise<void>;

/**
 * Runs of a crawler held across schedulers: a scheduler holds the crawler while its run goes, so
 * another scheduler's fire sees "previous run still going" and skips or queues it.
 */
export interface RunHolds {
	/** Holds `name` for a run of this scheduler; undefined when another scheduler's run holds it. */
	tryHold(name: string): Promise<ReleaseHold | undefined>;
}

export interface SchedulerDeps extends TimerDeps {
	/** Runs one crawler (resuming its interrupted run, if any); resolves with its summary. */
	run(name: string): Promise<unknown>;
	/** Persisted time of each crawler's last fire, for catch-up after a restart. */
	readonly lastFire: LastFireStore;
	/** Holds shared with other schedulers; without it, only this scheduler's own runs count. */
	readonly runHolds?: RunHolds;
	log(line: string): void;
}

export interface ScheduledCrawler {
	readonly name: string;
	readonly schedule: NormalizedSchedule;
}

/**
 * `fire`: a run starts (at once, or later for a fire that waited); `skip`: a fire is dropped;
 * `queued`: a fire waits for its crawler's run or for a free slot; `finish` / `error`: a run ended.
 */
export type SchedulerEventType = 'fire' | 'skip' | 'queued' | 'finish' | 'error';

export interface SchedulerEvent {
	readonly type: SchedulerEventType;
	readonly name: string;
	/** The fire time (ms) this event belongs to: the cron time, or the start time of a catch-up. */
	readonly at: number;
	/** The run's result, on `finish`. */
	readonly summary?: unknown;
	/** What the run threw, on `error`. */
	readonly error?: unknown;
}

export type SchedulerListener = (event: SchedulerEvent) => void;

export interface SchedulerOptions {
	/** Runs going at once across all crawlers. @default 2 */
	readonly maxParallel?: number;
	/** Sees every event, including catch-up fires sent out while `start()` runs. */
	readonly onEvent?: SchedulerListener;
	/** How often a fire queued behind another scheduler's run checks whether that run ended. @default 5000 */
	readonly heldElsewherePollMs?: number;
}

const defaults = {maxParallel: 2, heldElsewherePollMs: 5000} as const;
const noHolds: RunHolds = {tryHold: async () => async () => {}};

interface Entry {
	readonly crawler: ScheduledCrawler;
	readonly times: FireTimes;
	readonly timer: TimerAt;
	/** The run going now (at most one per crawler). */
	running?: Promise<void>;
	/** Fire time of the fire waiting in the FIFO (at most one per crawler). */
	waitingAt?: number;
	/** The waiting fire waits for another scheduler's run: `poll` re-checks it, #drain passes it over. */
	isWaitingElsewhere?: boolean;
	readonly poll: TimerAt;
	/** Serialized claims and last-fire writes, each fire decided after its own; never rejects (failures are logged). */
	persisted: Promise<void>;
}

export class Scheduler {
	readonly #deps: SchedulerDeps;
	readonly #maxParallel: number;
	readonly #pollMs: number;
	readonly #holds: RunHolds;
	readonly #entries = new Map<string, Entry>();
	readonly #waiting: Entry[] = [];
	readonly #listeners = new Set<{type: SchedulerEventType | '*'; listener: SchedulerListener}>();
	#active = 0;
	#state: 'new' | 'started' | 'stopped' = 'new';

	constructor(crawlers: readonly ScheduledCrawler[], deps: SchedulerDeps, options: SchedulerOptions = {}) {
		const {maxParallel, onEvent, heldElsewherePollMs} = {...defaults, ...options};
		if (!Number.isInteger(maxParallel) || maxParallel < 1) {
			throw new TypeError(`Expected \`maxParallel\` to be an integer from 1 and up, got \`${maxParallel}\``);
		}
		if (!Number.isFinite(heldElsewherePollMs) || heldElsewherePollMs <= 0) {
			throw new TypeError(`Expected \`heldElsewherePollMs\` to be a positive number, got \`${heldElsewherePollMs}\``);
		}
		this.#deps = deps;
		this.#maxParallel = maxParallel;
		this.#pollMs = heldElsewherePollMs;
		this.#holds = deps.runHolds ?? noHolds;
		if (onEvent) this.#listeners.add({type: '*', listener: onEvent});
		for (const crawler of crawlers) {
			if (this.#entries.has(crawler.name)) {
				throw new CrawljarError('ERR_SCHEDULE', `two scheduled crawlers are named '${crawler.name}'`);
			}
			this.#entries.set(crawler.name, {
				crawler,
				times: new FireTimes(crawler.name, crawler.schedule),
				timer: new TimerAt(deps),
				poll: new TimerAt(deps),
				persisted: Promise.resolve(),
			});
		}
	}

	/** Catches up missed fires (per `catchUp`) and arms every crawler's timer. */
	async start(): Promise<void> {
		if (this.#state !== 'new') throw new CrawljarError('ERR_SCHEDULE', `the scheduler was already ${this.#state}`);
		this.#state = 'started';
		const entries = [...this.#entries.values()];
		const lastFires = await Promise.all(entries.map(async (entry) => this.#readLastFire(entry)));
		if (this.#state !== 'started') return; // stop() was called while reading
		const now = this.#deps.now();
		entries.forEach((entry, index) => {
			this.#catchUp(entry, lastFires[index], now);
			this.#arm(entry, now);
		});
		// Catch-up fires are decided (claimed, then started or queued) before start() resolves.
		await Promise.all(entries.map(async (entry) => entry.persisted));
	}

	/** Stops firing and drops waiting fires; resolves once the running runs have finished. */
	async stop(): Promise<void> {
		this.#state = 'stopped';
		for (const entry of this.#entries.values()) {
			entry.timer.clear();
			entry.poll.clear();
		}
		for (const entry of this.#waiting.splice(0)) {
			this.#deps.log(`dropped ${entry.crawler.name}: queued fire not run, scheduler stopping`);
			delete entry.waitingAt;
			delete entry.isWaitingElsewhere;
		}
		const entries = [...this.#entries.values()];
		await Promise.all(entries.map(async (entry) => Promise.all([entry.running, entry.persisted])));
	}

	/** The crawler's next `count` fire times from now. */
	nextFires(name: string, count: number): Date[] {
		return this.#entry(name).times.upcoming(this.#deps.now(), count);
	}

	/** Whether the crawler has a run going, or a fire waiting to start. */
	state(name: string): {isRunning: boolean; isWaiting: boolean} {
		const entry = this.#entry(name);
		return {isRunning: entry.running !== undefined, isWaiting: entry.waitingAt !== undefined};
	}

	/** Observes one event type; returns the unsubscribe function. Listeners cannot change scheduling. */
	on(type: SchedulerEventType, listener: SchedulerListener): () => void {
		const subscription = {type, listener};
		this.#listeners.add(subscription);
		return () => this.#listeners.delete(subscription);
	}

	#entry(name: string): Entry {
		const entry = this.#entries.get(name);
		if (!entry) throw new CrawljarError('ERR_SCHEDULE', `no scheduled crawler named '${name}'`);
		return entry;
	}

	async #readLastFire(entry: Entry): Promise<number | undefined> {
		try {
			return await this.#deps.lastFire.get(entry.crawler.name);
		} catch (error) {
			this.#deps.log(`error ${entry.crawler.name}: could not read the last fire time (no catch-up): ${message(error)}`);
			return undefined;
		}
	}

	#catchUp(entry: Entry, lastFire: number | undefined, now: number): void {
		if (lastFire === undefined) return;
		const missed = entry.times.next(lastFire);
		if (missed === undefined || missed > now) return;
		const {name, schedule} = entry.crawler;
		if (schedule.catchUp === 'none') {
			this.#deps.log(`catch-up ${name}: missed the fire of ${iso(missed)}, not run (catchUp: none)`);
			return;
		}
		// Claimed as the latest missed slot: a scheduler starting later sees it as the last fire
		// and finds nothing missed, so the catch-up runs once whatever the number of schedulers.
		this.#fire(entry, now, `catch-up: missed ${iso(missed)}`, entry.times.latest(lastFire, now) ?? missed);
	}

	#arm(entry: Entry, from: number): void {
		const at = entry.times.next(from);
		if (at === undefined) {
			this.#deps.log(`${entry.crawler.name}: '${entry.crawler.schedule.cron}' never fires again`);
			return;
		}
		entry.timer.set(at, () => {
			if (this.#state !== 'started') return;
			this.#fire(entry, at, `scheduled ${iso(at)}`);
			// From now, not from `at`: fires missed while the process was stalled collapse into this one.
			this.#arm(entry, Math.max(at, this.#deps.now()));
		});
	}

	/** A fire of `slot` (its cron time; `at` differs for a catch-up): decided once it is claimed. */
	#fire(entry: Entry, at: number, why: string, slot = at): void {
		entry.persisted = entry.persisted.then(async () => {
			const isOurs = await this.#claim(entry, at, slot);
			if (isOurs && this.#state === 'started') this.#decide(entry, at, why);
		});
	}

	/** Whether this scheduler fires the slot. Never rejects: a failed claim is logged (and not fired), a failed plain write only logged. */
	async #claim(entry: Entry, at: number, slot: number): Promise<boolean> {
		const {name} = entry.crawler;
		const {lastFire, log} = this.#deps;
		if (lastFire.claim === undefined) {
			await lastFire.set(name, at).catch((error: unknown) => log(`error ${name}: could not save the last fire time: ${message(error)}`));
			return true;
		}
		try {
			const isOurs = await lastFire.claim(name, slot);
			if (!isOurs) log(`${name}: the fire of ${iso(slot)} was claimed by another scheduler`);
			return isOurs;
		} catch (error) {
			// Firing without the claim could run the slot twice: not firing loses one slot at most.
			log(`error ${name}: could not claim the fire of ${iso(slot)} (not run): ${message(error)}`);
			return false;
		}
	}

	#decide(entry: Entry, at: number, why: string): void {
		const {name, schedule} = entry.crawler;
		if (entry.waitingAt !== undefined) {
			this.#deps.log(`skipped ${name}: a fire is already waiting to start`);
			this.#emit({type: 'skip', name, at});
		} else if (entry.running !== undefined && schedule.overlap === 'skip') {
			this.#deps.log(`skipped ${name}: previous run still going`);
			this.#emit({type: 'skip', name, at});
		} else if (entry.running !== undefined || this.#active >= this.#maxParallel) {
			entry.waitingAt = at;
			this.#waiting.push(entry);
			const reason =
				entry.running === undefined ? `${this.#active} runs going (max-parallel ${this.#maxParallel})` : 'previous run still going';
			this.#deps.log(`queued ${name} (${why}): ${reason}`);
			this.#emit({type: 'queued', name, at});
		} else {
			this.#start(entry, at, `fire ${name} (${why})`);
		}
	}

	/** Starts waiting fires, oldest first, whose crawler is idle, while slots are free. */
	#drain(): void {
		for (let index = 0; index < this.#waiting.length && this.#active < this.#maxParallel; ) {
			const entry = this.#waiting[index]!;
			if (entry.running !== undefined || entry.isWaitingElsewhere) {
				index++;
				continue;
			}
			this.#waiting.splice(index, 1);
			const at = entry.waitingAt!;
			delete entry.waitingAt;
			this.#start(entry, at, `start ${entry.crawler.name} (queued fire of ${iso(at)})`);
		}
	}

	/** Books a slot, holds the crawler across schedulers, then logs `announce` and runs it. */
	#start(entry: Entry, at: number, announce: string): void {
		const {name} = entry.crawler;
		// Book the slot synchronously so that two fires in the same tick cannot both take it.
		this.#active++;
		const running = (async () => {
			const release = await this.#hold(entry);
			if (release === undefined) {
				this.#heldElsewhere(entry, at);
				return;
			}
			delete entry.isWaitingElsewhere;
			try {
				this.#deps.log(announce);
				await this.#run(entry, at);
			} finally {
				await release().catch((error: unknown) => this.#deps.log(`error ${name}: could not release the run hold: ${message(error)}`));
			}
		})().finally(() => {
			delete entry.running;
			this.#active--;
			if (this.#state === 'started') this.#drain();
		});
		entry.running = running;
	}

	async #hold(entry: Entry): Promise<ReleaseHold | undefined> {
		try {
			return await this.#holds.tryHold(entry.crawler.name);
		} catch (error) {
			// As with a failed claim: not knowing whether another run is going, do not start one.
			this.#deps.log(`error ${entry.crawler.name}: could not check for runs of other schedulers: ${message(error)}`);
			return undefined;
		}
	}

	/** Another scheduler's run holds the crawler: the fire is skipped, or waits and polls (queue). */
	#heldElsewhere(entry: Entry, at: number): void {
		const {name, schedule} = entry.crawler;
		const isRepoll = entry.isWaitingElsewhere === false;
		if (schedule.overlap === 'skip' || entry.waitingAt !== undefined || this.#state !== 'started') {
			this.#deps.log(`skipped ${name}: previous run still going on another scheduler`);
			this.#emit({type: 'skip', name, at});
			delete entry.isWaitingElsewhere;
			return;
		}
		entry.waitingAt = at;
		entry.isWaitingElsewhere = true;
		this.#waiting.push(entry);
		if (!isRepoll) {
			this.#deps.log(`queued ${name} (fire of ${iso(at)}): previous run still going on another scheduler`);
			this.#emit({type: 'queued', name, at});
		}
		entry.poll.set(this.#deps.now() + this.#pollMs, () => {
			entry.isWaitingElsewhere = false; // false, not absent: the next failed hold is a re-poll
			this.#drain();
		});
	}

	async #run(entry: Entry, at: number): Promise<void> {
		const {name} = entry.crawler;
		const startedMs = this.#deps.now();
		this.#emit({type: 'fire', name, at});
		try {
			const summary = await this.#deps.run(name);
			const measuredMs = this.#deps.now() - startedMs;
			this.#deps.log(`finish ${name} ${formatRunSummary(summary, measuredMs)}`);
			this.#emit({type: 'finish', name, at, summary});
		} catch (error) {
			const measuredMs = this.#deps.now() - startedMs;
			this.#deps.log(`error ${name} after ${formatDuration(measuredMs)}: ${message(error)}`);
			this.#emit({type: 'error', name, at, error});
		}
	}

	#emit(event: SchedulerEvent): void {
		for (const {type, listener} of this.#listeners) {
			if (type !== '*' && type !== event.type) continue;
			try {
				listener(event);
			} catch (error) {
				this.#deps.log(`error in a '${event.type}' listener: ${message(error)}`);
			}
		}
	}
}

function iso(ms: number): string {
	return new Date(ms).toISOString();
}

function message(error: unknown): string {
	const {code, message} = describeError(error);
	return `${code}: ${message}`;
}
