// Building blocks of the option schemas (crawler definition, login steps, retry, hosts,
// sessions, schedule). Each check carries one message a user can act on ("expected a positive
// integer"), because zod's defaults ("Invalid input: expected number, received string") do not
// say what would be accepted. Messages never echo the value: it may be a password.
import {z} from 'zod';

type AnyFunction = (...args: never[]) => unknown;

const isFunction = (value: unknown): value is AnyFunction => typeof value === 'function';

/** A function (its signature is the hand-written type's business: it cannot be checked at load). */
export const fn = <T extends AnyFunction = AnyFunction>(what = 'a function') => z.custom<T>(isFunction, {message: `expected ${what}`});

export const bool = () => z.custom<boolean>((value) => typeof value === 'boolean', {message: 'expected true or false'});

export const positiveInt = () =>
	z.custom<number>((value) => Number.isInteger(value) && (value as number) > 0, {message: 'expected a positive integer'});

export const nonNegativeInt = () =>
	z.custom<number>((value) => Number.isInteger(value) && (value as number) >= 0, {message: 'expected an integer >= 0'});

/** A finite number >= min (Infinity is refused: an endless wait or retry would make a run loop). */
export const finiteAtLeast = (min: number) =>
	z.custom<number>((value) => typeof value === 'number' && Number.isFinite(value) && value >= min, {
		message: `expected a finite number >= ${min}`,
	});

export const positiveNumber = () =>
	z.custom<number>((value) => typeof value === 'number' && Number.isFinite(value) && value > 0, {message: 'expected a number > 0'});

export const nonEmptyString = (what = 'a non-empty string') =>
	z.custom<string>((value) => typeof value === 'string' && value.trim() !== '', {message: `expected ${what}`});

export const anyString = () => z.custom<string>((value) => typeof value === 'string', {message: 'expected a string'});

export const stringRecord = () =>
	z.custom<Record<string, string>>(
		(value) =>
			typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((entry) => typeof entry === 'string'),
		{message: 'expected an object of string values ({ name: "value" })'},
	);

/** A URL absolute or relative to the crawler's first start URL (login and token endpoints). */
export const urlOrPath = () => nonEmptyString('a URL (absolute, or relative to the first start URL)');

export const oneOf = <const T extends readonly string[]>(values: T) =>
	z.custom<T[number]>((value) => values.includes(value as string), {message: `expected ${values.map((value) => `'${value}'`).join(' or ')}`});

/** An array whose own problem ("not an array") and whose items' problems each get a message. */
export const arrayOf = <T extends z.ZodType>(item: T, what: string) => z.array(item, {error: `expected ${what}`});

// Compile-time checks that keep a hand-written options type (which carries the JSDoc users see
// in their editor) and its schema in step: every value the type allows passes the schema's
// shape, and both name exactly the same fields. A field added to one but not the other fails
// `npm run typecheck`.
export type Assert<T extends true> = T;
type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never] ? true : false;
export type Describes<Schema extends z.ZodType, Type> = [Type] extends [z.input<Schema>] ? SameKeys<Required<Type>, Required<z.input<Schema>>> : false;

interface Issue {
	readonly code?: string;
	readonly path: readonly PropertyKey[];
	readonly message: string;
	readonly keys?: readonly string[];
}

/**
 * One line per problem, `field.path: message`. An unknown key (a typo) is reported at its own
 * path, with the closest known field when there is one: `login.feilds: unknown option (did
 * you mean 'fields'?)`.
 */
export function formatIssues(issues: readonly Issue[], schema: z.ZodType, prefix?: string): string[] {
	const pathOf = (path: readonly PropertyKey[]) => [...(prefix ? [prefix] : []), ...path.map(String)].join('.') || '(definition)';
	return issues.flatMap((issue) => {
		if (issue.code === 'unrecognized_keys' && issue.keys) {
			return issue.keys.map((key) => `${pathOf([...issue.path, key])}: ${unknownOption(key, knownKeys(schema, issue.path))}`);
		}
		return [`${pathOf(issue.path)}: ${issue.message}`];
	});
}

function unknownOption(key: string, known: readonly string[]): string {
	const suggestion = closest(key, known);
	return `unknown option${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`;
}

/**
 * Re-reports a nested schema's issues inside a refinement (a login step's options under
 * `login`, a route's `retry` under `routes.<label>.retry`), unknown keys at their own path.
 */
export function forwardIssues(context: z.RefinementCtx, issues: readonly Issue[], schema: z.ZodType, under: readonly PropertyKey[] = []): void {
	for (const issue of issues) {
		if (issue.code === 'unrecognized_keys' && issue.keys) {
			for (const key of issue.keys) {
				context.addIssue({code: 'custom', path: [...under, ...issue.path, key], message: unknownOption(key, knownKeys(schema, issue.path))});
			}
		} else {
			context.addIssue({code: 'custom', path: [...under, ...issue.path], message: issue.message});
		}
	}
}

/** The known key within edit distance 2 of a typo, if any. */
function closest(typo: string, known: readonly string[]): string | undefined {
	let best: {key: string; distance: number} | undefined;
	for (const key of known) {
		const distance = editDistance(typo.toLowerCase(), key.toLowerCase());
		if (distance <= 2 && (!best || distance < best.distance)) best = {key, distance};
	}
	return best?.key;
}

function editDistance(a: string, b: string): number {
	let previous = Array.from({length: b.length + 1}, (_, index) => index);
	for (let i = 1; i <= a.length; i++) {
		const current = [i];
		for (let j = 1; j <= b.length; j++) {
			current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
		}
		previous = current;
	}
	return previous[b.length]!;
}

/** The field names a (possibly nested, optional) zod object schema accepts at `path`. */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
	let current: z.ZodType | undefined = schema;
	for (const segment of path) {
		current = unwrap(current);
		if (current instanceof z.ZodObject) current = (current.shape as Record<string, z.ZodType>)[String(segment)];
		else if (current instanceof z.ZodArray) current = current.element as z.ZodType;
		else return [];
		if (!current) return [];
	}
	current = unwrap(current);
	return current instanceof z.ZodObject ? Object.keys(current.shape) : [];
}

function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
	let current = schema;
	while (current instanceof z.ZodOptional || current instanceof z.ZodReadonly || current instanceof z.ZodPipe) {
		current = current instanceof z.ZodPipe ? (current.in as z.ZodType) : (current.unwrap() as z.ZodType);
	}
	return current;
}
