// crawljar's got instance drops got-scraping's per-request option check, and only its own copy.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {gotScraping, hooks} from 'got-scraping';
import {gotClient} from '../../src/http/got-client.js';

test("gotClient runs got-scraping's hooks but its per-request ow check; gotScraping keeps it", () => {
	assert.ok(!gotClient.defaults.options.hooks.init.includes(hooks.optionsValidationHandler));
	assert.ok(gotClient.defaults.options.hooks.init.includes(hooks.customOptionsHook), 'custom options still reach the context');
	assert.ok((gotClient.defaults.options.hooks.beforeRequest as unknown[]).includes(hooks.browserHeadersHook));
	assert.ok(gotScraping.defaults.options.hooks.init.includes(hooks.optionsValidationHandler), 'other users of got-scraping are untouched');
	assert.equal(gotClient.defaults.options.decompress, false);
	assert.equal(gotClient.defaults.options.followRedirect, false);
	assert.equal(gotClient.defaults.options.retry.limit, 0);
});
