// Defaults that agree (issue 9 item 7): the defaults (10 in total, 4 per host, 4 per session)
// are ceilings; a default definition prints no note about them. A value the user set that the
// other caps make unreachable gets exactly one note, however many sessions the pool has.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {concurrencyNote, type ConcurrencyCaps} from '../../src/runner/concurrency-caps.js';
import {startServer} from '../sites/start-server.js';
import {crawl, html} from './crawl.js';

const defaults: ConcurrencyCaps = {
	concurrency: 10,
	concurrencySet: false,
	singleHost: true,
	perHost: 4,
	perHostSet: false,
	sessions: 1,
	perSession: 4,
	perSessionSet: false,
};

test('concurrencyNote: nothing for defaults; one note naming what was set and what caps it', () => {
	assert.equal(concurrencyNote(defaults), undefined);
	assert.equal(concurrencyNote({...defaults, sessions: undefined}), undefined);
	assert.equal(concurrencyNote({...defaults, sessions: 3, perHostSet: true, perHost: 8}), undefined, 'reachable: 8 per host, 3 × 4 sessions, 10 in total');
	assert.equal(
		concurrencyNote({...defaults, sessions: 3, perHostSet: true, perHost: 12}),
		'note: hosts.maxConcurrency 12 cannot be reached: at most 10 requests in flight (concurrency 10, 12 per host (hosts.maxConcurrency) on the one host crawled, 3 session(s) × 4 (sessions.maxConcurrency))',
	);
	assert.equal(
		concurrencyNote({...defaults, concurrencySet: true, concurrency: 20, sessions: 3}),
		'note: concurrency 20 cannot be reached: at most 4 requests in flight (concurrency 20, 4 per host (hosts.maxConcurrency) on the one host crawled, 3 session(s) × 4 (sessions.maxConcurrency))',
	);
	assert.equal(
		concurrencyNote({...defaults, perSessionSet: true, perSession: 8, sessions: undefined}),
		undefined,
		'without a login the per-session cap does not apply',
	);
	assert.equal(
		concurrencyNote({...defaults, perSessionSet: true, perSession: 8}),
		'note: sessions.maxConcurrency 8 cannot be reached: at most 4 requests in flight (concurrency 10, 4 per host (hosts.maxConcurrency) on the one host crawled, 1 session(s) × 8 (sessions.maxConcurrency))',
	);
	assert.equal(
		concurrencyNote({...defaults, singleHost: false, concurrencySet: true, concurrency: 50, perHostSet: true, perHost: 20, sessions: 2, perSession: 5}),
		'note: concurrency 50 cannot be reached: at most 10 requests in flight (concurrency 50, 2 session(s) × 5 (sessions.maxConcurrency))',
	);
});

async function site(t: import('node:test').TestContext) {
	const server = await startServer(t, (request, response) => {
		response.setHeader('content-type', 'text/html');
		response.end(html('<h1>ok</h1>'));
	});
	return server.url;
}

const capsNotes = (logs: readonly string[]) => logs.filter((line) => /cannot be reached|caps concurrency|note:/.test(line));

test('a default definition with a login prints no note about concurrency caps', async (t) => {
	const url = await site(t);
	const {logs, summary} = await crawl(t, {
		name: 'defaults',
		startUrls: [`${url}/`],
		accounts: [{username: 'a'}, {username: 'b'}],
		login: async () => true,
		routes: {default: async () => {}},
	});
	assert.equal(summary.state, 'finished');
	assert.deepEqual(capsNotes(logs), []);
});

test('a set concurrency the caps cannot reach gets exactly one note, with several sessions', async (t) => {
	const url = await site(t);
	const {logs} = await crawl(t, {
		name: 'unreachable',
		startUrls: [`${url}/`],
		accounts: [{username: 'a'}, {username: 'b'}],
		login: async () => true,
		sessions: {perAccount: 3, maxConcurrency: 2},
		concurrency: 30,
		routes: {default: async () => {}},
	});
	assert.deepEqual(capsNotes(logs), [
		'note: concurrency 30 cannot be reached: at most 4 requests in flight (concurrency 30, 4 per host (hosts.maxConcurrency) on the one host crawled, 6 session(s) × 2 (sessions.maxConcurrency))',
	]);
});
