// The `sessions` options of a crawler definition: the hand-written type, its schema (checked at
// load) and the one defaults object the pool reads.
import {z} from 'zod';
import {arrayOf, nonEmptyString, positiveInt, type Assert, type Describes} from '../util/option-schemas.js';

export interface SessionOptions {
	/** Sessions per account. @default 1 */
	readonly perAccount?: number;
	/** Requests in flight per session (with a login step; without one the single anonymous session is not capped). @default 4 */
	readonly maxConcurrency?: number;
	/** Logins at once across the pool. @default 2 */
	readonly loginConcurrency?: number;
	/**
	 * Definite rejections (wrong password…) per account before its sessions are disabled
	 * (LOGIN_FAILED). Rate limits, 5xx and network errors on a login never count. @default 1
	 */
	readonly loginMaxAttempts?: number;
	/**
	 * Cookies whose deletion by the server means "logged out".
	 * @default login cookies named like a session cookie (sid, session, auth, token, jwt…)
	 */
	readonly authCookies?: readonly string[];
}

export const SESSION_DEFAULTS = Object.freeze({
	perAccount: 1,
	maxConcurrency: 4,
	loginConcurrency: 2,
	loginMaxAttempts: 1,
	/** Wait before login attempt n+1: n × this (not a definition option). */
	loginRetryDelayMs: 500,
} as const);

export const sessionOptionsSchema = z.strictObject({
	perAccount: positiveInt().optional(),
	maxConcurrency: positiveInt().optional(),
	loginConcurrency: positiveInt().optional(),
	loginMaxAttempts: positiveInt().optional(),
	authCookies: arrayOf(nonEmptyString('a cookie name'), 'an array of cookie names').readonly().optional(),
});

export type SessionSchemaCheck = Assert<Describes<typeof sessionOptionsSchema, SessionOptions>>;
