// browserLogin's options: the hand-written type (what users see in their editor), its schema
// (checked when the crawler definition loads, under `login.`) and its one defaults object.
import type {BrowserContext, Page} from 'playwright-core';
import {z} from 'zod';
import type {BrowserCookie} from '../../browser/cookie-convert.js';
import {bool, fn, positiveInt, urlOrPath, type Assert, type Describes} from '../../util/option-schemas.js';
import type {Account} from '../session.js';
import type {TotpCode} from './totp.js';

export interface BrowserLoginStepsContext {
	/** A page of a fresh browser context, at `url` when the steps start. */
	readonly page: Page;
	readonly context: BrowserContext;
	readonly account: Account;
	/** The account's current one-time code (needs `totpSecret`); never the same code twice per account. */
	readonly totp: TotpCode;
	/** The login page's absolute URL. */
	readonly url: string;
}

export interface BrowserLoginStorage {
	/** The page's `localStorage` at the end of the steps (its origin then). */
	readonly localStorage: Readonly<Record<string, string>>;
	readonly sessionStorage: Readonly<Record<string, string>>;
	/** Every cookie of the context, HttpOnly ones included. */
	readonly cookies: readonly BrowserCookie[];
	/** The page's URL at the end of the steps. */
	readonly url: string;
}

export interface BrowserLoginTokens {
	readonly accessToken: string | undefined;
	readonly refreshToken?: string | undefined;
	/** Epoch ms. @default the JWT `exp` of the access token, if it is a JWT */
	readonly expiresAt?: number | undefined;
}

export interface BrowserLoginOptions {
	/** The login page: absolute, or relative to the crawler's first start URL. A redirect there means "logged out". */
	readonly url: string;
	/** What a user would do on the page (fill, click, wait). Throwing fails the login attempt. */
	readonly steps: (context: BrowserLoginStepsContext) => Promise<void>;
	/** Tokens an SPA keeps in storage, sent as `Authorization: Bearer …` with the session's requests. */
	readonly tokens?: (storage: BrowserLoginStorage) => BrowserLoginTokens | undefined | Promise<BrowserLoginTokens | undefined>;
	/** @default the page has no visible password field at the end of the steps */
	readonly success?: (context: {page: Page}) => boolean | Promise<boolean>;
	/** Limit of each page action and navigation in the steps (the first load of `url` has `timeoutMs`). @default 15_000 */
	readonly stepTimeoutMs?: number;
	/** Limit of the whole login in the browser (launch to cookies read). @default 60_000 */
	readonly timeoutMs?: number;
	/** A screenshot of a failed login's page, under `<storage>/screenshots/`, every form field emptied first. @default true */
	readonly screenshotOnFailure?: boolean;
	/** Log in over plain http to a non-loopback host. @default false */
	readonly allowInsecureLogin?: boolean;
}

export const BROWSER_LOGIN_DEFAULTS = Object.freeze({
	stepTimeoutMs: 15_000,
	timeoutMs: 60_000,
	screenshotOnFailure: true,
} as const satisfies Pick<Required<BrowserLoginOptions>, 'stepTimeoutMs' | 'timeoutMs' | 'screenshotOnFailure'>);

export const browserLoginOptionsSchema = z.strictObject({
	url: urlOrPath(),
	steps: fn<BrowserLoginOptions['steps']>(),
	tokens: fn<NonNullable<BrowserLoginOptions['tokens']>>().optional(),
	success: fn<NonNullable<BrowserLoginOptions['success']>>().optional(),
	stepTimeoutMs: positiveInt().optional(),
	timeoutMs: positiveInt().optional(),
	screenshotOnFailure: bool().optional(),
	allowInsecureLogin: bool().optional(),
});

export type BrowserLoginSchemaCheck = Assert<Describes<typeof browserLoginOptionsSchema, BrowserLoginOptions>>;
