// Fire times of one schedule. croner computes them; its own timers never run (the scheduler
// drives injected timers), so a fake clock sees the same times as the real one.
import {Cron} from 'croner';
import {CrawljarError} from '../errors.js';
import {cronProblem, timezoneProblem, type NormalizedSchedule} from './schedule-options.js';

export class FireTimes {
	readonly #cron: Cron;

	/** Throws ERR_SCHEDULE naming the crawler and field: schedules given from code skip the definition check. */
	constructor(name: string, schedule: NormalizedSchedule) {
		const {cron, timezone} = schedule;
		const zoneProblem = timezone === undefined ? undefined : timezoneProblem(timezone);
		if (zoneProblem !== undefined) {
			throw new CrawljarError('ERR_SCHEDULE', `${name}: schedule.timezone: invalid timezone '${timezone}': ${zoneProblem}`);
		}
		const problem = cronProblem(cron, timezone);
		if (problem !== undefined) {
			throw new CrawljarError('ERR_SCHEDULE', `${name}: schedule.cron: invalid cron expression '${cron}': ${problem}`);
		}
		this.#cron = new Cron(cron, {paused: true, ...(timezone === undefined ? {} : {timezone})});
	}

	/** The first fire strictly after `afterMs`, or undefined when the pattern never matches again. */
	next(afterMs: number): number | undefined {
		return this.#cron.nextRun(new Date(afterMs))?.getTime();
	}

	/**
	 * The last fire in (`afterMs`, `untilMs`], or undefined when there is none. A binary search on
	 * `next` (about 40 steps, whatever the number of fires in between: a per-second cron missed
	 * for a week has 600,000).
	 */
	latest(afterMs: number, untilMs: number): number | undefined {
		const first = this.next(afterMs);
		if (first === undefined || first > untilMs) return undefined;
		// Invariant: a fire lies in (low, untilMs], none in (high, untilMs]; so at the end the last one is `high`.
		let low = afterMs;
		let high = untilMs;
		while (high - low > 1) {
			const middle = Math.floor((low + high) / 2);
			if (this.#hasNoFire(middle, untilMs)) high = middle;
			else low = middle;
		}
		return this.next(low);
	}

	/** No fire in (`fromMs`, `untilMs`]. */
	#hasNoFire(fromMs: number, untilMs: number): boolean {
		const at = this.next(fromMs);
		return at === undefined || at > untilMs;
	}

	/** The next `count` fires after `afterMs` (fewer if the pattern runs out). */
	upcoming(afterMs: number, count: number): Date[] {
		const fires: Date[] = [];
		let from = afterMs;
		while (fires.length < count) {
			const at = this.next(from);
			if (at === undefined) break;
			fires.push(new Date(at));
			from = at;
		}
		return fires;
	}
}
