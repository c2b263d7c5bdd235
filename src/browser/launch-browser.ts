// Starting Chromium through playwright-core. playwright-core is an optional dependency loaded
// here with a dynamic import, only when a crawler uses browserLogin or a browser route: an
// HTTP-only crawl (and `npm run demo`) never loads it, so it costs them no start time.
import type {Browser} from 'playwright-core';
import {CrawljarError} from '../errors.js';
import {requireChromium} from './chromium-path.js';

type Playwright = typeof import('playwright-core');

let playwright: Promise<Playwright> | undefined;

/** playwright-core, imported on first use; ERR_NO_BROWSER when it is not installed. */
export function loadPlaywright(): Promise<Playwright> {
	playwright ??= import('playwright-core').catch((error: unknown) => {
		playwright = undefined;
		throw new CrawljarError('ERR_NO_BROWSER', 'a browser step needs the optional dependency playwright-core: run `npm install playwright-core`', {cause: error});
	});
	return playwright;
}

/**
 * Chromium's flags for a crawl: no sandbox when running as root (Chromium refuses to start
 * otherwise), /tmp instead of a small /dev/shm (containers), and none of the background
 * requests (updates, safe browsing) that would add traffic the crawl did not ask for.
 */
export function chromiumArgs(isRoot = process.getuid?.() === 0): string[] {
	return [
		...(isRoot ? ['--no-sandbox'] : []),
		'--disable-dev-shm-usage',
		'--disable-background-networking',
		'--disable-component-update',
		'--no-first-run',
		'--no-default-browser-check',
	];
}

/** A new headless Chromium; close it when done (`browser.close()` ends its processes). */
export async function launchChromium(what: string): Promise<Browser> {
	const executablePath = requireChromium(what);
	const {chromium} = await loadPlaywright();
	try {
		return await chromium.launch({executablePath, headless: true, args: chromiumArgs()});
	} catch (error) {
		const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
		throw new CrawljarError('ERR_NO_BROWSER', `${what}: Chromium at ${executablePath} did not start: ${message}`, {cause: error});
	}
}
