// formLogin's options: the hand-written type (what users see in their editor) and its schema,
// checked when the crawler definition loads (under `login.`), before any request is sent.
import type {CheerioAPI} from 'cheerio';
import {z} from 'zod';
import {bool, fn, nonEmptyString, urlOrPath, type Assert, type Describes} from '../../util/option-schemas.js';
import type {Account, Session} from '../session.js';
import type {HttpResponse} from '../session-http.js';
import type {TotpCode} from './totp.js';

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

/** What `fields` gets: the account, and `totp()` for its current one-time code (needs `totpSecret`). */
export interface FormFieldsContext {
	readonly account: Account;
	readonly totp: TotpCode;
}

/** One page of a multi-step login: pick its form, fill these fields, submit. */
export interface FormLoginStep {
	readonly fields: (context: FormFieldsContext) => Record<string, string>;
	/** @default the first form with a password field, else the first with an input named like a field, else the first form */
	readonly formSelector?: string;
	/** GET this page for the step instead of using the previous step's response. */
	readonly url?: string;
}

export interface FormLoginOptions {
	/** The login page: absolute, or relative to the crawler's first start URL. */
	readonly url: string;
	/** The values to type in, by input name; hidden inputs are copied from the page. (Or `steps`.) */
	readonly fields?: (context: FormFieldsContext) => Record<string, string>;
	/** A login over several pages (user name, then password, then a code): each step fills and submits one form. */
	readonly steps?: readonly FormLoginStep[];
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

const formLoginStepSchema = z.strictObject({
	fields: fn<FormLoginStep['fields']>(),
	formSelector: nonEmptyString('a CSS selector').optional(),
	url: urlOrPath().optional(),
});

export const formLoginOptionsSchema = z
	.strictObject({
		url: urlOrPath(),
		fields: fn<NonNullable<FormLoginOptions['fields']>>().optional(),
		steps: z.array(formLoginStepSchema, {error: 'expected an array of { fields, formSelector?, url? }'}).min(1, 'expected at least one step').readonly().optional(),
		formSelector: nonEmptyString('a CSS selector').optional(),
		success: successSchema.optional(),
		allowInsecureLogin: bool().optional(),
	})
	.superRefine((options, context) => {
		if (options.fields === undefined && options.steps === undefined) context.addIssue({code: 'custom', path: ['fields'], message: 'expected a function (or `steps`)'});
		if (options.fields !== undefined && options.steps !== undefined) context.addIssue({code: 'custom', path: ['steps'], message: 'give either fields or steps, not both'});
		if (options.steps !== undefined && options.formSelector !== undefined) context.addIssue({code: 'custom', path: ['formSelector'], message: "with steps, give each step's formSelector"});
	});

export type FormLoginStepSchemaCheck = Assert<Describes<typeof formLoginStepSchema, FormLoginStep>>;

export type FormLoginSchemaCheck = Assert<Describes<typeof formLoginOptionsSchema, FormLoginOptions>>;
