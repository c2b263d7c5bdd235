// The real Crawlee (CheerioCrawler, HttpCrawler) with crawljar's sessions, against the demo
// bookshop: sessions the server expires mid-crawl, a 429 limiter, Crawlee retries set to 0 (a
// retry spent on a logout or a 429 would lose a page). Assertions on what the server saw and on
// what Crawlee stored and counted.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {CheerioCrawler, Configuration, HttpCrawler, log} from 'crawlee';
import {expectedBook} from '../../demo/site/index.js';
import {crawleeSessions} from '../../src/crawlee/index.js';
import {cooldownBreaches} from '../helpers/cooldown-check.js';
import {demoSite, formCrawler, tempStorage, tokenCrawler} from '../sessions-integration/helpers.js';

log.setLevel(log.LEVELS.OFF);

test('CheerioCrawler + crawleeSessions: every page arrives, logins = sessions + expiries, no request inside a 429 cooldown, zero logins on the next run', async (t) => {
	const site = await demoSite(t, {books: 60, sessionMaxRequests: 12, rateLimit: {perSecond: 12}});
	const storage = tempStorage(t);
	const definition = formCrawler(site, {name: 'crawlee-cheerio', sessions: {perAccount: 2}, hosts: {maxConcurrency: 4}});
	const auth = await crawleeSessions(definition, {storage});
	const config = new Configuration({persistStorage: false});
	const crawler = new CheerioCrawler(
		{
			...auth.crawlerOptions,
			maxConcurrency: 4,
			maxRequestRetries: 0,
			async requestHandler({request, $, enqueueLinks, pushData}) {
				if (request.label === 'book') return pushData({url: request.url, title: $('h1').text().trim()});
				await enqueueLinks({selector: 'ul.books a.book', label: 'book'});
				await enqueueLinks({selector: 'a.next'});
			},
		},
		config,
	);
	const stats = await crawler.run([`${site.url}/catalogue`]);
	await auth.close();
	const items = (await crawler.getData()).items as Array<{url: string; title: string}>;

	assert.equal(stats.requestsFailed, 0);
	assert.deepEqual(crawler.stats.requestRetryHistogram, [63], 'no Crawlee retry was spent: every request finished on its first attempt');
	assert.equal(stats.requestsFinished, 63, '3 catalogue pages + 60 books');
	assert.deepEqual(
		items.map((item) => item.title).sort(),
		Array.from({length: 60}, (_, index) => expectedBook(index + 1).title).sort(),
	);
	assert.ok(site.stats.sessionsExpired >= 2, `the server expired sessions mid-crawl: ${site.stats.sessionsExpired}`);
	assert.equal(site.stats.loginSuccess, 2 + site.stats.sessionsExpired, 'one login per session, one more per expiry');
	assert.ok(site.stats.sent429 >= 1, 'the limiter answered 429');
	assert.deepEqual(cooldownBreaches(site.stats.log, 4 - 1), []);

	const loginsBefore = site.stats.loginSuccess;
	const expiredBefore = site.stats.sessionsExpired;
	const again = await crawleeSessions(definition, {storage});
	const second = new HttpCrawler(
		{
			...again.crawlerOptions,
			maxRequestRetries: 0,
			async requestHandler({request, body, pushData}) {
				await pushData({url: request.url, isBook: String(body).includes('<article class="book"')});
			},
		},
		new Configuration({persistStorage: false}),
	);
	await second.run([1, 2, 3].map((id) => site.url + expectedBook(id).path));
	await again.close();
	const secondItems = (await second.getData()).items as Array<{isBook: boolean}>;
	assert.deepEqual(secondItems.map((item) => item.isBook), [true, true, true]);
	// A stored session the server expires at its 12th request logs in again; a valid one never does.
	assert.equal(site.stats.loginSuccess - loginsBefore, site.stats.sessionsExpired - expiredBefore, 'the stored sessions are reused: no login but for expiries');
});

test('HttpCrawler + crawleeSessions on the token API: one login, refreshed tokens, sendRequest goes through the session too', async (t) => {
	const site = await demoSite(t, {books: 40, accessTokenTtlMs: 1_200});
	const auth = await crawleeSessions(tokenCrawler(site, {name: 'crawlee-token'}), {storage: tempStorage(t)});
	const titles: string[] = [];
	const crawler = new HttpCrawler(
		{
			...auth.crawlerOptions,
			maxConcurrency: 2,
			maxRequestRetries: 0,
			additionalMimeTypes: ['application/json'],
			async requestHandler({json, sendRequest}) {
				const book = json as {id: number; title: string};
				titles.push(book.title);
				// Crawlee's sendRequest ignores its own session (apify/crawlee#3117); here it is crawljar's.
				const page = await sendRequest({url: `${site.url}/api/books?page=1`, responseType: 'json'});
				assert.equal(page.statusCode, 200);
				await new Promise((resolve) => setTimeout(resolve, 60));
			},
		},
		new Configuration({persistStorage: false}),
	);
	const stats = await crawler.run(Array.from({length: 40}, (_, index) => `${site.url}/api/books/${index + 1}`));
	await auth.close();
	assert.equal(stats.requestsFailed, 0);
	assert.equal(titles.length, 40);
	assert.equal(site.stats.tokenLogin, 1);
	assert.ok(site.stats.tokenRefresh >= 1, `refreshed: ${site.stats.tokenRefresh}`);
	assert.equal(site.stats.refreshReuseRejected, 0);
	assert.equal(site.stats.apiRequests, 80, 'every page and every sendRequest carried a valid token');
});
