// (c) The practical ceiling: got-scraping + cheerio + p-queue, a Set for dedupe, nothing persisted.
// Parses with the cheerio (and options) crawljar uses, the root package's 1.2, not Crawlee's copy.
import {createRequire} from 'node:module';
import {pathToFileURL} from 'node:url';
import {gotScraping} from 'got-scraping';
import PQueue from 'p-queue';
import type * as Cheerio from 'cheerio';
import {extractBook, isLoginPage, type Book} from '../lib/extract.js';
import {loginCookie} from '../lib/login.js';
import {startClock, type Measurement, type WorkerConfig} from '../lib/types.js';

async function rootCheerio(): Promise<typeof Cheerio> {
	const resolved = createRequire(new URL('../../package.json', import.meta.url)).resolve('cheerio');
	return (await import(pathToFileURL(resolved).href)) as typeof Cheerio;
}

export async function runHandwritten(config: WorkerConfig): Promise<Measurement> {
	const {load} = await rootCheerio();
	const cookie = await loginCookie(config.siteUrl);
	const queue = new PQueue({concurrency: config.concurrency});
	const seen = new Set<string>();
	const items: Book[] = [];
	// got-scraping caches its generated browser headers per session token (crawljar passes one too).
	const sessionToken = {};
	let pages = 0;
	let failures = 0;

	function add(url: string, label: 'list' | 'book'): void {
		if (seen.has(url)) return;
		seen.add(url);
		void queue.add(() => visit(url, label));
	}

	async function visit(url: string, label: 'list' | 'book'): Promise<void> {
		try {
			const response = await gotScraping({url, headers: {cookie}, sessionToken, followRedirect: false});
			if (response.statusCode !== 200) throw new Error(`${url}: status ${response.statusCode}`);
			const $ = load(response.body, {xml: {xmlMode: false, decodeEntities: true}, baseURI: url});
			if (isLoginPage($)) throw new Error(`${url}: logged out`);
			pages++;
			if (label === 'book') {
				items.push(extractBook($, url));
				return;
			}
			$('a.book').each((_, element) => {
				const href = $(element).attr('href');
				if (href) add(new URL(href, url).href, 'book');
			});
			$('a.next').each((_, element) => {
				const href = $(element).attr('href');
				if (href) add(new URL(href, url).href, 'list');
			});
		} catch (error) {
			failures++;
			if (failures <= 3) console.error(String(error));
		}
	}

	const stop = startClock();
	add(`${config.siteUrl}/catalogue`, 'list');
	await queue.onIdle();
	const {elapsedMs, cpuMs} = stop();
	return {pages, items: items.length, elapsedMs, cpuMs, maxRssKiB: process.resourceUsage().maxRSS};
}
