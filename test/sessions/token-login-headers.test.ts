// tokenLogin's `headers` option (documented in the README) is sent with the login and the
// refresh requests, and only with those: the token endpoint sees it, the pages do not.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {tokenLogin} from '../../src/sessions/login/token-login.js';
import {loginContext, startServer} from './helpers.js';

test("tokenLogin({headers}) sends them with the login and the refresh requests", async (t) => {
	const seen: string[] = [];
	const url = await startServer(t, (request, response) => {
		seen.push(`${request.url} ${request.headers['x-api-key'] ?? '-'} ${request.headers.accept ?? '-'}`);
		response.setHeader('content-type', 'application/json');
		response.end(JSON.stringify({access_token: `at-${seen.length}`, refresh_token: `rt-${seen.length}`}));
	});
	const strategy = tokenLogin({
		url: '/token',
		body: () => ({grant: 'password'}),
		accessToken: 'access_token',
		refreshToken: 'refresh_token',
		headers: {'x-api-key': 'key-1'},
		refresh: {url: '/refresh', body: ({refreshToken}) => ({refreshToken})},
	});
	const context = loginContext(url, {username: 'alice', password: 'pw'});
	await strategy.login(context);
	await strategy.refresh!(context);
	assert.deepEqual(seen, ['/token key-1 application/json', '/refresh key-1 application/json']);
	assert.deepEqual(strategy.credentialHeaders(context.session), {authorization: 'Bearer at-2'});
});
