// `crawljar export <name> --format jsonl|json|csv [--out FILE]` as a user runs it: the results
// of the latest run, on stdout or in a file; CSV flattens nested fields and escapes what must be.
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import path from 'node:path';
import {test} from 'node:test';
import {runCli, tempProject} from '../helpers/run-cli.js';
import {parseCsv} from '../output/csv-parse.js';
import {startServer} from '../sites/start-server.js';

const items = [
	{
		id: 1,
		title: 'Comma, "quoted" and\nnew line',
		price: {amount: 12.5, currency: 'GBP'},
		tags: ['poetry', 'used'],
		seller: {name: 'Bob, Jr.', address: {city: 'Leeds'}},
	},
	{id: 2, title: 'Plain £ ünïcødé', price: {amount: 3, currency: 'EUR'}, tags: [], onlyHere: true},
];

test('crawljar export: jsonl, json and csv on stdout or --out, equal to what the handlers pushed', async (t) => {
	const server = await startServer(t, (_request, response) => {
		response.setHeader('content-type', 'text/html');
		response.end('<h1>items</h1>');
	});
	const project = tempProject(t);
	const file = project.write(
		'crawlers/export-me.ts',
		`import {defineCrawler} from 'crawljar';
export default defineCrawler({
	name: 'export-me',
	startUrls: [process.env.SITE_URL + '/'],
	useHeaderGenerator: false,
	routes: {default: async ({push}) => void (await push(${JSON.stringify(items)}))},
});
`,
	);
	const env = {...project.env, SITE_URL: server.url};
	const crawled = await runCli(['run', file], {cwd: project.dir, env});
	assert.equal(crawled.code, 0, crawled.stderr);

	const cli = (args: string[]) => runCli(args, {cwd: project.dir, env});
	const [jsonl, json, csv, csvOut, byFile, badFormat, unknown] = await Promise.all([
		cli(['export', 'export-me', '--format', 'jsonl']),
		cli(['export', 'export-me', '--format', 'json']),
		cli(['export', 'export-me', '--format', 'csv']),
		cli(['export', 'export-me', '--format', 'csv', '--out', 'items.csv']),
		// A file reference works as well as a name (its definition gives the name).
		cli(['export', 'crawlers/export-me.ts']),
		cli(['export', 'export-me', '--format', 'xml']),
		cli(['export', 'nobody', '--format', 'json']),
	]);

	assert.equal(jsonl.code, 0, jsonl.stderr);
	assert.deepEqual(jsonl.stdout.trimEnd().split('\n').map((line) => JSON.parse(line)), items);
	assert.equal(byFile.code, 0, byFile.stderr);
	assert.equal(byFile.stdout, jsonl.stdout, 'jsonl is the default format');

	assert.equal(json.code, 0, json.stderr);
	assert.deepEqual(JSON.parse(json.stdout), items);

	assert.equal(csv.code, 0, csv.stderr);
	const rows = parseCsv(csv.stdout);
	assert.deepEqual(rows, [
		['id', 'title', 'price.amount', 'price.currency', 'tags', 'seller.name', 'seller.address.city', 'onlyHere'],
		['1', 'Comma, "quoted" and\nnew line', '12.5', 'GBP', '["poetry","used"]', 'Bob, Jr.', 'Leeds', ''],
		['2', 'Plain £ ünïcødé', '3', 'EUR', '[]', '', '', 'true'],
	]);

	assert.equal(csvOut.code, 0, csvOut.stderr);
	assert.equal(csvOut.stdout, '', '--out keeps stdout empty');
	assert.match(csvOut.stderr, /exported 2 item\(s\) of export-me run 1 to items\.csv/);
	assert.equal(readFileSync(path.join(project.dir, 'items.csv'), 'utf8'), csv.stdout);

	assert.equal(badFormat.code, 2);
	assert.match(badFormat.stderr, /--format must be one of jsonl, json, csv, got 'xml'/);
	assert.equal(unknown.code, 2);
	assert.match(unknown.stderr, /no data for crawler 'nobody'.*crawlers with data: export-me/);
});
