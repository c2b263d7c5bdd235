// The one check of a crawler definition, at the boundary (STYLE pattern 4). Past this point the
// definition is trusted. Errors name the field path: `routes.book: expected a function`.
import {z} from 'zod';
import {CrawljarError} from '../errors.js';
import {scheduleSchema} from '../scheduler/schedule-options.js';
import {startUrlSecretProblem} from './start-url-secrets.js';
import type {CrawlerDefinition} from './types.js';

const isFunction = (value: unknown): value is (...args: never[]) => unknown => typeof value === 'function';
const fn = (what = 'a function') => z.custom<(...args: never[]) => unknown>(isFunction, {message: `expected ${what}`});

const httpUrl = z.string().refine(
	(value) => {
		try {
			const {protocol} = new URL(value);
			return protocol === 'http:' || protocol === 'https:';
		} catch {
			return false;
		}
	},
	{message: 'expected an absolute http(s) URL'},
);

const headers = z.record(z.string(), z.string());
const positiveInt = z.number().int().positive();

// No credentials in a start URL: it is stored in clear (start-url-secrets.ts).
const startUrl = httpUrl.superRefine((value, context) => {
	const problem = startUrlSecretProblem(value);
	if (problem) context.addIssue({code: 'custom', message: problem});
});

const startRequest = z.union([
	startUrl,
	z.strictObject({
		url: startUrl,
		label: z.string().optional(),
		userData: z.record(z.string(), z.unknown()).optional(),
		headers: headers.optional(),
		uniqueKey: z.string().optional(),
	}),
]);

const route = z.union([fn(), z.object({handler: fn(), retry: z.record(z.string(), z.unknown()).optional()})], {
	error: 'expected a function or { handler, retry }',
});

const loginStrategy = z.union([fn(), z.object({kind: z.string(), login: fn()}).loose()], {
	error: 'expected formLogin(…), tokenLogin(…) or an async function',
});

const hostLimits = {maxConcurrency: positiveInt.optional(), maxRequestsPerSecond: z.number().positive().optional()};

export const definitionSchema = z
	.strictObject({
		name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'expected letters, digits, - or _ (it names the storage file)'),
		startUrls: z.array(startRequest).min(1, 'expected at least one start URL'),
		headers: headers.optional(),
		routes: z.record(z.string(), route),
		accounts: z
			.array(z.object({username: z.string().min(1), password: z.string().optional()}).loose())
			.optional(),
		login: loginStrategy.optional(),
		loggedOut: fn().optional(),
		rateLimited: fn().optional(),
		sessions: z
			.strictObject({
				perAccount: positiveInt.optional(),
				maxConcurrency: positiveInt.optional(),
				loginConcurrency: positiveInt.optional(),
				loginMaxAttempts: positiveInt.optional(),
				authCookies: z.array(z.string().min(1)).optional(),
			})
			.optional(),
		concurrency: positiveInt.optional(),
		maxRequests: positiveInt.optional(),
		maxDepth: z.number().int().nonnegative().optional(),
		maxBodyBytes: positiveInt.optional(),
		maxRedirects: z.number().int().nonnegative().optional(),
		timeouts: z
			.strictObject({connectMs: positiveInt.optional(), responseMs: positiveInt.optional(), totalMs: positiveInt.optional()})
			.optional(),
		retry: z.record(z.string(), z.unknown()).optional(),
		hosts: z
			.strictObject({
				...hostLimits,
				overrides: z.array(z.strictObject({match: z.string().min(1), ...hostLimits})).optional(),
			})
			.optional(),
		schedule: scheduleSchema.optional(),
		allowInsecureLogin: z.boolean().optional(),
		useHeaderGenerator: z.boolean().optional(),
	})
	.superRefine((definition, context) => {
		const routes = definition.routes;
		if (Object.keys(routes).length === 0) {
			context.addIssue({code: 'custom', path: ['routes'], message: 'expected at least one route (e.g. `default`)'});
		}
		definition.startUrls.forEach((start, index) => {
			const label = typeof start === 'string' ? undefined : start.label;
			const routeName = label ?? 'default';
			if (!(routeName in routes)) {
				context.addIssue({
					code: 'custom',
					path: ['startUrls', index, ...(label ? ['label'] : [])],
					message: label ? `no route '${label}' in routes` : 'a start URL without a label needs a `default` route',
				});
			}
		});
		if (definition.login && !definition.accounts?.length) {
			context.addIssue({code: 'custom', path: ['accounts'], message: 'a login step needs at least one account'});
		}
	});

/** Validates user input; the error names the file and every bad field. */
export function validateDefinition(input: unknown, source: string): CrawlerDefinition {
	const parsed = definitionSchema.safeParse(input);
	if (!parsed.success) {
		const lines = parsed.error.issues.map((issue) => {
			const path = issue.path.map(String).join('.') || '(definition)';
			return `  ${path}: ${issue.message}`;
		});
		throw new CrawljarError('ERR_DEFINITION', `${source}: invalid crawler definition\n${lines.join('\n')}`);
	}
	// The schema checks shape; the hand-written type describes handler contexts precisely.
	return input as CrawlerDefinition;
}
