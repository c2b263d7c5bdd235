// `crawljar fetch` and `crawljar sessions show` as a user runs them (child processes): a site
// that echoes the session's cookie and the password back in headers and body, so the test can
// check that no secret reaches stdout or stderr, while names and attributes do.
import assert from 'node:assert/strict';
import {randomBytes} from 'node:crypto';
import {test} from 'node:test';
import {runCli, tempProject} from '../helpers/run-cli.js';
import {startServer} from '../sites/start-server.js';

const PASSWORD = 'pw-9f3a71c2-secret';

const crawlerSource = `import {defineCrawler} from 'crawljar';
export default defineCrawler({
	name: 'echo',
	startUrls: [process.env.SITE_URL + '/home'],
	accounts: [{username: 'alice', password: process.env.ECHO_PASSWORD}],
	useHeaderGenerator: false,
	login: async ({http, account}) => {
		const response = await http.post('/login', {form: {user: account.username, pass: account.password ?? ''}});
		return response.status === 200;
	},
	routes: {default: async () => {}},
});
`;

test('crawljar fetch prints status, headers and body with every credential redacted; sessions show lists cookie attributes, never values', async (t) => {
	const sid = randomBytes(12).toString('hex');
	let logins = 0;
	const server = await startServer(t, (request, response) => {
		if (request.method === 'POST' && request.url === '/login') {
			logins++;
			response.setHeader('set-cookie', [`sid=${sid}; Path=/; HttpOnly; SameSite=Lax`, 'theme=dark-mode-on; Path=/; Max-Age=86400']);
			return response.end('ok');
		}
		const cookie = request.headers.cookie ?? '';
		if (!cookie.includes(`sid=${sid}`)) {
			response.statusCode = 401;
			return response.end('log in first');
		}
		if (request.url === '/gone') {
			response.statusCode = 404;
			return response.end('not here');
		}
		response.setHeader('content-type', 'text/html');
		response.setHeader('x-echo-session', sid);
		response.setHeader('x-api-key', 'some-key-value');
		response.end(`<h1>Preferences</h1><p>cookie header: ${cookie}</p><p>your password is ${PASSWORD}</p>`);
	});
	const project = tempProject(t);
	project.write('crawlers/echo.ts', crawlerSource);
	const env = {...project.env, SITE_URL: server.url, ECHO_PASSWORD: PASSWORD};

	const fetched = await runCli(['fetch', 'echo', '/prefs'], {cwd: project.dir, env});
	assert.equal(fetched.code, 0, fetched.stderr);
	const [statusLine, ...rest] = fetched.stdout.split('\n');
	assert.match(statusLine ?? '', /^HTTP 200 GET http:\/\/127\.0\.0\.1:\d+\/prefs \(session alice#1\)$/);
	assert.ok(rest.includes('x-echo-session: …'), fetched.stdout);
	assert.ok(rest.includes('x-api-key: …'), fetched.stdout);
	assert.ok(rest.includes('content-type: text/html'), fetched.stdout);
	assert.match(fetched.stdout, /<h1>Preferences<\/h1><p>cookie header: sid=…; theme=…<\/p><p>your password is …<\/p>/);
	for (const secret of [sid, PASSWORD, 'dark-mode-on']) {
		assert.ok(!fetched.stdout.includes(secret) && !fetched.stderr.includes(secret), `printed a secret: ${secret}`);
	}
	assert.equal(logins, 1);

	const again = await runCli(['fetch', 'echo', `${server.url}/prefs`], {cwd: project.dir, env});
	assert.equal(again.code, 0, again.stderr);
	assert.equal(logins, 1, 'the stored session is reused');

	const show = await runCli(['sessions', 'show', 'echo', 'alice#1'], {cwd: project.dir, env});
	assert.equal(show.code, 0, show.stderr);
	assert.match(show.stdout, /^session +alice#1 \(account alice\)$/m);
	assert.match(show.stdout, /^state +ready$/m);
	assert.match(show.stdout, /^cookies +2 \(values are never shown\)$/m);
	assert.match(show.stdout, /^sid +127\.0\.0\.1 +\/ +session +HttpOnly +lax *$/m);
	assert.match(show.stdout, /^theme +127\.0\.0\.1 +\/ +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d *$/m);
	for (const secret of [sid, PASSWORD, 'dark-mode-on']) assert.ok(!show.stdout.includes(secret), `printed a secret: ${secret}`);

	const missing = await runCli(['sessions', 'show', 'echo', 'bob#1'], {cwd: project.dir, env});
	assert.equal(missing.code, 2);
	assert.match(missing.stderr, /no stored session 'bob#1' \(sessions: alice#1\)/);

	const gone = await runCli(['fetch', 'echo', '/gone'], {cwd: project.dir, env});
	assert.equal(gone.code, 1, 'a 404 is printed and exits 1');
	assert.match(gone.stdout, /^HTTP 404 GET /);
	assert.match(gone.stderr, /ERR_HTTP_STATUS: HTTP 404/);
});
