// `browser` in a crawler definition: how many pages browser routes may have open, and when a
// browser is replaced. The type, its schema and its defaults together.
import {z} from 'zod';
import {oneOf, positiveInt, type Assert, type Describes} from '../util/option-schemas.js';

export interface BrowserOptions {
	/** Browser pages open at once across the crawl (each is a renderer process: ~50–100 MB). @default 2 */
	readonly maxPages?: number;
	/** A browser is replaced after this many pages (memory grows with every page). @default 100 */
	readonly pagesPerBrowser?: number;
	/** When a navigation counts as loaded. @default 'load' */
	readonly waitUntil?: 'load' | 'domcontentloaded' | 'networkidle';
	/** Limit of a page's navigation. @default 30_000 */
	readonly navigationTimeoutMs?: number;
}

export const BROWSER_DEFAULTS = Object.freeze({
	maxPages: 2,
	pagesPerBrowser: 100,
	waitUntil: 'load',
	navigationTimeoutMs: 30_000,
} as const satisfies Required<BrowserOptions>);

export const browserOptionsSchema = z.strictObject({
	maxPages: positiveInt().optional(),
	pagesPerBrowser: positiveInt().optional(),
	waitUntil: oneOf(['load', 'domcontentloaded', 'networkidle']).optional(),
	navigationTimeoutMs: positiveInt().optional(),
});

export type BrowserOptionsSchemaCheck = Assert<Describes<typeof browserOptionsSchema, BrowserOptions>>;
