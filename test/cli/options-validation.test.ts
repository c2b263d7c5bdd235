// Every option is checked when the file loads (issue 9 item 3): `crawljar run` on a definition
// with a bad login, retry, sessions, hosts, route or schedule option exits 2, names the file and
// the field path, and sends no request at all (the local server counts what it received).
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {runCli, tempProject} from '../helpers/run-cli.js';
import {startServer} from '../sites/start-server.js';

const accounts = `accounts: [{username: 'demo', password: 'hunter2-secret'}]`;

/** Crawler file bodies (after `import … from 'crawljar'`), with SITE standing for the server's origin. */
const invalidFiles: Record<string, {source: string; messages: RegExp[]}> = {
	'form-login-typo.ts': {
		source: `export default defineCrawler({name: 'a', startUrls: [SITE + '/'], ${accounts},
			login: formLogin({url: '/login', feilds: ({account}) => ({user: account.username, pass: account.password})}),
			routes: {default: async () => {}}});`,
		messages: [/^ {2}login\.fields: expected a function \(or `steps`\)$/m, /^ {2}login\.feilds: unknown option \(did you mean 'fields'\?\)$/m],
	},
	'token-login-path.ts': {
		source: `export default defineCrawler({name: 'b', startUrls: [SITE + '/'], ${accounts},
			login: tokenLogin({url: '/token', body: ({account}) => ({user: account.username}), accessToken: ['data', 'access_token']}),
			routes: {default: async () => {}}});`,
		messages: [/^ {2}login\.accessToken: expected a dot path into the JSON response/m],
	},
	'custom-login-option.ts': {
		source: `export default defineCrawler({name: 'c', startUrls: [SITE + '/'], ${accounts},
			login: customLogin(async () => true, {loginUrl: '/login', allowInsecureLogin: 'yes'}),
			routes: {default: async () => {}}});`,
		messages: [/^ {2}login\.allowInsecureLogin: expected true or false$/m],
	},
	'retry-statuses.ts': {
		source: `export default defineCrawler({name: 'd', startUrls: [SITE + '/'], retry: {statuses: {transient: 503}}, routes: {default: async () => {}}});`,
		messages: [/^ {2}retry\.statuses\.transient: expected an array of status codes$/m],
	},
	'route-retry.ts': {
		source: `export default defineCrawler({name: 'e', startUrls: [SITE + '/'], routes: {default: {handler: async () => {}, retry: {backoff: {factor: 0}}}}});`,
		messages: [/^ {2}routes\.default\.retry\.backoff\.factor: expected a finite number >= 1$/m],
	},
	'sessions-typo.ts': {
		source: `export default defineCrawler({name: 'f', startUrls: [SITE + '/'], ${accounts}, login: async () => true,
			sessions: {perAcount: 2}, routes: {default: async () => {}}});`,
		messages: [/^ {2}sessions\.perAcount: unknown option \(did you mean 'perAccount'\?\)$/m],
	},
	'hosts-bad.ts': {
		source: `export default defineCrawler({name: 'g', startUrls: [SITE + '/'], hosts: {overrides: [{match: '127.0.0.1', maxConcurrency: 0}]}, routes: {default: async () => {}}});`,
		messages: [/^ {2}hosts\.overrides\.0\.maxConcurrency: expected a positive integer$/m],
	},
	'start-label.ts': {
		source: `export default defineCrawler({name: 'h', startUrls: [{url: SITE + '/', label: 'isue'}], routes: {default: async () => {}, issue: async () => {}}});`,
		messages: [/^ {2}startUrls\.0\.label: no route 'isue' in routes$/m],
	},
	'schedule-typo.ts': {
		source: `export default defineCrawler({name: 'i', startUrls: [SITE + '/'], schedule: {cron: '0 * * * *', catchup: 'once'}, routes: {default: async () => {}}});`,
		messages: [/^ {2}schedule\.catchup: unknown option \(did you mean 'catchUp'\?\)$/m],
	},
};

test('crawljar run: a bad option of any options object exits 2 with the file and the field path, and sends no request', async (t) => {
	const seen: string[] = [];
	const site = await startServer(t, (request, response) => {
		seen.push(`${request.method} ${request.url}`);
		response.end('<form><input type=password name=pass></form>');
	});
	const project = tempProject(t);
	const cases = Object.entries(invalidFiles);
	for (const [file, {source}] of cases) {
		project.write(`crawlers/${file}`, `import {customLogin, defineCrawler, formLogin, tokenLogin} from 'crawljar';\nconst SITE = ${JSON.stringify(site.url)};\n${source}\n`);
	}
	// Two CLIs at a time: each starts tsx, and the machine may be shared. The timeout only catches hangs.
	const results: {file: string; messages: RegExp[]; result: Awaited<ReturnType<typeof runCli>>}[] = [];
	const next = async (): Promise<void> => {
		for (let entry = cases.shift(); entry; entry = cases.shift()) {
			const [file, {messages}] = entry;
			results.push({file, messages, result: await runCli(['run', `crawlers/${file}`], {cwd: project.dir, env: project.env, timeoutMs: 180_000})});
		}
	};
	await Promise.all([next(), next()]);
	assert.equal(results.length, Object.keys(invalidFiles).length);
	for (const {file, messages, result} of results) {
		assert.equal(result.code, 2, `${file}: ${result.stderr}`);
		assert.match(result.stderr, new RegExp(`crawlers/${file.replace('.', '\\.')}: invalid crawler definition\\n`), file);
		for (const message of messages) assert.match(result.stderr, message, file);
		assert.doesNotMatch(result.stderr, /\n\s+at /, `${file}: no stack trace for a user error`);
		assert.doesNotMatch(result.stdout + result.stderr, /hunter2-secret/, `${file}: no password in the output`);
	}
	assert.deepEqual(seen, [], 'no request reached the server');
});
