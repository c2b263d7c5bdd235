// The per-request limits of a crawler definition (`timeouts`, `maxBodyBytes`, `maxRedirects`,
// `useHeaderGenerator`): their schema (checked at load) and the one defaults object fetchPage reads.
import {z} from 'zod';
import {positiveInt, type Assert, type Describes} from '../util/option-schemas.js';
import type {FetchTimeouts} from './fetch.js';

export const FETCH_DEFAULTS = Object.freeze({
	timeouts: Object.freeze({connectMs: 10_000, responseMs: 30_000, totalMs: 60_000}),
	maxBodyBytes: 10 * 1024 * 1024,
	maxRedirects: 10,
	useHeaderGenerator: true,
} as const);

export const timeoutsSchema = z.strictObject({
	connectMs: positiveInt().optional(),
	responseMs: positiveInt().optional(),
	totalMs: positiveInt().optional(),
});

export type TimeoutsSchemaCheck = Assert<Describes<typeof timeoutsSchema, FetchTimeouts>>;
