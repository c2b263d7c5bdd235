// Issue 3 item 6: no password, cookie value or token in clear text anywhere a user or an
// attacker with the storage folder could look. A site made for this test issues known,
// distinctive cookie values and tokens (and rotates them mid-crawl: a re-login, a refresh);
// two CLI crawls (form login, token login) run against it; then every output — run output,
// exports in all formats, sessions ls, stats --json, failed — and the raw bytes of every file
// in the storage folder (after the runs, and copied mid-crawl with the -wal) are searched for each of them. Also: the database and the key file
// are created mode 0600, the key file outside the storage folder.
import assert from 'node:assert/strict';
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {PassThrough} from 'node:stream';
import {test} from 'node:test';
import {main} from '../../src/cli/main.js';
import {runCli, tempProject} from '../helpers/run-cli.js';
import {startServer} from '../sites/start-server.js';
import {INDEX_MODULE} from './helpers.js';

const FORM_PASSWORD = 'pw-Zq81-secret';
const API_PASSWORD = 'pw-Tk42-secret';
const ITEMS = 6;

/** Everything the site hands out that is a credential, in issue order. */
interface Issued {
	readonly values: string[];
}

function body(request: http.IncomingMessage): Promise<string> {
	return new Promise((resolve) => {
		let text = '';
		request.on('data', (chunk: Buffer) => (text += chunk.toString()));
		request.on('end', () => resolve(text));
	});
}

function html(response: http.ServerResponse, status: number, content: string): void {
	response.statusCode = status;
	response.setHeader('content-type', 'text/html; charset=utf-8');
	response.end(`<!doctype html><html><head><title>vault</title></head><body>${content}</body></html>`);
}

function json(response: http.ServerResponse, status: number, value: unknown): void {
	response.statusCode = status;
	response.setHeader('content-type', 'application/json');
	response.end(JSON.stringify(value));
}

/**
 * Form login (pre-session cookie + CSRF, then a `sid` cookie good for 4 pages: the 5th gets a
 * 401 and the crawler logs in again) and a token API (an access token good for 3 calls, then
 * a 401 and a refresh that rotates the refresh token). Pages list ITEMS items and one dead link.
 */
async function startVault(t: test.TestContext): Promise<{url: string; issued: Issued}> {
	const issued: Issued = {values: []};
	const issue = (prefix: string): string => {
		const value = `${prefix}-${issued.values.length + 1}-${Math.random().toString(36).slice(2, 10)}`;
		issued.values.push(value);
		return value;
	};
	const sessions = new Map<string, number>();
	const accessTokens = new Map<string, number>();
	const refreshTokens = new Set<string>();
	const {url} = await startServer(t, (request, response) => {
		void (async () => {
			const {pathname, searchParams} = new URL(request.url ?? '/', 'http://vault');
			const cookies = new Map((request.headers.cookie ?? '').split(/;\s*/).map((part) => part.split('=') as [string, string]));
			if (pathname === '/login' && request.method === 'GET') {
				response.setHeader('set-cookie', `pre=${issue('pre-Wd31')}; Path=/; HttpOnly`);
				return html(response, 200, `<form id="login" method="post" action="/login"><input type="hidden" name="csrf" value="c1"><input name="username"><input type="password" name="password"></form>`);
			}
			if (pathname === '/login' && request.method === 'POST') {
				const form = new URLSearchParams(await body(request));
				if (form.get('password') !== FORM_PASSWORD || !cookies.has('pre')) return html(response, 200, '<form id="login"><input type="password" name="password"></form>');
				const sid = issue('sid-Kc77');
				sessions.set(sid, 0);
				response.setHeader('set-cookie', `sid=${sid}; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax`);
				response.statusCode = 303;
				response.setHeader('location', '/welcome');
				return response.end();
			}
			if (pathname === '/api/login') {
				const input = JSON.parse(await body(request)) as {password?: string};
				if (input.password !== API_PASSWORD) return json(response, 401, {error: 'invalid_credentials'});
				return json(response, 200, tokens());
			}
			if (pathname === '/api/refresh') {
				const input = JSON.parse(await body(request)) as {refresh_token?: string};
				if (!input.refresh_token || !refreshTokens.delete(input.refresh_token)) return json(response, 401, {error: 'invalid_refresh_token'});
				return json(response, 200, tokens());
			}
			if (pathname.startsWith('/api/')) {
				const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
				const uses = accessTokens.get(token);
				if (uses === undefined || uses >= 3) return json(response, 401, {error: 'invalid_token'});
				accessTokens.set(token, uses + 1);
				if (pathname === '/api/items') {
					return json(response, 200, {links: [...Array.from({length: ITEMS}, (_, index) => `/api/items/${index + 1}`), '/api/items/404']});
				}
				const id = Number(pathname.split('/').pop());
				return id >= 1 && id <= ITEMS ? json(response, 200, {id, name: `item ${id}`}) : json(response, 404, {error: 'not_found'});
			}
			const sid = cookies.get('sid') ?? '';
			const uses = sessions.get(sid);
			if (uses === undefined || uses >= 4) return html(response, 401, '<h1>Unauthorized</h1>');
			sessions.set(sid, uses + 1);
			if (pathname === '/welcome' || pathname === '/list') {
				const links = Array.from({length: ITEMS}, (_, index) => `<a class="item" href="/item/${index + 1}">item ${index + 1}</a>`);
				return html(response, 200, `<h1>List ${searchParams.get('page') ?? ''}</h1>${links.join('')}<a class="item" href="/item/404">gone</a>`);
			}
			const id = Number(pathname.split('/').pop());
			if (pathname.startsWith('/item/') && id >= 1 && id <= ITEMS) return html(response, 200, `<h1>item ${id}</h1>`);
			return html(response, 404, '<h1>Not found</h1>');
		})();
	});

	function tokens() {
		const access = issue('at-Mm19');
		const refresh = issue('rt-Pq63');
		accessTokens.set(access, 0);
		refreshTokens.add(refresh);
		return {data: {access_token: access, refresh_token: refresh, expires_in: 3600}};
	}
	return {url, issued};
}

const formCrawler = `import fs from 'node:fs';
import path from 'node:path';
import {defineCrawler, formLogin} from ${INDEX_MODULE};

// Mid-crawl, copy the storage folder's files (the -wal holds the latest writes until a checkpoint).
function snapshot(name) {
	const dir = process.env.CRAWLJAR_STORAGE;
	for (const file of fs.readdirSync(dir)) fs.copyFileSync(path.join(dir, file), path.join(process.env.SNAPSHOT_DIR, name + '.' + file));
}
export default defineCrawler({
	name: 'vault-form',
	startUrls: [process.env.SITE_URL + '/list'],
	accounts: [{username: 'agent', password: process.env.VAULT_PASSWORD}],
	login: formLogin({url: '/login', fields: ({account}) => ({username: account.username, password: account.password ?? ''})}),
	useHeaderGenerator: false,
	retry: {maxRetries: 0},
	routes: {
		default: async ({enqueue}) => enqueue({selector: 'a.item', label: 'item'}),
		item: async ({request, $, push}) => {
			if (request.url.endsWith('/item/6')) snapshot('form');
			await push({url: request.url, name: $('h1').text()});
		},
	},
});
`;

const apiCrawler = `import fs from 'node:fs';
import path from 'node:path';
import {defineCrawler, tokenLogin} from ${INDEX_MODULE};

// Mid-crawl, copy the storage folder's files (the -wal holds the latest writes until a checkpoint).
function snapshot(name) {
	const dir = process.env.CRAWLJAR_STORAGE;
	for (const file of fs.readdirSync(dir)) fs.copyFileSync(path.join(dir, file), path.join(process.env.SNAPSHOT_DIR, name + '.' + file));
}
export default defineCrawler({
	name: 'vault-api',
	startUrls: [{url: process.env.SITE_URL + '/api/items', label: 'list'}],
	accounts: [{username: 'agent', password: process.env.VAULT_API_PASSWORD}],
	login: tokenLogin({
		url: '/api/login',
		body: ({account}) => ({username: account.username, password: account.password}),
		accessToken: 'data.access_token',
		refreshToken: 'data.refresh_token',
		expiresIn: 'data.expires_in',
		refresh: {url: '/api/refresh', body: ({refreshToken}) => ({refresh_token: refreshToken})},
	}),
	useHeaderGenerator: false,
	concurrency: 1,
	retry: {maxRetries: 0},
	routes: {
		list: async ({json, enqueue}) => enqueue({urls: json.links, label: 'item'}),
		item: async ({json, push}) => {
			if (json.id === 6) snapshot('api');
			await push(json);
		},
	},
});
`;

interface Captured {
	readonly code: number;
	readonly stdout: string;
	readonly stderr: string;
}

/** A read-only CLI command through the real `main()`, without the cost of a child process. */
async function cli(argv: readonly string[], cwd: string): Promise<Captured> {
	const stdout = new PassThrough();
	const stderr = new PassThrough();
	let out = '';
	let err = '';
	stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
	stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
	const code = await main(argv, {stdout, stderr, env: {}, cwd});
	return {code, stdout: out, stderr: err};
}

function tempDir(t: test.TestContext, prefix: string): string {
	const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
	t.after(() => rmSync(dir, {recursive: true, force: true}));
	return dir;
}

test('no password, cookie value or token in any output, export or database byte; files mode 0600', async (t) => {
	const site = await startVault(t);
	const project = tempProject(t);
	const home = tempDir(t, 'crawljar-home-');
	const keyFile = path.join(tempDir(t, 'crawljar-key-'), 'vault.key');
	const snapshots = tempDir(t, 'crawljar-snapshot-');
	const formFile = project.write('crawlers/vault-form.ts', formCrawler);
	const apiFile = project.write('crawlers/vault-api.ts', apiCrawler);
	// No CRAWLJAR_SECRET: the key comes from a generated key file.
	const env = {...project.env, SITE_URL: site.url, VAULT_PASSWORD: FORM_PASSWORD, VAULT_API_PASSWORD: API_PASSWORD, CRAWLJAR_SECRET: '', HOME: home, SNAPSHOT_DIR: snapshots};

	const formRun = await runCli(['run', formFile], {cwd: project.dir, env: {...env, XDG_CONFIG_HOME: path.join(home, 'config')}});
	assert.equal(formRun.code, 0, formRun.stderr);
	const apiRun = await runCli(['run', apiFile], {cwd: project.dir, env: {...env, CRAWLJAR_SECRET_FILE: keyFile}});
	assert.equal(apiRun.code, 0, apiRun.stderr);

	// The crawls did what they should, so the search below has something to find.
	const outputs: Array<[string, string]> = [
		['form run', formRun.stdout + formRun.stderr],
		['api run', apiRun.stdout + apiRun.stderr],
	];
	const cookieNames = issuedKinds(site.issued.values);
	assert.ok(cookieNames['sid-Kc77']! >= 2, 'the form crawler logged in again after a 401 (a second sid)');
	assert.ok(cookieNames['at-Mm19']! >= 3 && cookieNames['rt-Pq63']! >= 3, 'access and refresh tokens were rotated');
	assert.match(formRun.stdout, /items\s+6\b/);
	assert.match(apiRun.stdout, /items\s+6\b/);

	const storage = ['--storage', project.storage];
	for (const name of ['vault-form', 'vault-api']) {
		for (const format of ['jsonl', 'json', 'csv']) {
			const exported = await cli(['export', name, '--format', format, ...storage], project.dir);
			assert.equal(exported.code, 0, exported.stderr);
			assert.match(exported.stdout, /item 6/);
			outputs.push([`export ${name} ${format}`, exported.stdout + exported.stderr]);
		}
		const outFile = path.join(project.dir, `${name}.csv`);
		const toFile = await cli(['export', name, '--format', 'csv', '--out', outFile, ...storage], project.dir);
		assert.equal(toFile.code, 0, toFile.stderr);
		outputs.push([`export ${name} --out`, readFileSync(outFile, 'utf8') + toFile.stdout + toFile.stderr]);

		const listed = await cli(['sessions', 'ls', name, ...storage], project.dir);
		assert.equal(listed.code, 0, listed.stderr);
		assert.match(listed.stdout, /agent#1\s+agent\s+ready/);
		outputs.push([`sessions ls ${name}`, listed.stdout + listed.stderr]);
		const listedJson = await cli(['sessions', 'ls', name, '--json', ...storage], project.dir);
		assert.equal(listedJson.code, 0, listedJson.stderr);
		outputs.push([`sessions ls --json ${name}`, listedJson.stdout + listedJson.stderr]);

		const stats = await cli(['stats', name, '--json', ...storage], project.dir);
		assert.equal(stats.code, 0, stats.stderr);
		assert.equal((JSON.parse(stats.stdout) as {items: number}).items, ITEMS);
		outputs.push([`stats --json ${name}`, stats.stdout + stats.stderr]);

		for (const json of [[], ['--json']]) {
			const failedList = await cli(['failed', name, ...json, ...storage], project.dir);
			assert.equal(failedList.code, 0, failedList.stderr);
			assert.match(failedList.stdout, /404/, 'the dead link is listed');
			outputs.push([`failed ${json.join('')} ${name}`, failedList.stdout + failedList.stderr]);
		}
	}
	// The form session's cookies are listed by name with their expiry, never their value.
	const formSessions = outputs.find(([where]) => where === 'sessions ls vault-form')![1];
	assert.match(formSessions, /pre, sid \(→\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)/);

	// Raw bytes of every file in the storage folder (database, -wal, -shm, anything else).
	for (const file of readdirSync(project.storage)) {
		outputs.push([`storage/${file}`, readFileSync(path.join(project.storage, file)).toString('latin1')]);
	}
	assert.ok(outputs.some(([where]) => where === 'storage/vault-form.sqlite'));
	const copies = readdirSync(snapshots);
	assert.ok(copies.includes('form.vault-form.sqlite-wal') && copies.includes('api.vault-api.sqlite-wal'), `mid-crawl copies: ${copies.join(', ')}`);
	for (const file of copies) outputs.push([`mid-crawl ${file}`, readFileSync(path.join(snapshots, file)).toString('latin1')]);

	const secrets = [FORM_PASSWORD, API_PASSWORD, ...site.issued.values];
	const leaks = outputs.flatMap(([where, text]) => secrets.filter((secret) => text.includes(secret)).map((secret) => `${secret} in ${where}`));
	assert.deepEqual(leaks, []);

	// The database is created 0600 (and its WAL, if any); the key files 0600, outside the storage folder.
	for (const file of readdirSync(project.storage).filter((name) => /\.sqlite(-wal|-shm)?$/.test(name))) {
		assert.equal(statSync(path.join(project.storage, file)).mode & 0o777, 0o600, file);
	}
	const xdgKey = path.join(home, 'config', 'crawljar', 'secret.key');
	for (const key of [xdgKey, keyFile]) {
		assert.ok(existsSync(key), `${key} was generated`);
		assert.equal(statSync(key).mode & 0o777, 0o600, key);
		assert.ok(!path.relative(project.storage, key).split(path.sep).every((part) => part !== '..'), `${key} is outside the storage folder`);
	}
	assert.equal(statSync(path.dirname(xdgKey)).mode & 0o777, 0o700);
});

function issuedKinds(values: readonly string[]): Record<string, number> {
	const counts: Record<string, number> = {};
	for (const value of values) {
		const kind = value.split('-').slice(0, 2).join('-');
		counts[kind] = (counts[kind] ?? 0) + 1;
	}
	return counts;
}
