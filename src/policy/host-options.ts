// The `hosts` options of a crawler definition: the hand-written types, their schema (checked at
// load) and the one defaults object the host throttle reads.
import {z} from 'zod';
import {nonEmptyString, positiveInt, positiveNumber, type Assert, type Describes} from '../util/option-schemas.js';

export interface HostLimitOptions {
	/** Requests in flight to one host at a time. @default 4 */
	readonly maxConcurrency?: number;
	/** Requests per second to one host. @default unlimited (adapts down on 429) */
	readonly maxRequestsPerSecond?: number;
}

export interface HostOverride extends HostLimitOptions {
	/** `api.example.com` (any port), `127.0.0.1:8080`, or a glob: `*.example.com`. */
	readonly match: string;
}

export interface HostOptions extends HostLimitOptions {
	/** Per host pattern; the first matching entry wins, its unset fields come from the fields above. */
	readonly overrides?: readonly HostOverride[];
}

export const HOST_DEFAULTS = Object.freeze({maxConcurrency: 4} as const);

const limitFields = {
	maxConcurrency: positiveInt().optional(),
	maxRequestsPerSecond: positiveNumber().optional(),
};

export const hostOverrideSchema = z.strictObject({match: nonEmptyString('a host or a glob such as *.example.com'), ...limitFields});

export const hostOptionsSchema = z.strictObject({
	...limitFields,
	overrides: z.array(hostOverrideSchema, {error: "expected an array of { match: 'host', … }"}).readonly().optional(),
});

export type HostSchemaChecks = [
	Assert<Describes<typeof hostOptionsSchema, HostOptions>>,
	Assert<Describes<typeof hostOverrideSchema, HostOverride>>,
];
