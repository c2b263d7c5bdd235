import {test} from 'node:test';
import {createWorkspace, bookCrawler} from './workspace.js';
import {runCli} from '../helpers/run-cli.js';
test('x', async (t) => {
	const ws = createWorkspace(t);
	ws.writeCrawler('books.ts', bookCrawler({name: 'books', schedule: "'*/5 * * * * *'"}));
	ws.writeCrawler('daily.ts', bookCrawler({name: 'daily', schedule: "{cron: '0 6 * * *', timezone: 'Europe/Paris'}"}));
	ws.writeCrawler('plain.ts', bookCrawler({name: 'plain'}));
	console.log(await runCli(['schedule', '--list'], {cwd: ws.dir, env: ws.env}));
	ws.writeCrawler('bad.ts', bookCrawler({name: 'bad', schedule: "'61 * * * *'"}));
	console.log(await runCli(['schedule', '--list'], {cwd: ws.dir, env: ws.env}));
	console.log(await runCli(['schedule'], {cwd: ws.dir, env: ws.env}));
	console.log(await runCli(['status'], {cwd: ws.dir, env: ws.env}));
	const ws2 = createWorkspace(t);
	ws2.writeCrawler('plain.ts', bookCrawler({name: 'plain'}));
	console.log(await runCli(['schedule'], {cwd: ws2.dir, env: ws2.env}));
	console.log(await runCli(['schedule', ws2.crawlersDir], {cwd: ws2.dir, env: ws2.env}));
	console.log(await runCli(['schedule', '/tmp/nonexist'], {cwd: ws2.dir, env: ws2.env}));
});
