// crawljar's got-scraping instance. The options every exchange shares are set once (got merges
// each request's options into its defaults: fewer to merge, less work per request), and
// got-scraping's per-request `ow` check of its own options is left out: ow walks the call stack
// for its messages (~60 µs a request in bench/ profiles), and crawljar sets those options itself,
// from validated definitions. got-scraping's other hooks (browser headers, session data) stay.
import {gotScraping, hooks} from 'got-scraping';

function createClient(): typeof gotScraping {
	const client = gotScraping.extend({
		mutableDefaults: true,
		// got would decode inside its stream, where no limit sees the decoded size: decodeBody does it.
		decompress: false,
		followRedirect: false,
		throwHttpErrors: false,
		responseType: 'buffer',
		retry: {limit: 0},
		http2: false,
	});
	// A copy of gotScraping's list (extend copies hooks): gotScraping itself keeps its check.
	client.defaults.options.hooks.init = client.defaults.options.hooks.init.filter((hook) => hook !== hooks.optionsValidationHandler);
	return client;
}

export const gotClient = createClient();
