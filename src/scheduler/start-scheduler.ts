// Runs from code: the entry point for users who embed crawljar in their own process. Real timers
// and Date.now unless injected; schedules given here are checked like a definition's.
import {CrawljarError} from '../errors.js';
import {normalizeSchedule, scheduleSchema, type NormalizedSchedule, type ScheduleOption} from './schedule-options.js';
import {Scheduler, type LastFireStore, type SchedulerDeps, type SchedulerOptions} from './scheduler.js';

export interface StartSchedulerCrawler {
	readonly name: string;
	readonly schedule: ScheduleOption | NormalizedSchedule;
}

export type StartSchedulerDeps = Pick<SchedulerDeps, 'run'> &
	Partial<Omit<SchedulerDeps, 'run'>>;

/**
 * Creates a Scheduler on real timers, starts it (catch-up included) and returns it; `stop()` it
 * to end. Without `lastFire`, fire times are kept in memory, so nothing is caught up after a
 * restart. Without `log`, nothing is printed: listen with `onEvent` or `scheduler.on()`.
 */
export async function startScheduler(
	crawlers: readonly StartSchedulerCrawler[],
	deps: StartSchedulerDeps,
	options: SchedulerOptions = {},
): Promise<Scheduler> {
	const scheduled = crawlers.map(({name, schedule}) => ({name, schedule: checkSchedule(name, schedule)}));
	const scheduler = new Scheduler(
		scheduled,
		{
			now: Date.now,
			setTimer: (fn, ms) => setTimeout(fn, ms),
			clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
			lastFire: memoryLastFire(),
			log: () => {},
			...deps,
		},
		options,
	);
	await scheduler.start();
	return scheduler;
}

function checkSchedule(name: string, schedule: ScheduleOption): NormalizedSchedule {
	const parsed = scheduleSchema.safeParse(schedule);
	if (!parsed.success) {
		const problems = parsed.error.issues.map((issue) => `schedule${issue.path.map((part) => `.${String(part)}`).join('')}: ${issue.message}`);
		throw new CrawljarError('ERR_SCHEDULE', `${name}: ${problems.join('; ')}`);
	}
	return normalizeSchedule(schedule);
}

export function memoryLastFire(): LastFireStore {
	const fires = new Map<string, number>();
	return {
		async get(name) {
			return fires.get(name);
		},
		async set(name, at) {
			fires.set(name, at);
		},
	};
}
