// The check of the `retry` options (a crawler's and each route's override), at load. Strict
// objects: a typo is an error naming the key, not a silently ignored option. The hand-written
// RetryOptions type (retry-options.ts, with the defaults) is kept in step by the assertions below.
import {z} from 'zod';
import {arrayOf, bool, finiteAtLeast, fn, nonEmptyString, nonNegativeInt, type Assert, type Describes} from '../util/option-schemas.js';
import type {BackoffOptions, RetryNetworkCodeOptions, RetryOptions, RetryStatusOptions} from './retry-options.js';

// Redirects are followed and 2xx pages are handled: only error statuses can be classified.
const statusCode = z.custom<number>((value) => Number.isInteger(value) && (value as number) >= 400 && (value as number) <= 599, {
	message: 'expected an HTTP error status (400–599)',
});
const statusList = () => arrayOf(statusCode, 'an array of status codes').readonly();

export const backoffSchema = z.strictObject({
	baseMs: finiteAtLeast(0).optional(),
	factor: finiteAtLeast(1).optional(),
	capMs: finiteAtLeast(0).optional(),
});

export const retryStatusesSchema = z.strictObject({
	loggedOut: statusList().optional(),
	forbiddenAfterValid: bool().optional(),
	rateLimited: statusList().optional(),
	transient: statusList().optional(),
});

export const retryNetworkCodesSchema = z.strictObject({
	transient: arrayOf(nonEmptyString('an error code such as ECONNRESET'), "an array of error codes (['ECONNRESET', …])").readonly().optional(),
});

export const retryOptionsSchema = z.strictObject({
	maxRetries: nonNegativeInt().optional(),
	backoff: backoffSchema.optional(),
	maxReloginsPerRequest: nonNegativeInt().optional(),
	maxRateLimitWaits: nonNegativeInt().optional(),
	maxRetryAfterMs: finiteAtLeast(0).optional(),
	statuses: retryStatusesSchema.optional(),
	networkCodes: retryNetworkCodesSchema.optional(),
	isRateLimited: fn<NonNullable<RetryOptions['isRateLimited']>>().optional(),
	isTransient: fn<NonNullable<RetryOptions['isTransient']>>().optional(),
});

export type RetrySchemaChecks = [
	Assert<Describes<typeof retryOptionsSchema, RetryOptions>>,
	Assert<Describes<typeof backoffSchema, BackoffOptions>>,
	Assert<Describes<typeof retryStatusesSchema, RetryStatusOptions>>,
	Assert<Describes<typeof retryNetworkCodesSchema, RetryNetworkCodeOptions>>,
];
