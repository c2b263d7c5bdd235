// A lease whose reply is lost: the store leased the requests, the connection dropped before the
// answer arrived, and the store's reconnect ran the call again and leased others. The first
// ones are in flight under this worker, and the worker never saw them. Its heartbeat must not
// keep them alive: it renews only the leases it holds, so they lapse and go back to the queue.
// Before, a crawl whose next catalogue page was among them waited forever with "0 pending",
// seen with PostgreSQL cut mid-crawl. The store here is SQLite with the loss simulated at its
// interface; the PostgreSQL scenario (a real cut) is test/store/postgres-faults.test.ts.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import type {Store} from '../../src/store/store.js';
import {openStore} from '../../src/store/open-store.js';
import {startServer} from '../sites/start-server.js';
import {crawl, html, tempStorage} from './crawl.js';

const PAGES = 8;
const LEASE_MS = 1_000;

/** The store, but the first lease holding `path` is taken and its reply dropped; the call is run again. */
function losingLeaseOf(store: Store, path: string): {store: Store; lost: () => string[]} {
	const lost: string[] = [];
	const wrapped = new Proxy(store, {
		get(target, property, receiver) {
			if (property !== 'leaseAs') {
				const value: unknown = Reflect.get(target, property, receiver);
				return typeof value === 'function' ? value.bind(target) : value;
			}
			return async (...args: Parameters<Store['leaseAs']>) => {
				const leased = await target.leaseAs(...args);
				if (lost.length > 0 || !leased.some((request) => new URL(request.url).pathname === path)) return leased;
				lost.push(...leased.map((request) => new URL(request.url).pathname));
				return target.leaseAs(...args);
			};
		},
	});
	return {store: wrapped, lost: () => lost};
}

test('a lease whose reply was lost lapses and is done by the crawl, not kept in flight by the heartbeat forever', {timeout: 60_000}, async (t) => {
	// A chain: page n links to page n+1, so the crawl cannot end without each of them.
	const site = await startServer(t, (request, response) => {
		const n = Number(new URL(request.url ?? '/', 'http://x').pathname.slice('/page/'.length));
		response.setHeader('content-type', 'text/html');
		response.end(html(`<h1>page ${n}</h1>${n < PAGES ? `<a class="next" href="/page/${n + 1}">next</a>` : ''}`));
	});
	const storageDir = tempStorage(t);
	const name = 'lost-lease';
	const {store, lost} = losingLeaseOf(openStore(storageDir, name), '/page/3');
	t.after(() => store.close());
	const startedAt = Date.now();
	const result = await crawl(
		t,
		{
			name,
			startUrls: [`${site.url}/page/1`],
			leaseMs: LEASE_MS,
			routes: {
				default: async ({$, push, enqueue, request}) => {
					await push({path: new URL(request.url).pathname, title: $('h1').text()});
					await enqueue({selector: 'a.next'});
				},
			},
		},
		{store, storageDir},
	);
	assert.deepEqual(lost(), ['/page/3'], 'the lease of page 3 was lost');
	assert.equal(result.summary.state, 'finished');
	const paths = result.items.map((item) => (item as {path: string}).path).sort();
	assert.deepEqual(paths, Array.from({length: PAGES}, (_, index) => `/page/${index + 1}`).sort(), 'every page once, page 3 included');
	// Page 3 came back once its lease expired: a heartbeat or the finish check took it back.
	assert.ok(Date.now() - startedAt >= LEASE_MS, 'page 3 was done only after its lease expired');
});
