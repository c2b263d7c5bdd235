// Starts the demo site for one test and closes it when the test ends.
import type {TestContext} from 'node:test';
import {startDemoSite} from '../../demo/site/index.js';
import type {DemoSite, DemoSiteOptions} from '../../demo/site/index.js';

export async function startTestSite(t: TestContext | undefined, options: DemoSiteOptions = {}): Promise<DemoSite> {
	const site = await startDemoSite(options);
	t?.after(() => site.close());
	return site;
}
