// Crawler definitions are checked when loaded (issue 2, "What must hold" 2): an invalid one
// exits 2 naming the file and the field; an unknown name lists the known crawlers; a crawler
// file outside the project that imports 'crawljar' runs when crawljar is linked there.
import assert from 'node:assert/strict';
import path from 'node:path';
import {test} from 'node:test';
import {validateDefinition} from '../../src/job/schema.js';
import {runCli, tempProject} from '../helpers/run-cli.js';
import {startServer as startTestServer} from '../sites/start-server.js';

/** The test server's origin. */
const startServer = async (...args: Parameters<typeof startTestServer>): Promise<string> => (await startTestServer(...args)).url;

const handler = async () => {};

test('validateDefinition names the source and each bad field', () => {
	const cases: [unknown, RegExp][] = [
		[{name: 'x', startUrls: ['http://a.test/'], routes: {default: handler, book: 'nope'}}, /^ {2}routes\.book: expected a function/m],
		[{name: 'x', startUrls: ['ftp://a.test/', '/relative'], routes: {default: handler}}, /startUrls\.0: expected an absolute http\(s\) URL\n {2}startUrls\.1: expected an absolute http\(s\) URL/],
		[{name: 'x', startUrls: [], routes: {default: handler}}, /startUrls: expected at least one start URL/],
		[{name: 'x', startUrls: 'http://a.test/', routes: {default: handler}}, /startUrls: /],
		[{name: 'x', startUrls: ['http://a.test/'], routes: {default: handler}, concurency: 3}, /concurency/],
		[{name: 'x', startUrls: ['http://a.test/'], routes: {book: handler}}, /startUrls\.0: a start URL without a label needs a `default` route/],
		[{name: 'x', startUrls: [{url: 'http://a.test/', label: 'list'}], routes: {default: handler}}, /startUrls\.0\.label: no route 'list' in routes/],
		[{name: 'bad name', startUrls: ['http://a.test/'], routes: {default: handler}}, /name: expected letters, digits/],
		[{name: 'x', startUrls: ['http://a.test/'], routes: {default: handler}, concurrency: 0}, /concurrency: /],
		[{name: 'x', startUrls: ['https://bob:hunter2@a.test/'], routes: {default: handler}}, /startUrls\.0: a start URL may not carry credentials .*`accounts`.*`headers`/],
		[{name: 'x', startUrls: ['https://bob@a.test/'], routes: {default: handler}}, /startUrls\.0: a start URL may not carry credentials/],
		[{name: 'x', startUrls: [{url: 'https://a.test/?page=2&api_key=k&sig=s'}], routes: {default: handler}}, /startUrls\.0\.url: query parameter 'api_key', 'sig' looks like a credential .*`headers`/],
	];
	for (const [definition, message] of cases) {
		assert.throws(
			() => validateDefinition(definition, 'crawlers/shop.ts'),
			(error: Error & {code?: string}) => {
				assert.equal(error.code, 'ERR_DEFINITION');
				assert.match(error.message, /^crawlers\/shop\.ts: invalid crawler definition\n/);
				assert.match(error.message, message);
				return true;
			},
		);
	}
	const valid = {name: 'ok', startUrls: ['http://a.test/', 'http://a.test/search?q=key&page=2&to=token'], routes: {default: handler}};
	assert.equal(validateDefinition(valid, 'x'), valid);
	// The message names the parameter, never the secret.
	assert.throws(
		() => validateDefinition({name: 'x', startUrls: ['https://bob:hunter2@a.test/?token=t0k3n-value'], routes: {default: handler}}, 'x'),
		(error: Error) => !error.message.includes('hunter2') && !error.message.includes('t0k3n-value'),
	);
});

const invalidFiles: Record<string, {source: string; message: RegExp}> = {
	'route-not-a-function.ts': {
		source: `export default defineCrawler({name: 'shop', startUrls: ['http://127.0.0.1:9/'], routes: {default: async () => {}, book: 'oops'}} as never);`,
		message: /routes\.book: expected a function/,
	},
	'bad-start-url.ts': {
		source: `export default defineCrawler({name: 'shop', startUrls: ['not a url'], routes: {default: async () => {}}});`,
		message: /startUrls\.0: expected an absolute http\(s\) URL/,
	},
	'unknown-field.ts': {
		source: `export default defineCrawler({name: 'shop', startUrls: ['http://127.0.0.1:9/'], routes: {default: async () => {}}, concurency: 4} as never);`,
		message: /concurency: unknown option \(did you mean 'concurrency'\?\)/,
	},
	'no-default-route.ts': {
		source: `export default defineCrawler({name: 'shop', startUrls: ['http://127.0.0.1:9/'], routes: {book: async () => {}}});`,
		message: /startUrls\.0: a start URL without a label needs a `default` route/,
	},
	'no-default-export.ts': {
		source: `export const crawler = defineCrawler({name: 'shop', startUrls: ['http://127.0.0.1:9/'], routes: {default: async () => {}}});`,
		message: /no default export/,
	},
};

test('crawljar run: an invalid definition exits 2 and names the file and the field', async (t) => {
	const project = tempProject(t);
	const results = await Promise.all(
		Object.entries(invalidFiles).map(async ([file, {source, message}]) => {
			project.write(`crawlers/${file}`, `import {defineCrawler} from 'crawljar';\n${source}\n`);
			return {file, message, result: await runCli(['run', `crawlers/${file}`], {cwd: project.dir, env: project.env})};
		}),
	);
	for (const {file, message, result} of results) {
		assert.equal(result.code, 2, `${file}: ${result.stderr}`);
		assert.match(result.stderr, new RegExp(`crawlers/${file.replace('.', '\\.')}`), file);
		assert.match(result.stderr, message, file);
		assert.doesNotMatch(result.stderr, /\n\s+at /, `${file}: no stack trace for a user error`);
	}
});

test('crawljar run <unknown name> exits 2 and lists the known crawlers', async (t) => {
	const project = tempProject(t);
	for (const name of ['alpha', 'beta']) {
		project.write(
			`crawlers/${name}-file.ts`,
			`import {defineCrawler} from 'crawljar';\nexport default defineCrawler({name: '${name}', startUrls: ['http://127.0.0.1:9/'], routes: {default: async () => {}}});\n`,
		);
	}
	const result = await runCli(['run', 'gamma'], {cwd: project.dir, env: project.env});
	assert.equal(result.code, 2);
	assert.match(result.stderr, /Unknown crawler 'gamma'/);
	assert.match(result.stderr, /alpha, beta/);
});

const outsideCrawler = `import {defineCrawler, NonRetryableError} from 'crawljar';
import type {HandlerContext} from 'crawljar';


const title = ({$}: HandlerContext): string => $('h1').text();
export default defineCrawler({
	name: 'outside',
	startUrls: [process.env.SITE_URL + '/'],
	headers: {'user-agent': 'outside/1.0'},
	routes: {
		default: async ({enqueue}) => void (await enqueue({selector: 'a', label: 'page'})),
		page: async (context) => {
			if (typeof NonRetryableError !== 'function') throw new Error('missing export');
			await context.push({title: title(context)});
		},
	},
});
`;

// `packageJson: false` is the README's case: a plain folder with crawljar linked into its
// node_modules and no package.json (or a CommonJS one), where tsx compiles the .ts file to CommonJS.
for (const [kind, packageJson] of [
	['an ESM project ("type": "module")', undefined],
	['a folder without package.json', false],
] as const) {
	test(`a crawler file outside the repository, in ${kind}, imports 'crawljar' from its node_modules and runs`, async (t) => {
		const seen: string[] = [];
		const url = await startServer(t, (request, response) => {
			seen.push(`${request.url} ${request.headers['user-agent']}`);
			response.setHeader('content-type', 'text/html');
			response.end(request.url === '/' ? '<a href="/page">p</a>' : '<h1>Outside</h1>');
		});
		const project = tempProject(t, packageJson === undefined ? {} : {packageJson});
		const file = project.write('elsewhere/outside.ts', outsideCrawler);
		const result = await runCli(['run', file], {cwd: path.dirname(file), env: {...project.env, SITE_URL: url}});
		assert.equal(result.code, 0, result.stderr);
		assert.deepEqual(seen.sort(), ['/ outside/1.0', '/page outside/1.0']);
		const exported = await runCli(['export', 'outside', '--format', 'jsonl'], {cwd: project.dir, env: project.env});
		assert.equal(exported.code, 0, exported.stderr);
		assert.deepEqual(exported.stdout.trim().split('\n').map((line) => JSON.parse(line)), [{title: 'Outside'}]);
	});
}

test('crawljar run: a start URL with a credential is refused before anything is stored (issue 14 item 6)', async (t) => {
	const project = tempProject(t);
	const secret = 'v3ry-secret-t0ken';
	const file = project.write(
		'crawlers/leaky.ts',
		`import {defineCrawler} from 'crawljar';\nexport default defineCrawler({name: 'leaky', startUrls: ['http://127.0.0.1:9/data?token=${secret}'], routes: {default: async () => {}}});\n`,
	);
	const result = await runCli(['run', file], {cwd: project.dir, env: project.env});
	assert.equal(result.code, 2, result.stderr);
	assert.match(result.stderr, /startUrls\.0: query parameter 'token' looks like a credential/);
	assert.ok(!`${result.stdout}${result.stderr}`.includes(secret), 'the secret is not echoed');
	// Nothing holds the value: no database was written (or, if one was, not with the secret in it).
	const {existsSync, readdirSync, readFileSync} = await import('node:fs');
	const stored = existsSync(project.storage) ? readdirSync(project.storage).map((name) => readFileSync(path.join(project.storage, name))) : [];
	for (const bytes of stored) assert.equal(bytes.includes(secret), false);
});
