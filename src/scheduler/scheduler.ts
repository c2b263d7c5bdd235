// Fires crawlers on their cron schedules. Knows nothing of the runner: the run, the clock, the
// timers and the last-fire store are injected, so the whole policy runs on a fake clock in tests.
//
// Rules: one crawler's runs never overlap (a fire during its run is skipped or queued, at most one
// waiting fire per crawler); at most `maxParallel` runs at once across crawlers, later fires wait
// in one FIFO; fires missed while the scheduler was down are caught up once or not at all.
import {CrawljarError, describeError} from '../errors.js';
import {FireTimes} from './fire-times.js';
import {formatDuration, formatRunSummary} from './format-summary.js';
import type {NormalizedSchedule} from './schedule-options.js';
import {TimerAt, type TimerDeps} from './timer-at.js';

export interface LastFireStore {
	get(name: string): Promise<number | undefined>;
	set(name: string, at: number): Promise<void>;
}

export interface SchedulerDeps extends TimerDeps {
	/** Runs one crawler (resuming its interrupted run, if any); resolves with its summary. */
	run(name: string): Promise<unknown>;
	/** Persisted time of each crawler's last fire, for catch-up after a restart. */
	readonly lastFire: LastFireStore;
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
}

const defaults = {maxParallel: 2} as const;

interface Entry {
	readonly crawler: ScheduledCrawler;
	readonly times: FireTimes;
	readonly timer: TimerAt;
	/** The run going now (at most one per crawler). */
	running?: Promise<void>;
	/** Fire time of the fire waiting in the FIFO (at most one per crawler). */
	waitingAt?: number;
	/** Serialized last-fire writes; never rejects (failures are logged). */
	persisted: Promise<void>;
}

export class Scheduler {
	readonly #deps: SchedulerDeps;
	readonly #maxParallel: number;
	readonly #entries = new Map<string, Entry>();
	readonly #waiting: Entry[] = [];
	readonly #listeners = new Set<{type: SchedulerEventType | '*'; listener: SchedulerListener}>();
	#active = 0;
	#state: 'new' | 'started' | 'stopped' = 'new';

	constructor(crawlers: readonly ScheduledCrawler[], deps: SchedulerDeps, options: SchedulerOptions = {}) {
		const {maxParallel, onEvent} = {...defaults, ...options};
		if (!Number.isInteger(maxParallel) || maxParallel < 1) {
			throw new TypeError(`Expected \`maxParallel\` to be an integer from 1 and up, got \`${maxParallel}\``);
		}
		this.#deps = deps;
		this.#maxParallel = maxParallel;
		if (onEvent) this.#listeners.add({type: '*', listener: onEvent});
		for (const crawler of crawlers) {
			if (this.#entries.has(crawler.name)) {
				throw new CrawljarError('ERR_SCHEDULE', `two scheduled crawlers are named '${crawler.name}'`);
			}
			this.#entries.set(crawler.name, {
				crawler,
				times: new FireTimes(crawler.name, crawler.schedule),
				timer: new TimerAt(deps),
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
	}

	/** Stops firing and drops waiting fires; resolves once the running runs have finished. */
	async stop(): Promise<void> {
		this.#state = 'stopped';
		for (const entry of this.#entries.values()) entry.timer.clear();
		for (const entry of this.#waiting.splice(0)) {
			this.#deps.log(`dropped ${entry.crawler.name}: queued fire not run, scheduler stopping`);
			delete entry.waitingAt;
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
		this.#fire(entry, now, `catch-up: missed ${iso(missed)}`);
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

	#fire(entry: Entry, at: number, why: string): void {
		const {name, schedule} = entry.crawler;
		this.#persistLastFire(entry, at);
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
			this.#deps.log(`fire ${name} (${why})`);
			this.#start(entry, at);
		}
	}

	/** Starts waiting fires, oldest first, whose crawler is idle, while slots are free. */
	#drain(): void {
		for (let index = 0; index < this.#waiting.length && this.#active < this.#maxParallel; ) {
			const entry = this.#waiting[index]!;
			if (entry.running !== undefined) {
				index++;
				continue;
			}
			this.#waiting.splice(index, 1);
			const at = entry.waitingAt!;
			delete entry.waitingAt;
			this.#deps.log(`start ${entry.crawler.name} (queued fire of ${iso(at)})`);
			this.#start(entry, at);
		}
	}

	#start(entry: Entry, at: number): void {
		const {name} = entry.crawler;
		// Book the slot synchronously so that two fires in the same tick cannot both take it.
		this.#active++;
		const startedMs = this.#deps.now();
		this.#emit({type: 'fire', name, at});
		const running = (async () => {
			await entry.persisted; // the last fire time is saved before the run starts
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
		})().finally(() => {
			delete entry.running;
			this.#active--;
			if (this.#state === 'started') this.#drain();
		});
		entry.running = running;
	}

	#persistLastFire(entry: Entry, at: number): void {
		const {name} = entry.crawler;
		entry.persisted = entry.persisted
			.then(async () => this.#deps.lastFire.set(name, at))
			.catch((error: unknown) => this.#deps.log(`error ${name}: could not save the last fire time: ${message(error)}`));
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
