// `npm run bench -- --browser` (not in the default bench): what a browser costs. A browserLogin's
// time and the peak RSS (this process plus its Chromium processes) while it runs; then the same
// pages crawled by a browser route and over HTTP: pages/s and peak RSS of each. Against the demo
// site in this process (the numbers are for comparing the two ways, not absolute).
import {mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {startDemoSite} from '../demo/site/index.js';
import {browserLogin, defineCrawler, runCrawler} from '../src/index.js';
import type {CrawlerDefinition} from '../src/job/types.js';

process.env.CRAWLJAR_SECRET ??= 'browser-bench';
const PAGES = Number(process.env.BENCH_BROWSER_PAGES ?? 60);

/** RSS in bytes of this process and every descendant (Chromium's processes included). */
function treeRss(): number {
	const parents = new Map<number, number>();
	const rss = new Map<number, number>();
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
			const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
			parents.set(Number(entry), Number(fields[1]));
			rss.set(Number(entry), Number(fields[21]) * 4096);
		} catch {
			// Gone while read.
		}
	}
	let total = 0;
	for (const [pid, bytes] of rss) {
		for (let current: number | undefined = pid; current !== undefined; current = parents.get(current)) {
			if (current === process.pid) {
				total += bytes;
				break;
			}
		}
	}
	return total;
}

async function measure<T>(work: () => Promise<T>): Promise<{ms: number; peakMiB: number; value: T}> {
	let peak = treeRss();
	const timer = setInterval(() => (peak = Math.max(peak, treeRss())), 50);
	const started = performance.now();
	try {
		const value = await work();
		return {ms: Math.round(performance.now() - started), peakMiB: Math.round(peak / 2 ** 20), value};
	} finally {
		clearInterval(timer);
	}
}

export async function runBrowserBench(): Promise<void> {
	const site = await startDemoSite({users: {demo: 'demo-password'}});
	const dirs: string[] = [];
	const storage = () => {
		const dir = mkdtempSync(path.join(os.tmpdir(), 'crawljar-browser-bench-'));
		dirs.push(dir);
		return dir;
	};
	const login = browserLogin({
		url: '/app/login',
		steps: async ({page, account}) => {
			await page.fill('#email', account.username);
			await page.fill('#password', account.password!);
			await page.click('button[type=submit]');
			await page.waitForURL('**/app/dashboard');
		},
	});
	const crawler = (name: string, browser: boolean): CrawlerDefinition =>
		defineCrawler({
			name,
			startUrls: Array.from({length: PAGES}, (_, index) => `${site.url}/app/item/${index + 1}`),
			accounts: [{username: 'demo', password: 'demo-password'}],
			login,
			useHeaderGenerator: false,
			routes: browser
				? {default: {browser: true, handler: async ({$, push}) => push({title: $('h1').text()})}}
				: {default: async ({$, push}) => push({title: $('h1').text()})},
		});
	try {
		// One crawler name and storage: the login's session is persisted, so the two crawls after it
		// start logged in and their pages/s is the pages alone.
		const dir = storage();
		const loginOnly = await measure(() => runCrawler({...crawler('bench', false), startUrls: [`${site.url}/app/dashboard`]}, {storageDir: dir}));
		const http = await measure(() => runCrawler(crawler('bench', false), {storageDir: dir, fresh: true}));
		const inBrowser = await measure(() => runCrawler(crawler('bench', true), {storageDir: dir, fresh: true}));
		const results = {
			at: new Date().toISOString(),
			pages: PAGES,
			browserLogin: {ms: loginOnly.ms, peakRssMiB: loginOnly.peakMiB},
			httpRoute: {pagesPerSecond: Math.round((PAGES / http.ms) * 1000 * 10) / 10, ms: http.ms, peakRssMiB: http.peakMiB},
			browserRoute: {pagesPerSecond: Math.round((PAGES / inBrowser.ms) * 1000 * 10) / 10, ms: inBrowser.ms, peakRssMiB: inBrowser.peakMiB},
		};
		console.log(JSON.stringify(results, null, 2));
		writeFileSync(path.join(import.meta.dirname, 'browser-results.json'), `${JSON.stringify(results, null, 2)}\n`);
	} finally {
		await site.close();
		for (const dir of dirs) rmSync(dir, {recursive: true, force: true});
	}
}
