// A crawler that needs a browser exits 2 at load, with the install command, when there is no
// Chromium; one that does not need a browser runs the same without one.
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {findChromium, requireChromium} from '../../src/browser/chromium-path.js';
import {runCli, tempProject} from '../helpers/run-cli.js';

describe('Chromium discovery', () => {
	test('CRAWLJAR_CHROMIUM wins; else the PATH; none: ERR_NO_BROWSER with the install command', () => {
		assert.equal(findChromium({CRAWLJAR_CHROMIUM: process.execPath, PATH: ''}), process.execPath);
		assert.equal(findChromium({CRAWLJAR_CHROMIUM: '/no/such/chromium', PATH: '/usr/bin'}), undefined);
		assert.equal(findChromium({PATH: '/no/such/dir'}), undefined);
		assert.throws(
			() => requireChromium("crawler 'x'", {PATH: '/no/such/dir'}),
			(error: {code?: string; message: string}) => error.code === 'ERR_NO_BROWSER' && error.message.includes('apt-get install -y chromium') && error.message.includes('CRAWLJAR_CHROMIUM'),
		);
	});

	test('crawljar run of a browser crawler without Chromium exits 2 before any request', {timeout: 60_000}, async (t) => {
		const project = tempProject(t);
		project.write(
			'crawlers/needs-browser.ts',
			`import {defineCrawler} from 'crawljar';
export default defineCrawler({name: 'needs-browser', startUrls: ['http://127.0.0.1:9/'], routes: {default: {browser: true, handler: async () => {}}}});
`,
		);
		const result = await runCli(['run', 'crawlers/needs-browser.ts'], {cwd: project.dir, env: {...project.env, CRAWLJAR_CHROMIUM: '/no/such/chromium'}});
		assert.equal(result.code, 2, result.stderr);
		assert.match(result.stderr, /routes\.default \(browser: true\) needs a browser/);
		assert.match(result.stderr, /apt-get install -y chromium/);
	});
});
