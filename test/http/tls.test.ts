// TLS certificates are checked (got-scraping's own default accepts any): a crawl of a host with a
// self-signed certificate fails those requests at once, without retries and before a login's
// password is sent; `ignoreTlsErrors: true` accepts it, for a host the user trusts.
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import type {RequestListener} from 'node:http';
import {createServer} from 'node:https';
import type {AddressInfo} from 'node:net';
import {test, type TestContext} from 'node:test';
import {defineCrawler} from '../../src/define-crawler.js';
import {fetchPage} from '../../src/http/fetch.js';
import {validateDefinition} from '../../src/job/schema.js';
import {formLogin} from '../../src/sessions/login/form-login.js';
import {crawl, html} from '../runner/crawl.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url));
const PASSWORD = 'pw-tls-Qz81';

async function startHttpsSite(t: TestContext, handler: RequestListener): Promise<{url: string; seen: string[]}> {
	const seen: string[] = [];
	const server = createServer({key: fixture('self-signed.key'), cert: fixture('self-signed.crt')}, (request, response) => {
		seen.push(`${request.method} ${request.url}`);
		handler(request, response);
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	t.after(() => {
		server.closeAllConnections();
		server.close();
	});
	return {url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, seen};
}

const page: RequestListener = (_request, response) => {
	response.setHeader('content-type', 'text/html');
	response.end(html('<h1>secure</h1>'));
};

test('fetchPage refuses a self-signed certificate with a hint, and takes it with ignoreTlsErrors', async (t) => {
	const site = await startHttpsSite(t, page);
	await assert.rejects(fetchPage(`${site.url}/`, {useHeaderGenerator: false}), (error: Error & {code?: string; networkCode?: string}) => {
		assert.equal(error.code, 'ERR_NETWORK');
		assert.equal(error.networkCode, 'DEPTH_ZERO_SELF_SIGNED_CERT');
		assert.match(error.message, /TLS certificate did not verify.*ignoreTlsErrors/);
		return true;
	});
	assert.deepEqual(site.seen, [], 'no request reached the server');
	const result = await fetchPage(`${site.url}/`, {useHeaderGenerator: false, ignoreTlsErrors: true});
	assert.equal(result.status, 200);
	assert.match(result.body.toString(), /secure/);
});

test('a crawl of an untrusted host fails its pages once each, not retried; ignoreTlsErrors crawls it', async (t) => {
	const site = await startHttpsSite(t, page);
	const definition = defineCrawler({name: 'tls-crawl', startUrls: [`${site.url}/a`, `${site.url}/b`], routes: {default: async ({$, push}) => push({title: $('h1').text()})}});
	const refused = await crawl(t, definition);
	assert.equal(refused.items.length, 0);
	assert.deepEqual(refused.failed.map((each) => [each.errorCode, each.retryCount]), [
		['DEPTH_ZERO_SELF_SIGNED_CERT', 0],
		['DEPTH_ZERO_SELF_SIGNED_CERT', 0],
	]);
	assert.match(refused.failed[0]!.error, /TLS certificate did not verify/);
	const trusted = await crawl(t, defineCrawler({...definition, name: 'tls-crawl-trusted', ignoreTlsErrors: true}));
	assert.deepEqual(trusted.items, [{title: 'secure'}, {title: 'secure'}]);
});

test('a form login to an untrusted host never sends the password', async (t) => {
	const bodies: string[] = [];
	const site = await startHttpsSite(t, (request, response) => {
		let body = '';
		request.on('data', (chunk: Buffer) => (body += chunk.toString()));
		request.on('end', () => {
			bodies.push(body);
			response.setHeader('content-type', 'text/html');
			response.end(html('<form method="post" action="/login"><input name="username"><input name="password" type="password"></form>'));
		});
	});
	const definition = defineCrawler({
		name: 'tls-login',
		startUrls: [`${site.url}/home`],
		accounts: [{username: 'ann', password: PASSWORD}],
		login: formLogin({url: '/login', fields: ({account}) => ({username: account.username, password: account.password ?? ''})}),
		routes: {default: async ({push}) => push({ok: true})},
	});
	const result = await crawl(t, definition);
	assert.notEqual(result.summary.state, 'finished');
	assert.equal(result.items.length, 0);
	assert.deepEqual(site.seen, [], 'the TLS handshake failed before any request was sent');
	assert.ok(!bodies.some((body) => body.includes(PASSWORD)));
	assert.ok(!result.logs.join('\n').includes(PASSWORD), 'the password is not logged either');
});

test('ignoreTlsErrors is checked: a non-boolean names the field', () => {
	assert.throws(
		() => validateDefinition(defineCrawler({name: 'tls-bad', startUrls: ['https://127.0.0.1/'], ignoreTlsErrors: 'yes' as never, routes: {default: async () => {}}}), 'tls-bad.ts'),
		/ignoreTlsErrors: expected true or false/,
	);
});
