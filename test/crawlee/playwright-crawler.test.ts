// The real PlaywrightCrawler (Debian Chromium through playwright-core) with crawljar's sessions:
// cookies go into each page's browser context and come back into the jar; sessions the server
// expires mid-crawl are logged in again inside the same Crawlee attempt.
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {test} from 'node:test';
import {Configuration, log, PlaywrightCrawler} from 'crawlee';
import {chromium} from 'playwright-core';
import {expectedBook} from '../../demo/site/index.js';
import {crawleeSessions} from '../../src/crawlee/index.js';
import {cooldownBreaches} from '../helpers/cooldown-check.js';
import {demoSite, formCrawler, tempStorage} from '../sessions-integration/helpers.js';

log.setLevel(log.LEVELS.OFF);

function chromiumPath(): string | undefined {
	try {
		return execFileSync('which', ['chromium'], {encoding: 'utf8'}).trim() || undefined;
	} catch {
		return undefined;
	}
}

const executablePath = chromiumPath();
if (!executablePath && process.env.CI) throw new Error('CI must run the PlaywrightCrawler test: install Debian chromium');

test('PlaywrightCrawler + crawleeSessions: every page arrives, logins = sessions + expiries, no request inside a 429 cooldown, zero logins on the next run', {skip: executablePath ? false : 'no chromium on PATH'}, async (t) => {
	const site = await demoSite(t, {books: 8, perPage: 4, sessionMaxRequests: 4, rateLimit: {perSecond: 6}});
	const storage = tempStorage(t);
	const definition = formCrawler(site, {name: 'crawlee-playwright', sessions: {perAccount: 2}, hosts: {maxConcurrency: 2}});
	const launchContext = {launcher: chromium, launchOptions: {executablePath, headless: true, args: ['--no-sandbox']}};
	const crawl = async (urls: Array<string | {url: string; label: string}>) => {
		const auth = await crawleeSessions(definition, {storage});
		const crawler = new PlaywrightCrawler(
			{
				...auth.browserCrawlerOptions(launchContext),
				// Both bounds: Crawlee's autoscaling would otherwise start at 1 and ramp up slowly.
				minConcurrency: 2,
				maxConcurrency: 2,
				maxRequestRetries: 0,
				// Only the pages: images, styles and scripts would count against the site's limiter.
				async requestHandler({request, page, enqueueLinks, pushData}) {
					if (request.label === 'book') return pushData({url: request.url, title: (await page.textContent('h1'))?.trim()});
					await enqueueLinks({selector: 'ul.books a.book', label: 'book'});
					await enqueueLinks({selector: 'a.next'});
				},
			},
			new Configuration({persistStorage: false}),
		);
		const stats = await crawler.run(urls);
		await auth.close();
		return {stats, crawler, items: (await crawler.getData()).items as Array<{title: string}>};
	};

	const first = await crawl([`${site.url}/catalogue`]);
	assert.equal(first.stats.requestsFailed, 0);
	assert.deepEqual(first.crawler.stats.requestRetryHistogram, [10], 'no Crawlee retry was spent');
	assert.deepEqual(first.items.map((item) => item.title).sort(), Array.from({length: 8}, (_, index) => expectedBook(index + 1).title).sort());
	assert.ok(site.stats.sessionsExpired >= 1, `the server expired sessions mid-crawl: ${site.stats.sessionsExpired}`);
	assert.equal(site.stats.loginSuccess, 2 + site.stats.sessionsExpired);
	assert.deepEqual(cooldownBreaches(site.stats.log, 2 - 1), []);

	const loginsBefore = site.stats.loginSuccess;
	const expiredBefore = site.stats.sessionsExpired;
	const second = await crawl([{url: site.url + expectedBook(1).path, label: 'book'}]);
	assert.deepEqual(second.items.map((item) => item.title), [expectedBook(1).title]);
	assert.equal(site.stats.loginSuccess - loginsBefore, site.stats.sessionsExpired - expiredBefore, 'no login but for expiries');
});
