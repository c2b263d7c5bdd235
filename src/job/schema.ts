// The one check of a crawler definition, at the boundary (STYLE pattern 4). Past this point the
// definition is trusted. Every options object has its own strict schema next to its type and
// defaults (login steps, retry, hosts, sessions, timeouts, schedule); this file composes them.
// Errors name the field path: `routes.book: expected a function`, `login.fields: expected a
// function`, `retry.statuses.transient: expected an array of status codes`.
import {z} from 'zod';
import {CrawljarError} from '../errors.js';
import {FETCH_DEFAULTS, timeoutsSchema} from '../http/fetch-defaults.js';
import {hostOptionsSchema} from '../policy/host-options.js';
import {browserOptionsSchema} from '../browser/browser-options.js';
import {retryOptionsSchema} from '../policy/retry-schema.js';
import {leaseMsSchema} from '../runner/worker-options.js';
import {scheduleSchema} from '../scheduler/schedule-options.js';
import {browserLoginOptionsSchema} from '../sessions/login/browser-login-options.js';
import {formLoginOptionsSchema} from '../sessions/login/form-login-options.js';
import {customLoginOptionsSchema} from '../sessions/login/login-strategy.js';
import {tokenLoginOptionsSchema} from '../sessions/login/token-login-options.js';
import {totpSecretProblem} from '../sessions/login/totp.js';
import {sessionOptionsSchema} from '../sessions/session-options.js';
import {
	bool,
	fn,
	forwardIssues,
	formatIssues,
	nonEmptyString,
	nonNegativeInt,
	positiveInt,
	stringRecord,
	type Assert,
	type Describes,
} from '../util/option-schemas.js';
import {startUrlSecretProblem} from './start-url-secrets.js';
import type {CrawlerDefinition, StartRequest} from './types.js';

/** Defaults of the definition's own scalar fields; each options object has its own next to its schema. */
export const DEFINITION_DEFAULTS = Object.freeze({
	concurrency: 10,
	headers: Object.freeze({}) as Readonly<Record<string, string>>,
	allowInsecureLogin: false,
	maxBodyBytes: FETCH_DEFAULTS.maxBodyBytes,
	maxRedirects: FETCH_DEFAULTS.maxRedirects,
	useHeaderGenerator: FETCH_DEFAULTS.useHeaderGenerator,
	ignoreTlsErrors: false,
});

const httpUrl = z.custom<string>(
	(value) => {
		if (typeof value !== 'string') return false;
		try {
			const {protocol} = new URL(value);
			return protocol === 'http:' || protocol === 'https:';
		} catch {
			return false;
		}
	},
	{message: 'expected an absolute http(s) URL'},
);

// No credentials in a start URL: it is stored in clear (start-url-secrets.ts).
const startUrl = httpUrl.superRefine((value, context) => {
	const problem = startUrlSecretProblem(value);
	if (problem) context.addIssue({code: 'custom', message: problem});
});

const startRequestObject = z.strictObject({
	url: startUrl,
	label: z.string({error: 'expected a route label'}).optional(),
	userData: z.record(z.string(), z.unknown(), {error: 'expected an object'}).optional(),
	headers: stringRecord().optional(),
	uniqueKey: z.string({error: 'expected a string'}).optional(),
});

export type StartRequestSchemaCheck = Assert<Describes<typeof startRequestObject, StartRequest>>;

// Refinements, not z.union: a failed union reports a bare "Invalid input" and loses which nested
// field is wrong (`routes.api.retry.maxRetries`, `login.fields`).
const startRequest = z.custom<string | StartRequest>().superRefine((value, context) => {
	if (typeof value === 'string') {
		const checked = startUrl.safeParse(value);
		if (!checked.success) forwardIssues(context, checked.error.issues, startUrl);
		return;
	}
	if (typeof value !== 'object' || value === null) {
		context.addIssue({code: 'custom', message: 'expected a URL or { url, label?, userData?, headers?, uniqueKey? }'});
		return;
	}
	const checked = startRequestObject.safeParse(value);
	if (!checked.success) forwardIssues(context, checked.error.issues, startRequestObject);
});

const routeConfig = z.strictObject({
	handler: fn(),
	retry: retryOptionsSchema.optional(),
	browser: bool().optional(),
	waitFor: nonEmptyString('a CSS selector').optional(),
});

const route = z.custom<unknown>().superRefine((value, context) => {
	if (typeof value === 'function') return;
	if (typeof value !== 'object' || value === null) {
		context.addIssue({code: 'custom', message: 'expected a function or { handler, retry }'});
		return;
	}
	const checked = routeConfig.safeParse(value);
	if (!checked.success) forwardIssues(context, checked.error.issues, routeConfig);
});

const LOGIN_OPTION_SCHEMAS: Readonly<Record<string, z.ZodType>> = {
	form: formLoginOptionsSchema,
	token: tokenLoginOptionsSchema,
	custom: customLoginOptionsSchema,
	browser: browserLoginOptionsSchema,
};

/**
 * formLogin(…), tokenLogin(…) and customLogin(…) carry the options they were given; they are
 * checked here so that problems carry the file and the `login.` path, before any request.
 */
const loginStrategy = z.custom<unknown>().superRefine((value, context) => {
	if (typeof value === 'function') return;
	const strategy = value as {kind?: unknown; login?: unknown; options?: unknown} | null;
	if (typeof strategy !== 'object' || strategy === null || typeof strategy.login !== 'function') {
		context.addIssue({code: 'custom', message: 'expected formLogin(…), tokenLogin(…), browserLogin(…), customLogin(…) or an async function'});
		return;
	}
	const schema = typeof strategy.kind === 'string' ? LOGIN_OPTION_SCHEMAS[strategy.kind] : undefined;
	// A hand-built strategy object (no factory options) has nothing more to check.
	if (!schema || !('options' in strategy)) return;
	const checked = schema.safeParse(strategy.options);
	if (!checked.success) forwardIssues(context, checked.error.issues, schema);
});

const account = z
	.object({
		username: z.string({error: 'expected a non-empty string'}).min(1, 'expected a non-empty string'),
		password: z.string({error: 'expected a string'}).optional(),
		// A base32 secret for totp() in login steps; never printed, never stored (like the password).
		totpSecret: z
			.custom<string>((value) => totpSecretProblem(value) === undefined, {error: (issue) => totpSecretProblem(issue.input) ?? 'invalid'})
			.optional(),
	})
	.loose();

/** Handler threads: a count (0: none) or 'auto'. */
export const threadsSchema = z.union([z.literal('auto'), nonNegativeInt()], {error: "expected 'auto' or a whole number of threads (0: none)"});

export const definitionSchema = z
	.strictObject({
		name: z
			.string({error: 'expected letters, digits, - or _ (it names the storage file)'})
			.regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'expected letters, digits, - or _ (it names the storage file)'),
		startUrls: z.array(startRequest, {error: 'expected an array of URLs'}).min(1, 'expected at least one start URL'),
		headers: stringRecord().optional(),
		routes: z.record(z.string(), route, {error: 'expected an object of label → handler'}),
		accounts: z.array(account, {error: 'expected an array of { username, password }'}).optional(),
		login: loginStrategy.optional(),
		loggedOut: fn().optional(),
		rateLimited: fn().optional(),
		sessions: sessionOptionsSchema.optional(),
		concurrency: positiveInt().optional(),
		maxRequests: positiveInt().optional(),
		maxDepth: nonNegativeInt().optional(),
		maxBodyBytes: positiveInt().optional(),
		maxRedirects: nonNegativeInt().optional(),
		timeouts: timeoutsSchema.extend({handlerMs: positiveInt().optional()}).optional(),
		retry: retryOptionsSchema.optional(),
		hosts: hostOptionsSchema.optional(),
		browser: browserOptionsSchema.optional(),
		schedule: scheduleSchema.optional(),
		allowInsecureLogin: bool().optional(),
		useHeaderGenerator: bool().optional(),
		ignoreTlsErrors: bool().optional(),
		leaseMs: leaseMsSchema.optional(),
		threads: threadsSchema.optional(),
	})
	.superRefine((definition, context) => {
		const routes = definition.routes;
		if (Object.keys(routes).length === 0) {
			context.addIssue({code: 'custom', path: ['routes'], message: 'expected at least one route (e.g. `default`)'});
		}
		definition.startUrls.forEach((start, index) => {
			const label = typeof start === 'string' ? undefined : start.label;
			const routeName = label ?? 'default';
			if (!Object.hasOwn(routes, routeName)) {
				context.addIssue({
					code: 'custom',
					path: ['startUrls', index, ...(label ? ['label'] : [])],
					message: label ? `no route '${label}' in routes` : 'a start URL without a label needs a `default` route',
				});
			}
		});
		for (const [label, value] of Object.entries(routes)) {
			const config = value as {browser?: unknown; waitFor?: unknown};
			if (typeof value === 'object' && config.waitFor !== undefined && config.browser !== true) {
				context.addIssue({code: 'custom', path: ['routes', label, 'waitFor'], message: 'waitFor needs browser: true'});
			}
		}
		if (definition.login && !definition.accounts?.length) {
			context.addIssue({code: 'custom', path: ['accounts'], message: 'a login step needs at least one account'});
		}
	});

// Every field of the hand-written CrawlerDefinition is checked here, and nothing else is accepted.
type DefinitionKeysMatch = Assert<
	[Exclude<keyof CrawlerDefinition, keyof z.input<typeof definitionSchema>>, Exclude<keyof z.input<typeof definitionSchema>, keyof CrawlerDefinition>] extends [never, never]
		? true
		: false
>;

/** Validates user input; the error names the file and every bad field. */
export function validateDefinition(input: unknown, source: string): CrawlerDefinition {
	const parsed = definitionSchema.safeParse(input);
	if (!parsed.success) {
		const lines = formatIssues(parsed.error.issues, definitionSchema).map((line) => `  ${line}`);
		throw new CrawljarError('ERR_DEFINITION', `${source}: invalid crawler definition\n${lines.join('\n')}`);
	}
	// The schema checks shape; the hand-written type describes handler contexts precisely.
	return input as CrawlerDefinition;
}
