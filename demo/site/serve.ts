// Runs the demo site as its own process (the demo and the benchmarks do this):
//   tsx demo/site/serve.ts --books 5000 --page-bytes 10000 --port 0
// prints one JSON line, {"url": "http://127.0.0.1:PORT"}, then serves until SIGTERM or SIGINT.
// Every flag also reads from the environment: --page-bytes from DEMO_PAGE_BYTES, and so on.
import {parseArgs} from 'node:util';
import {startDemoSite} from './server.js';
import type {DemoSiteOptions, LogoutStyle} from './options.js';

const flags = {
	books: 'DEMO_BOOKS',
	'page-bytes': 'DEMO_PAGE_BYTES',
	'per-page': 'DEMO_PER_PAGE',
	port: 'DEMO_PORT',
	'session-max-requests': 'DEMO_SESSION_MAX_REQUESTS',
	'session-ttl-ms': 'DEMO_SESSION_TTL_MS',
	'logout-style': 'DEMO_LOGOUT_STYLE',
	'access-token-ttl-ms': 'DEMO_ACCESS_TOKEN_TTL_MS',
	'rate-limit': 'DEMO_RATE_LIMIT',
} as const;

const stringFlag = {type: 'string'} as const;
const {values} = parseArgs({
	options: {
		books: stringFlag,
		'page-bytes': stringFlag,
		'per-page': stringFlag,
		port: stringFlag,
		'session-max-requests': stringFlag,
		'session-ttl-ms': stringFlag,
		'logout-style': stringFlag,
		'access-token-ttl-ms': stringFlag,
		'rate-limit': stringFlag,
		'no-login': {type: 'boolean'},
		'no-retry-after': {type: 'boolean'},
	},
	strict: true,
});

function value(name: keyof typeof flags): string | undefined {
	const fromArgv = values[name];
	return typeof fromArgv === 'string' ? fromArgv : process.env[flags[name]];
}

function number(name: keyof typeof flags): number | undefined {
	const text = value(name);
	if (text === undefined) return undefined;
	const parsed = Number(text);
	if (!Number.isFinite(parsed)) throw new TypeError(`--${name}: expected a number, received ${text}`);
	return parsed;
}

const options: {-readonly [K in keyof DemoSiteOptions]: DemoSiteOptions[K]} = {};
const numeric = {
	books: 'books',
	pageBytes: 'page-bytes',
	perPage: 'per-page',
	port: 'port',
	sessionMaxRequests: 'session-max-requests',
	sessionTtlMs: 'session-ttl-ms',
	accessTokenTtlMs: 'access-token-ttl-ms',
} as const;
for (const [option, flag] of Object.entries(numeric) as Array<[keyof typeof numeric, keyof typeof flags]>) {
	const parsed = number(flag);
	if (parsed !== undefined) options[option] = parsed;
}
const logoutStyle = value('logout-style');
if (logoutStyle !== undefined) options.logoutStyle = logoutStyle as LogoutStyle;
const perSecond = number('rate-limit');
if (perSecond !== undefined) options.rateLimit = {perSecond, retryAfter: values['no-retry-after'] !== true};
if (values['no-login'] === true || process.env['DEMO_NO_LOGIN'] === '1') options.requireLogin = false;

const site = await startDemoSite(options);
process.stdout.write(`${JSON.stringify({url: site.url})}\n`);

let isClosing = false;
const stop = (): void => {
	if (isClosing) return;
	isClosing = true;
	site.close().then(
		() => process.exit(0),
		() => process.exit(1),
	);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
