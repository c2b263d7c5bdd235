// `crawljar` never loads Crawlee, and neither does `crawljar/crawlee` (it imports Crawlee's types
// only): both package entries are imported, as a user's project imports them (through the
// package's `exports`, from dist/), in a child process whose resolve hook refuses crawlee,
// @crawlee/* and playwright. A control import of 'crawlee' shows the hook works.
import assert from 'node:assert/strict';
import {execFile} from 'node:child_process';
import {promisify} from 'node:util';
import {test} from 'node:test';
import {tempProject} from '../helpers/run-cli.js';

const run = promisify(execFile);

const hooks = `export async function resolve(specifier, context, next) {
	if (/^(crawlee|@crawlee\\/|playwright)/.test(specifier)) throw new Error('refused to load ' + specifier);
	return next(specifier, context);
}
`;

test("importing 'crawljar' or 'crawljar/crawlee' never loads Crawlee", async (t) => {
	const project = tempProject(t);
	project.write('hooks.mjs', hooks);
	project.write('register.mjs', "import {register} from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n");
	project.write(
		'main.mjs',
		`const crawljar = await import('crawljar');
const adapter = await import('crawljar/crawlee');
console.log(JSON.stringify({openClient: typeof crawljar.openClient, crawleeSessions: typeof adapter.crawleeSessions}));
try {
	await import('crawlee');
	console.log('control: crawlee loaded');
} catch (error) {
	console.log('control: ' + error.message);
}
`,
	);
	const {stdout} = await run(process.execPath, ['--import', './register.mjs', 'main.mjs'], {cwd: project.dir, env: {PATH: process.env.PATH ?? '', CRAWLJAR_SECRET: 'x'}});
	const [exports, control] = stdout.trim().split('\n');
	assert.deepEqual(JSON.parse(exports ?? '{}'), {openClient: 'function', crawleeSessions: 'function'});
	assert.equal(control, 'control: refused to load crawlee');
});
