// Every options object is checked when the definition loads (issue 9 item 3): one strict schema
// each, errors naming the field path, unknown keys named, login factories' options checked
// under `login.`. Each case asserts the exact line a user reads.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {validateDefinition} from '../../src/job/schema.js';
import {resolveRetryOptions} from '../../src/policy/retry-options.js';
import {formLogin} from '../../src/sessions/login/form-login.js';
import {customLogin} from '../../src/sessions/login/login-strategy.js';
import {tokenLogin} from '../../src/sessions/login/token-login.js';

const handler = async (): Promise<void> => {};
const base = {name: 'shop', startUrls: ['http://127.0.0.1:9/'], routes: {default: handler}};
const withLogin = (login: unknown) => ({...base, accounts: [{username: 'u', password: 'hunter2'}], login});
const fields = () => ({user: 'u'});
const body = () => ({});

/** The problem lines of the error, without the "<source>: invalid crawler definition" header. */
function problems(definition: unknown): string[] {
	try {
		validateDefinition(definition, 'crawlers/shop.ts');
	} catch (error) {
		const {code, message} = error as {code?: string; message: string};
		assert.equal(code, 'ERR_DEFINITION');
		const [header, ...lines] = message.split('\n');
		assert.equal(header, 'crawlers/shop.ts: invalid crawler definition');
		return lines.map((line) => line.trim());
	}
	assert.fail('expected the definition to be rejected');
}

test('formLogin options: a missing or misspelled field is named under login.', () => {
	assert.deepEqual(problems(withLogin(formLogin({url: '/login', feilds: fields} as never))), [
		"login.feilds: unknown option (did you mean 'fields'?)",
		'login.fields: expected a function (or `steps`)',
	]);
	assert.deepEqual(problems(withLogin(formLogin({url: '', fields, formSelector: 3, allowInsecureLogin: 'yes'} as never))), [
		'login.url: expected a URL (absolute, or relative to the first start URL)',
		'login.formSelector: expected a CSS selector',
		'login.allowInsecureLogin: expected true or false',
	]);
	assert.deepEqual(problems(withLogin(formLogin({url: '/login', fields, success: {cookie: 'sid', urlNot: '/login'}} as never))), [
		"login.success: expected { cookie: 'name' }, { urlNot: '/login' }, { selector: 'css' } or a function",
	]);
	assert.deepEqual(problems(withLogin(formLogin({url: '/login', fields, success: {selector: ''}}))), ['login.success.selector: expected a non-empty string']);
	for (const success of [{cookie: 'sid'}, {urlNot: '/login'}, {selector: '.logout'}, () => true]) {
		assert.doesNotThrow(() => validateDefinition(withLogin(formLogin({url: '/login', fields, success})), 'x'));
	}
});

test('tokenLogin options: paths, unit, header and refresh are checked before any login', () => {
	assert.deepEqual(problems(withLogin(tokenLogin({url: '/token', body, accessToken: ['data', 'token']} as never))), [
		"login.accessToken: expected a dot path into the JSON response, e.g. 'data.access_token'",
	]);
	assert.deepEqual(
		problems(withLogin(tokenLogin({url: '/token', body, accessToken: 'data..token', expiresInUnit: 'sec', header: 'x auth', refreshSkewMs: -1, headers: {k: 1}} as never))),
		[
			"login.accessToken: expected a dot path into the JSON response, e.g. 'data.access_token'",
			"login.expiresInUnit: expected 's' or 'ms'",
			'login.header: expected an HTTP header name',
			'login.refreshSkewMs: expected a finite number >= 0',
			'login.headers: expected an object of string values ({ name: "value" })',
		],
	);
	assert.deepEqual(problems(withLogin(tokenLogin({url: '/token', body, accessToken: 'token', refresh: {url: '/refresh', bdy: body}} as never))), [
		'login.refresh.body: expected a function',
		"login.refresh.bdy: unknown option (did you mean 'body'?)",
	]);
	assert.deepEqual(problems(withLogin(tokenLogin({url: '/token', body, accessToken: 'token', acessToken: 'x'} as never))), [
		"login.acessToken: unknown option (did you mean 'accessToken'?)",
	]);
	const valid = tokenLogin({
		url: '/token',
		body,
		accessToken: 'data.access_token',
		refreshToken: 'data.refresh_token',
		expiresIn: 'data.expires_in',
		expiresInUnit: 'ms',
		header: 'x-api-token',
		scheme: '',
		refreshSkewMs: 0,
		headers: {'x-api-key': 'k'},
		refresh: {url: '/refresh', body: ({refreshToken}) => ({refreshToken})},
	});
	assert.doesNotThrow(() => validateDefinition(withLogin(valid), 'x'));
});

test('customLogin options and the login field itself', () => {
	assert.deepEqual(problems(withLogin(customLogin(async () => true, {loginURL: '/login'} as never))), [
		"login.loginURL: unknown option (did you mean 'loginUrl'?)",
	]);
	assert.deepEqual(problems(withLogin('formLogin')), ['login: expected formLogin(…), tokenLogin(…), browserLogin(…), customLogin(…) or an async function']);
	assert.doesNotThrow(() => validateDefinition(withLogin(async () => true), 'x'));
	assert.doesNotThrow(() => validateDefinition(withLogin(customLogin(async () => true, {loginUrl: '/login', allowInsecureLogin: true})), 'x'));
});

test('a factory given bad options does not throw at import; its strategy refuses to log in unchecked', async () => {
	const strategy = tokenLogin({url: '/token', body, accessToken: 'token', header: 42} as never);
	await assert.rejects(
		strategy.login({} as never),
		{code: 'ERR_DEFINITION', message: 'invalid token login options: login.header: expected an HTTP header name'},
	);
});

test('retry options: statuses, network codes, backoff and unknown keys, crawler-wide and per route', () => {
	assert.deepEqual(problems({...base, retry: {statuses: {transient: 503}}}), ['retry.statuses.transient: expected an array of status codes']);
	assert.deepEqual(problems({...base, retry: {statuses: {transient: [503, '504', 200]}, networkCodes: {transient: 'ECONNRESET'}}}), [
		'retry.statuses.transient.1: expected an HTTP error status (400–599)',
		'retry.statuses.transient.2: expected an HTTP error status (400–599)',
		"retry.networkCodes.transient: expected an array of error codes (['ECONNRESET', …])",
	]);
	assert.deepEqual(problems({...base, retry: {maxRetries: Infinity, backoff: {factor: 0.5, capMS: 10}, maxRetryAfterMs: Infinity, isTransient: true}}), [
		'retry.maxRetries: expected an integer >= 0',
		'retry.backoff.factor: expected a finite number >= 1',
		"retry.backoff.capMS: unknown option (did you mean 'capMs'?)",
		'retry.maxRetryAfterMs: expected a finite number >= 0',
		'retry.isTransient: expected a function',
	]);
	assert.deepEqual(problems({...base, retry: {maxRetrys: 2}}), ["retry.maxRetrys: unknown option (did you mean 'maxRetries'?)"]);
	// A route's override is the same schema: it cannot smuggle in what the crawler-wide check refuses.
	assert.deepEqual(problems({...base, routes: {default: handler, api: {handler, retry: {statuses: {rateLimited: 429}}}}}), [
		'routes.api.retry.statuses.rateLimited: expected an array of status codes',
	]);
	assert.deepEqual(problems({...base, routes: {default: handler, api: {handler, rety: {}}}}), [
		"routes.api.rety: unknown option (did you mean 'retry'?)",
	]);
	assert.deepEqual(problems({...base, routes: {default: handler, api: {retry: {}}}}), ['routes.api.handler: expected a function']);
	assert.doesNotThrow(() => validateDefinition({...base, retry: {maxRetries: 0, statuses: {transient: [503], forbiddenAfterValid: false}}}, 'x'));
});

test('resolveRetryOptions from code runs the same schema', () => {
	assert.throws(() => resolveRetryOptions({statuses: {transient: 503}} as never), {
		name: 'TypeError',
		message: 'Invalid retry options: retry.statuses.transient: expected an array of status codes',
	});
});

test('sessions, hosts and timeouts options', () => {
	assert.deepEqual(problems({...base, sessions: {perAcount: 2, maxConcurrency: '4', authCookies: ['sid', '']}}), [
		'sessions.maxConcurrency: expected a positive integer',
		'sessions.authCookies.1: expected a cookie name',
		"sessions.perAcount: unknown option (did you mean 'perAccount'?)",
	]);
	assert.deepEqual(problems({...base, hosts: {maxRequestsPerSecond: 0, overrides: [{match: '', maxConcurrency: 0}, {maxConcurrency: 2}]}}), [
		'hosts.maxRequestsPerSecond: expected a number > 0',
		'hosts.overrides.0.match: expected a host or a glob such as *.example.com',
		'hosts.overrides.0.maxConcurrency: expected a positive integer',
		'hosts.overrides.1.match: expected a host or a glob such as *.example.com',
	]);
	assert.deepEqual(problems({...base, hosts: {overrides: [{match: 'a.test', maxConcurency: 2}]}}), [
		"hosts.overrides.0.maxConcurency: unknown option (did you mean 'maxConcurrency'?)",
	]);
	assert.deepEqual(problems({...base, timeouts: {connectMs: 0, total: 5}}), [
		'timeouts.connectMs: expected a positive integer',
		"timeouts.total: unknown option (did you mean 'totalMs'?)",
	]);
});

test('schedule options: an unknown key is named at its path', () => {
	assert.deepEqual(problems({...base, schedule: {cron: '0 * * * *', overlp: 'skip'}}), ["schedule.overlp: unknown option (did you mean 'overlap'?)"]);
});

test('start URLs: objects are strict, labels need a route', () => {
	assert.deepEqual(problems({...base, startUrls: [{url: 'http://127.0.0.1:9/', lable: 'x'}]}), [
		"startUrls.0.lable: unknown option (did you mean 'label'?)",
	]);
	assert.deepEqual(problems({...base, startUrls: [{url: 'http://127.0.0.1:9/', label: 'isue'}]}), ["startUrls.0.label: no route 'isue' in routes"]);
	// `toString` is on every object's prototype: it is not a route.
	assert.deepEqual(problems({...base, startUrls: [{url: 'http://127.0.0.1:9/', label: 'toString'}]}), ["startUrls.0.label: no route 'toString' in routes"]);
});
