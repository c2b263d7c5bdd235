// formLogin's options: the hand-written type (what users see in their editor) and its schema,
// checked when the crawler definition loads (under `login.`), before any request is sent.
import type {CheerioAPI} from 'cheerio';
import {z} from 'zod';
import {bool, fn, nonEmptyString, urlOrPath, type Assert, type Describes} from '../../util/option-schemas.js';
import type {Account, Session} from '../session.js';
import type {HttpResponse} from '../session-http.js';

export interface FormSuccessContext {
	readonly response: HttpResponse;
	readonly $: CheerioAPI;
	readonly session: Session;
	readonly account: Account;
}

/**
 * How to tell a successful login. `cookie`: the jar holds a cookie of that name; `urlNot`: the
 * final URL does not contain the string; `selector`: the page has a match; a function decides alone.
 * The object forms also fail on a 4xx/5xx response.
 */
export type FormLoginSuccess =
	| {readonly cookie: string}
	| {readonly urlNot: string}
	| {readonly selector: string}
	| ((context: FormSuccessContext) => boolean | Promise<boolean>);

export interface FormLoginOptions {
	/** The login page: absolute, or relative to the crawler's first start URL. */
	readonly url: string;
	/** The values to type in, by input name; hidden inputs are copied from the page. */
	readonly fields: (context: {account: Account}) => Record<string, string>;
	/** @default the first form that has an `input[type=password]` */
	readonly formSelector?: string;
	/** @default the response is not 4xx/5xx and has no form with a password field */
	readonly success?: FormLoginSuccess;
	/** Submit over plain http to a non-loopback host. @default false */
	readonly allowInsecureLogin?: boolean;
}

const SUCCESS_FORMS = "expected { cookie: 'name' }, { urlNot: '/login' }, { selector: 'css' } or a function";

// Not a z.union: a failed union reports a bare "Invalid input", losing which form was meant.
const successSchema = z.custom<FormLoginSuccess>().superRefine((value, context) => {
	if (typeof value === 'function') return;
	const keys = typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.keys(value) : [];
	const [key] = keys;
	if (keys.length !== 1 || (key !== 'cookie' && key !== 'urlNot' && key !== 'selector')) {
		context.addIssue({code: 'custom', message: SUCCESS_FORMS});
		return;
	}
	const field = (value as Record<string, unknown>)[key];
	if (typeof field !== 'string' || field.trim() === '') context.addIssue({code: 'custom', path: [key], message: 'expected a non-empty string'});
});

export const formLoginOptionsSchema = z.strictObject({
	url: urlOrPath(),
	fields: fn<FormLoginOptions['fields']>(),
	formSelector: nonEmptyString('a CSS selector').optional(),
	success: successSchema.optional(),
	allowInsecureLogin: bool().optional(),
});

export type FormLoginSchemaCheck = Assert<Describes<typeof formLoginOptionsSchema, FormLoginOptions>>;
