// crawljar's got-scraping instance. The options every exchange shares are set once (got merges
// each request's options into its defaults: fewer to merge, less work per request), and
// got-scraping's per-request `ow` check of its own options is left out: ow walks the call stack
// for its messages (~60 µs a request in bench/ profiles), and crawljar sets those options itself,
// from validated definitions. got-scraping's other hooks (browser headers, session data) stay.
//
// Loaded on the first request, not when crawljar is imported: got-scraping and its header
// generator's networks take ~300 ms and ~30 MiB to load, which a handler thread (it never
// fetches), `crawljar status` or `export` would pay for nothing.
import type {gotScraping as GotScraping} from 'got-scraping';
import {bodylessAgents} from './bodyless-agent.js';

export type GotClient = typeof GotScraping;

let client: Promise<GotClient> | undefined;

export function loadGotClient(): Promise<GotClient> {
	client ??= import('got-scraping').then(({gotScraping, hooks, TransformHeadersAgent}) => {
		const agents = bodylessAgents();
		const extended = gotScraping.extend({
			mutableDefaults: true,
			// got would decode inside its stream, where no limit sees the decoded size: decodeBody does it.
			decompress: false,
			followRedirect: false,
			throwHttpErrors: false,
			responseType: 'buffer',
			retry: {limit: 0},
			http2: false,
			// got-scraping turns certificate checks off by default; crawljar sends passwords and
			// tokens, so a certificate must be valid unless the crawler says otherwise (ignoreTlsErrors).
			https: {rejectUnauthorized: true},
			// got-scraping's header agent over crawljar's own (bodyless-agent.ts: no Content-Length on a GET).
			agent: {http: new TransformHeadersAgent(agents.http), https: new TransformHeadersAgent(agents.https)},
		});
		// A copy of gotScraping's list (extend copies hooks): gotScraping itself keeps its check.
		extended.defaults.options.hooks.init = extended.defaults.options.hooks.init.filter((hook) => hook !== hooks.optionsValidationHandler);
		return extended;
	});
	return client;
}
