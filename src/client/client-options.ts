// Options of openClient() and of each of its calls: the hand-written types (with their docs),
// their schemas (checked on every call: a client call is user input) and the defaults.
import {z} from 'zod';
import {CrawljarError} from '../errors.js';
import type {Logger} from '../job/types.js';
import type {RetryOptions} from '../policy/retry-options.js';
import {retryOptionsSchema} from '../policy/retry-schema.js';
import type {OpenRuntimeOptions} from '../runtime/session-runtime.js';
import type {Store} from '../store/store.js';
import {anyString, bool, finiteAtLeast, formatIssues, stringRecord, type Assert, type Describes} from '../util/option-schemas.js';

/** Where the crawler's sessions are (OpenRuntimeOptions: storage, storeUrl, store, secretKey, log), and: */
export interface ClientOptions extends OpenRuntimeOptions {
	/** Longest wait a call sits through (a cooldown, a Retry-After, a backoff); past it the call fails ERR_RATE_LIMITED. @default the crawler's retry.maxRetryAfterMs (10 min) */
	readonly maxWaitMs?: number;
}

export type SearchParamsInput = string | URLSearchParams | Readonly<Record<string, string | number | boolean>>;

export interface ClientRequestOptions {
	/** Sent as JSON (content-type application/json). */
	readonly json?: unknown;
	/** Sent urlencoded (content-type application/x-www-form-urlencoded). */
	readonly form?: Readonly<Record<string, string>>;
	/** Sent as is: set its content-type in `headers`. */
	readonly body?: string | Buffer;
	/** Over the crawler's `headers`; a request's own headers win. */
	readonly headers?: Readonly<Record<string, string>>;
	/** Appended to the URL's query (replacing parameters of the same name). */
	readonly searchParams?: SearchParamsInput;
	/** A 4xx/5xx answer the policy gives up on throws ERR_HTTP_STATUS; false returns it. @default true */
	readonly throwHttpErrors?: boolean;
	/** Overrides the crawler's `retry` for this call, field by field (`{ maxRetries: 0 }` for a non-idempotent POST). */
	readonly retry?: RetryOptions;
}

export const CLIENT_REQUEST_DEFAULTS = Object.freeze({throwHttpErrors: true} as const);

const searchParams = z.custom<SearchParamsInput>(
	(value) =>
		typeof value === 'string' ||
		value instanceof URLSearchParams ||
		(typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((entry) => ['string', 'number', 'boolean'].includes(typeof entry))),
	{message: 'expected a string, a URLSearchParams or an object of string, number or boolean values'},
);
const body = z.custom<string | Buffer>((value) => typeof value === 'string' || Buffer.isBuffer(value), {message: 'expected a string or a Buffer'});

export const clientRequestSchema = z
	.strictObject({
		json: z.unknown().optional(),
		form: stringRecord().optional(),
		body: body.optional(),
		headers: stringRecord().optional(),
		searchParams: searchParams.optional(),
		throwHttpErrors: bool().optional(),
		retry: retryOptionsSchema.optional(),
	})
	.refine((options) => [options.json !== undefined, options.form !== undefined, options.body !== undefined].filter(Boolean).length <= 1, {
		message: 'json, form and body are alternatives: pass one',
	});

export const clientOptionsSchema = z.strictObject({
	storage: anyString().optional(),
	storeUrl: anyString().optional(),
	store: z.custom<Store>((value) => typeof value === 'object' && value !== null, {message: 'expected a Store'}).optional(),
	secretKey: z.custom<Buffer>((value) => Buffer.isBuffer(value) && value.length === 32, {message: 'expected a 32-byte Buffer'}).optional(),
	log: z.custom<Logger>((value) => typeof value === 'object' && value !== null, {message: 'expected a logger ({ info, warn, error })'}).optional(),
	maxWaitMs: finiteAtLeast(0).optional(),
});

export type ClientSchemaChecks = [
	Assert<Describes<typeof clientRequestSchema, ClientRequestOptions>>,
	Assert<Describes<typeof clientOptionsSchema, ClientOptions>>,
];

/** Checks options at the boundary: ERR_USAGE naming each bad field (`post(): json, form…`). */
export function checkOptions<T>(schema: z.ZodType, value: unknown, where: string): T {
	const parsed = schema.safeParse(value ?? {});
	if (parsed.success) return (value ?? {}) as T;
	throw new CrawljarError('ERR_USAGE', `${where}: ${formatIssues(parsed.error.issues, schema).join('; ')}`);
}
