// Shared by the browser tests: the demo site, temp storage, quiet fetch defaults.
import type {TestContext} from 'node:test';
import {startDemoSite, type DemoSite} from '../../demo/site/index.js';
import {captureLog, tempStorage} from '../helpers/temp.js';

process.env.CRAWLJAR_SECRET ??= 'browser-test-secret';

export const ACCOUNT = {username: 'demo', password: 'demo-password-9f3k'};

export async function demoSite(t: TestContext): Promise<DemoSite> {
	const site = await startDemoSite({users: {[ACCOUNT.username]: ACCOUNT.password}});
	t.after(() => site.close());
	return site;
}

export const storage = (t: TestContext): string => tempStorage(t, 'crawljar-browser-');
export {captureLog};

/** Fast, predictable requests: no generated browser headers. */
export const quiet = {useHeaderGenerator: false, headers: {'user-agent': 'crawljar-browser-test'}} as const;
