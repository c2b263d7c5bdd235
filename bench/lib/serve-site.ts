// Fallback for demo/site/serve.ts (used only while that file does not exist): serves the demo site
// until SIGTERM and prints `{"url": ...}` once it listens. Flags: --books N --page-bytes N.
import {parseArgs} from 'node:util';
import {startDemoSite} from '../../demo/site/index.js';

const {values} = parseArgs({options: {books: {type: 'string'}, 'page-bytes': {type: 'string'}}});
const site = await startDemoSite({
	...(values.books ? {books: Number(values.books)} : {}),
	...(values['page-bytes'] ? {pageBytes: Number(values['page-bytes'])} : {}),
});
process.stdout.write(`${JSON.stringify({url: site.url})}\n`);
process.once('SIGTERM', () => void site.close().then(() => process.exit(0)));
