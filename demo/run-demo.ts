// `npm run demo`: starts the demo bookshop (login form with CSRF, expiring sessions) on
// 127.0.0.1, crawls it with crawlers/demo.ts and says where the results are.
// The site expires a session every 150 pages, so the run shows crawljar logging in again.
import {existsSync} from 'node:fs';
import {main} from '../src/cli/main.js';
import {startDemoSite} from './site/index.js';

// The site and the crawler both read DEMO_USER / DEMO_PASSWORD: load .env before either starts.
if (existsSync('.env')) process.loadEnvFile('.env');

const preferredPort = Number(process.env.DEMO_PORT ?? 4180);
// A stable port keeps URLs of an interrupted demo run valid when it resumes; any free one will do.
const site = await startDemoSite({port: preferredPort, sessionMaxRequests: 150}).catch(() => startDemoSite());
process.env.DEMO_URL = site.url;
console.error(`demo site: ${site.url} (user '${process.env.DEMO_USER ?? 'demo'}', password '${process.env.DEMO_PASSWORD ? '(from env)' : 'demo-password'}')`);

const args = ['run', 'crawlers/demo.ts', ...process.argv.slice(2)];
const code = await main(args);
console.error(`server saw: ${site.stats.requests} requests, ${site.stats.loginSuccess} logins`);
if (code === 0) {
	console.error(`
next:
  npx crawljar export demo --format csv --out demo.csv   # results out of ./storage
  npx crawljar sessions ls demo                          # the logged-in session, values redacted
  npm run demo                                           # again: a new run with the stored session; this demo
                                                         # site forgets sessions when it stops, so crawljar sees
                                                         # the redirect to /login and logs in again once`);
}
await site.close();
process.exit(code);
