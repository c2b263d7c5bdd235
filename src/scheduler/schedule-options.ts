// The `schedule` field of a crawler definition: its zod check (reused by src/job/schema.ts) and
// its normalized form. Validation asks croner itself, so what loads is exactly what will fire.
import {Cron} from 'croner';
import {z} from 'zod';
import {forwardIssues} from '../util/option-schemas.js';

export type OverlapPolicy = 'skip' | 'queue';
export type CatchUpPolicy = 'none' | 'once';

/** What a user writes: a cron string, or the cron with its options. */
export type ScheduleOption =
	| string
	| {
			/** Five fields, or six with seconds first (croner syntax, `@daily` style nicknames too). */
			readonly cron: string;
			/** IANA zone the cron is read in, e.g. `Europe/Paris`. @default the process's local zone */
			readonly timezone?: string;
			/** A fire while the previous run is still going is dropped (`skip`) or held (`queue`, at most one). @default 'skip' */
			readonly overlap?: OverlapPolicy;
			/** Fires missed while the scheduler was down: forget them (`none`) or run once at start (`once`). @default 'none' */
			readonly catchUp?: CatchUpPolicy;
	  };

export interface NormalizedSchedule {
	readonly cron: string;
	readonly timezone?: string;
	readonly overlap: OverlapPolicy;
	readonly catchUp: CatchUpPolicy;
}

export const scheduleDefaults = {overlap: 'skip', catchUp: 'none'} as const satisfies Pick<
	NormalizedSchedule,
	'overlap' | 'catchUp'
>;

/** The reason croner rejects `cron` (read in `timezone`), or undefined when it is valid. */
export function cronProblem(cron: string, timezone?: string): string | undefined {
	// croner reads a string containing ':' as a one-shot ISO date, not a cron pattern.
	if (cron.includes(':')) return 'expected five or six space-separated cron fields';
	try {
		new Cron(cron, {paused: true, ...(timezone === undefined ? {} : {timezone})});
		return undefined;
	} catch (error) {
		return error instanceof Error ? error.message : String(error);
	}
}

/** The reason the zone is unusable, or undefined. croner only notices a bad zone when computing a time. */
export function timezoneProblem(timezone: string): string | undefined {
	try {
		new Cron('* * * * *', {paused: true, timezone}).nextRun();
		return undefined;
	} catch (error) {
		return error instanceof Error ? error.message : String(error);
	}
}

const scheduleObject = z.strictObject({
	cron: z.string(),
	timezone: z.string().min(1).optional(),
	overlap: z.enum(['skip', 'queue']).optional(),
	catchUp: z.enum(['none', 'once']).optional(),
});

/**
 * Checks a definition's `schedule`. Issues carry the path `cron` or `timezone` (the string form is
 * shorthand for `{cron}`, so its problem is reported as `schedule.cron` too) and a message without
 * the path, which the definition loader prefixes: `schedule.cron: invalid cron expression '61 * * * *': …`.
 */
// Not a z.union: zod reports a failed union as a bare "Invalid input", losing which field is wrong.
export const scheduleSchema = z
	.custom<ScheduleOption>(() => true)
	.superRefine((value, context) => {
		if (typeof value !== 'string') {
			if (typeof value !== 'object' || value === null) {
				context.addIssue({code: 'custom', message: 'expected a cron string or { cron, timezone?, overlap?, catchUp? }'});
				return;
			}
			const parsed = scheduleObject.safeParse(value);
			if (!parsed.success) {
				forwardIssues(context, parsed.error.issues, scheduleObject);
				return;
			}
		}
		const {cron, timezone} = typeof value === 'string' ? {cron: value, timezone: undefined} : value;
		let isZoneValid = true;
		if (timezone !== undefined) {
			const problem = timezoneProblem(timezone);
			if (problem !== undefined) {
				isZoneValid = false;
				context.addIssue({code: 'custom', path: ['timezone'], message: `invalid timezone '${timezone}': ${problem}`});
			}
		}
		const problem = cronProblem(cron, isZoneValid ? timezone : undefined);
		if (problem !== undefined) {
			context.addIssue({code: 'custom', path: ['cron'], message: `invalid cron expression '${cron}': ${problem}`});
		}
	});

// Keeps the hand-written type and the object schema in step at compile time: every value the
// type allows has the shape the schema accepts (zod's inferred optionals add `| undefined`).
type Assert<T extends true> = T;
type ScheduleObjectMatches = Assert<Exclude<ScheduleOption, string> extends z.infer<typeof scheduleObject> ? true : false>;

/** Fills the defaults. Expects a value that passed `scheduleSchema`. */
export function normalizeSchedule(value: ScheduleOption): NormalizedSchedule {
	if (typeof value === 'string') return {cron: value, ...scheduleDefaults};
	return {
		cron: value.cron,
		...(value.timezone === undefined ? {} : {timezone: value.timezone}),
		overlap: value.overlap ?? scheduleDefaults.overlap,
		catchUp: value.catchUp ?? scheduleDefaults.catchUp,
	};
}
