// The demo's two-step login with a TOTP code: by formLogin({ steps }) over HTTP, and by
// browserLogin in a real browser. Two sessions of one account: two codes, none reused.
import assert from 'node:assert/strict';
import {readdirSync, readFileSync} from 'node:fs';
import path from 'node:path';
import {describe, test} from 'node:test';
import {DEMO_TOTP_SECRET, TWO_FACTOR_COOKIE} from '../../demo/site/index.js';
import {browserLogin, defineCrawler, formLogin, runCrawler} from '../../src/index.js';
import {validateDefinition} from '../../src/job/schema.js';
import {chromiumDescendants, chromiumOrSkip} from '../helpers/browser.js';
import {ACCOUNT, captureLog, demoSite, quiet, storage} from './helpers.js';

const twoFactorAccount = {...ACCOUNT, totpSecret: DEMO_TOTP_SECRET};

const homeRoute = {default: async ({$, push, request}: {$: import('cheerio').CheerioAPI; push: (item: unknown) => Promise<void>; request: {url: string}}) => push({url: request.url, who: $('#home').text()})};

describe('two-step login with TOTP', () => {
	test('formLogin({ steps }): user name, password, code; two sessions use two codes', {timeout: 90_000}, async (t) => {
		const site = await demoSite(t);
		const log = captureLog();
		const storageDir = storage(t);
		const summary = await runCrawler(
			defineCrawler({
				name: 'two-step',
				startUrls: [`${site.url}/2fa/home`],
				accounts: [twoFactorAccount],
				sessions: {perAccount: 2, maxConcurrency: 1},
				concurrency: 2,
				login: formLogin({
					url: '/2fa/login',
					steps: [
						{fields: ({account}) => ({username: account.username})},
						{fields: ({account}) => ({password: account.password!})},
						{formSelector: 'form#otp', fields: ({totp}) => ({code: totp()})},
					],
					success: {cookie: TWO_FACTOR_COOKIE},
				}),
				...quiet,
				routes: homeRoute,
			}),
			{storageDir, log},
		);
		assert.equal(summary.requests.done, 1);
		assert.ok(site.browserStats.twoFactorLogins >= 1);
		assert.equal(site.browserStats.reusedCodes, 0);
		assert.equal(site.browserStats.wrongCodes, 0);
		assert.ok(!log.lines.join('\n').includes(DEMO_TOTP_SECRET));
		// The store holds the sessions (encrypted), never the credentials: every byte of the folder.
		const files = readdirSync(storageDir, {recursive: true, withFileTypes: true}).filter((entry) => entry.isFile());
		assert.ok(files.some((entry) => entry.name.endsWith('.sqlite')), 'the crawl wrote its store');
		for (const entry of files) {
			const bytes = readFileSync(path.join(entry.parentPath, entry.name));
			for (const secret of [DEMO_TOTP_SECRET, twoFactorAccount.password!]) assert.equal(bytes.indexOf(secret), -1, `${entry.name} holds a credential`);
		}
	});

	test('the first step that finds no form is named by its index', {timeout: 60_000}, async (t) => {
		const site = await demoSite(t);
		const log = captureLog();
		await runCrawler(
			defineCrawler({
				name: 'two-step-missing',
				startUrls: [`${site.url}/2fa/home`],
				accounts: [twoFactorAccount],
				login: formLogin({
					url: '/2fa/login',
					steps: [{fields: ({account}) => ({username: account.username})}, {formSelector: 'form#nope', fields: () => ({x: '1'})}],
				}),
				...quiet,
				routes: homeRoute,
			}),
			{storageDir: storage(t), log},
		);
		assert.ok(log.lines.some((line) => line.includes("step 2 of 2 (steps[1]): no form matches 'form#nope'")), log.lines.join('\n'));
	});

	test('bad options and a bad totpSecret are named at load', () => {
		const base = {name: 'x', startUrls: ['http://127.0.0.1:1/'], routes: {default: () => {}}};
		assert.throws(
			() => validateDefinition({...base, accounts: [{username: 'a', totpSecret: 'nope!'}], login: formLogin({url: '/l', steps: []})}, 'crawlers/x.ts'),
			(error: Error) => /accounts\.0\.totpSecret: expected a base32/.test(error.message) && /login\.steps: expected at least one step/.test(error.message),
		);
		assert.throws(
			() => validateDefinition({...base, accounts: [{username: 'a'}], login: formLogin({url: '/l', fields: () => ({}), steps: [{fields: () => ({})}]})}, 'crawlers/x.ts'),
			/login\.steps: give either fields or steps/,
		);
		assert.throws(() => validateDefinition({...base, accounts: [{username: 'a'}], login: browserLogin({url: '/l', steps: 'no' as never})}, 'crawlers/x.ts'), /login\.steps: expected a function/);
	});

	test('browserLogin with totp(): two sessions of one account, two fresh codes, no browser left', {timeout: 150_000}, async (t) => {
		if (!chromiumOrSkip(t)) return;
		const site = await demoSite(t);
		const summary = await runCrawler(
			defineCrawler({
				name: 'two-step-browser',
				startUrls: [`${site.url}/2fa/home`, `${site.url}/2fa/home?again`],
				accounts: [twoFactorAccount],
				sessions: {perAccount: 2, maxConcurrency: 1},
				concurrency: 2,
				login: browserLogin({
					url: '/2fa/login',
					steps: async ({page, account, totp}) => {
						await page.fill('input[name=username]', account.username);
						await page.click('button[type=submit]');
						await page.fill('input[name=password]', account.password!);
						await page.click('button[type=submit]');
						await page.fill('#code', totp());
						await page.click('button[type=submit]');
						await page.waitForURL('**/2fa/home');
					},
				}),
				...quiet,
				routes: homeRoute,
			}),
			{storageDir: storage(t), log: captureLog()},
		);
		assert.equal(summary.requests.done, 2);
		assert.equal(site.browserStats.twoFactorLogins, 2, 'both sessions logged in');
		assert.equal(site.browserStats.reusedCodes, 0, 'the second login waited for a new code');
		assert.deepEqual(chromiumDescendants(), []);
	});
});
