// tokenLogin's options: the hand-written type, its schema (checked when the crawler definition
// loads, under `login.`, before any request is sent) and its one defaults object.
import {z} from 'zod';
import {anyString, bool, finiteAtLeast, fn, oneOf, stringRecord, urlOrPath, type Assert, type Describes} from '../../util/option-schemas.js';
import type {Account} from '../session.js';

export interface TokenPaths {
	/** Dot path of the access token in the JSON response, e.g. `data.access_token`. */
	readonly accessToken?: string;
	/** Dot path of the refresh token; absent in a refresh response ⇒ the old one stays valid. */
	readonly refreshToken?: string;
	/** Dot path of the expiry: lifetime in seconds (see expiresInUnit), epoch s/ms, or an ISO date; else the JWT `exp`. */
	readonly expiresIn?: string;
}

export interface TokenRefreshOptions extends TokenPaths {
	/** The refresh endpoint: absolute, or relative to the crawler's first start URL. */
	readonly url: string;
	/** The JSON body of the refresh request. */
	readonly body: (context: {refreshToken: string; account: Account}) => unknown;
}

export interface TokenLoginOptions extends TokenPaths {
	/** The token endpoint: absolute, or relative to the crawler's first start URL. */
	readonly url: string;
	/** The JSON body of the login request. */
	readonly body: (context: {account: Account}) => unknown;
	readonly accessToken: string;
	/** Unit of a lifetime (a number below 10^9). @default 's' */
	readonly expiresInUnit?: 's' | 'ms';
	/** @default 'authorization' */
	readonly header?: string;
	/** Prefix of the header value; '' sends the bare token. @default 'Bearer' */
	readonly scheme?: string;
	/** Renewal with the refresh token; without it, an expired token means a full login. */
	readonly refresh?: TokenRefreshOptions;
	/** Renew this long before expiry (capped at half the token's lifetime). @default 30_000 */
	readonly refreshSkewMs?: number;
	/** Extra headers for the login and refresh requests (an API key…). */
	readonly headers?: Readonly<Record<string, string>>;
	/** Send credentials over plain http to a non-loopback host. @default false */
	readonly allowInsecureLogin?: boolean;
}

export const TOKEN_LOGIN_DEFAULTS = Object.freeze({
	expiresInUnit: 's',
	header: 'authorization',
	scheme: 'Bearer',
	refreshSkewMs: 30_000,
} as const satisfies Pick<Required<TokenLoginOptions>, 'expiresInUnit' | 'header' | 'scheme' | 'refreshSkewMs'>);

// `data.access_token`, `items.0.id`: segments joined by dots, none empty.
const dotPath = () =>
	z.custom<string>((value) => typeof value === 'string' && /^[^.\s]+(\.[^.\s]+)*$/.test(value), {
		message: "expected a dot path into the JSON response, e.g. 'data.access_token'",
	});

const headerName = () =>
	z.custom<string>((value) => typeof value === 'string' && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value), {message: 'expected an HTTP header name'});

const pathFields = {
	accessToken: dotPath().optional(),
	refreshToken: dotPath().optional(),
	expiresIn: dotPath().optional(),
};

export const tokenRefreshOptionsSchema = z.strictObject({
	url: urlOrPath(),
	body: fn<TokenRefreshOptions['body']>(),
	...pathFields,
});

export const tokenLoginOptionsSchema = z.strictObject({
	url: urlOrPath(),
	body: fn<TokenLoginOptions['body']>(),
	...pathFields,
	accessToken: dotPath(),
	expiresInUnit: oneOf(['s', 'ms']).optional(),
	header: headerName().optional(),
	scheme: anyString().optional(),
	refresh: tokenRefreshOptionsSchema.optional(),
	refreshSkewMs: finiteAtLeast(0).optional(),
	headers: stringRecord().optional(),
	allowInsecureLogin: bool().optional(),
});

export type TokenLoginSchemaChecks = [
	Assert<Describes<typeof tokenLoginOptionsSchema, TokenLoginOptions>>,
	Assert<Describes<typeof tokenRefreshOptionsSchema, TokenRefreshOptions>>,
];

