// The demo target site: a small login-protected book shop with a token API and some hostile
// endpoints. Used by `npm run demo`, the integration tests and the benchmarks.
import {resolveOptions} from './options.js';
import type {DemoSiteOptions} from './options.js';

export {startDemoSite} from './server.js';
export type {DemoSite} from './server.js';
export type {DemoSiteOptions, LogoutStyle, RateLimitOptions} from './options.js';
export type {DemoLogEntry, DemoStats} from './stats.js';
export {expectedBook, categories} from './books.js';
export type {ExpectedBook} from './books.js';
export {SESSION_COOKIE, VISITOR_COOKIE} from './login.js';
export {HUGE_BODY_BYTES} from './bad.js';
export {APP_COOKIE, DEMO_TOTP_SECRET, SCRIPT_ITEMS, TWO_FACTOR_COOKIE} from './browser-pages.js';
export type {BrowserDemoStats} from './browser-pages.js';

/** How many books a site started with these options serves (ids 1 to N). */
export function bookCount(options: DemoSiteOptions = {}): number {
	return resolveOptions(options).books;
}
