import {test} from 'node:test';
import {runCrawler} from '../../src/runner/run-crawler.js';
import {captureLog, DEMO_ACCOUNT, demoSite, formCrawler, storedItems, tempStorage} from './helpers.js';
const ALICE = {username: 'alice', password: 'alice-password'};
const users = {[DEMO_ACCOUNT.username]: DEMO_ACCOUNT.password, [ALICE.username]: ALICE.password};
test('x', async (t) => {
	const site = await demoSite(t, {books: 60, users, sessionMaxRequests: 10, logoutStyle: 'delete-cookie'});
	const storageDir = tempStorage(t);
	const log = captureLog();
	const summary = await runCrawler(formCrawler(site, {accounts: [DEMO_ACCOUNT, ALICE], sessions: {maxConcurrency: 3}, concurrency: 6, hosts: {maxConcurrency: 6}}), {storageDir, log});
	console.log(JSON.stringify(summary, null, 1));
	console.log(log.lines.join('\n'));
	console.log(site.stats.log.map((e) => `${e.method} ${e.path} ${e.status} c=${e.hasCookie}`).join('\n'));
	console.log((await storedItems(storageDir, 'form')).length);
});
