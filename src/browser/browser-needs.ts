// Whether a crawler needs a browser, decided from its definition alone, so that a missing
// Chromium stops it at load (exit 2, with the install command) rather than at its first login.
import type {CrawlerDefinition} from '../job/types.js';
import {requireChromium} from './chromium-path.js';

/** What in the definition needs a browser (`login (browserLogin)`, `routes.app`), or undefined. */
export function browserNeed(definition: CrawlerDefinition): string | undefined {
	const login = definition.login;
	if (login && typeof login === 'object' && login.kind === 'browser') return 'login (browserLogin)';
	for (const [label, route] of Object.entries(definition.routes)) {
		if (typeof route === 'object' && route.browser === true) return `routes.${label} (browser: true)`;
	}
	return undefined;
}

/** Throws ERR_NO_BROWSER when the definition needs a browser and no Chromium can be found. */
export function assertBrowserAvailable(definition: CrawlerDefinition, env: NodeJS.ProcessEnv = process.env): void {
	const need = browserNeed(definition);
	if (need) requireChromium(`crawler '${definition.name}': ${need}`, env);
}
