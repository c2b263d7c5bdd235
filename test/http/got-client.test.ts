// crawljar's got instance drops got-scraping's per-request option check, and only its own copy;
// it is loaded on the first request, not when crawljar is imported.
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {test} from 'node:test';
import {gotScraping, hooks} from 'got-scraping';
import {loadGotClient} from '../../src/http/got-client.js';

test("the got client runs got-scraping's hooks but its per-request ow check; gotScraping keeps it", async () => {
	const gotClient = await loadGotClient();
	assert.equal(await loadGotClient(), gotClient, 'one instance per process');
	assert.ok(!gotClient.defaults.options.hooks.init.includes(hooks.optionsValidationHandler));
	assert.ok(gotClient.defaults.options.hooks.init.includes(hooks.customOptionsHook), 'custom options still reach the context');
	assert.ok((gotClient.defaults.options.hooks.beforeRequest as unknown[]).includes(hooks.browserHeadersHook));
	assert.ok(gotScraping.defaults.options.hooks.init.includes(hooks.optionsValidationHandler), 'other users of got-scraping are untouched');
	assert.equal(gotClient.defaults.options.decompress, false);
	assert.equal(gotClient.defaults.options.followRedirect, false);
	assert.equal(gotClient.defaults.options.retry.limit, 0);
});

test('importing crawljar loads neither got-scraping nor the full cheerio entry', () => {
	// A fresh process: what the built package's entry pulls in by itself (a handler thread, `crawljar status`).
	// Seen through their CommonJS dependencies (ESM modules are not listed in require.cache):
	// header-generator is got-scraping's, undici the full cheerio entry's.
	const script = `
		await import(${JSON.stringify(new URL('../../dist/index.js', import.meta.url).href)});
		const {createRequire} = await import('node:module');
		console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));
	`;
	const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {encoding: 'utf8'});
	assert.equal(result.status, 0, result.stderr);
	const loaded = JSON.parse(result.stdout) as string[];
	assert.ok(loaded.length > 0, 'the CommonJS modules crawljar loads are listed');
	for (const name of ['header-generator', 'undici']) {
		assert.ok(!loaded.some((file) => file.includes(`/node_modules/${name}/`)), `${name} is not loaded on import`);
	}
});
