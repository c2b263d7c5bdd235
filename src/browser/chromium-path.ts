// Which Chromium crawljar drives. Playwright's own browser download is not used (it cannot be
// reached on many build machines): a system Chromium is, from CRAWLJAR_CHROMIUM or the PATH.
import {accessSync, constants, statSync} from 'node:fs';
import path from 'node:path';
import {CrawljarError} from '../errors.js';

/** Looked up on the PATH in this order when CRAWLJAR_CHROMIUM is not set. */
export const CHROMIUM_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'] as const;

/** What to run when no Chromium is found (Debian and Ubuntu; other systems: any Chromium or Chrome). */
export const CHROMIUM_INSTALL_HINT =
	'install one with `apt-get install -y chromium` (Debian/Ubuntu), or set CRAWLJAR_CHROMIUM to the path of a Chromium or Chrome executable';

/** The Chromium executable to launch, or undefined when there is none. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
	const configured = env.CRAWLJAR_CHROMIUM?.trim();
	if (configured) return isExecutable(configured) ? configured : undefined;
	for (const directory of (env.PATH ?? '').split(path.delimiter)) {
		if (!directory) continue;
		for (const name of CHROMIUM_NAMES) {
			const candidate = path.join(directory, name);
			if (isExecutable(candidate)) return candidate;
		}
	}
	return undefined;
}

/** The executable, or ERR_NO_BROWSER naming what needs it and how to install one. */
export function requireChromium(what: string, env: NodeJS.ProcessEnv = process.env): string {
	const found = findChromium(env);
	if (found) return found;
	const configured = env.CRAWLJAR_CHROMIUM?.trim();
	const reason = configured ? `CRAWLJAR_CHROMIUM (${configured}) is not an executable file` : `no Chromium on the PATH (looked for ${CHROMIUM_NAMES.join(', ')})`;
	throw new CrawljarError('ERR_NO_BROWSER', `${what} needs a browser, but ${reason}: ${CHROMIUM_INSTALL_HINT}`);
}

function isExecutable(file: string): boolean {
	try {
		accessSync(file, constants.X_OK);
		return statSync(file).isFile();
	} catch {
		return false;
	}
}
