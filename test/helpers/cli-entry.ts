// The CLI from source, for child processes in tests: `node --import tsx test/helpers/cli-entry.ts …`
// behaves like `bin/crawljar.js` without needing a fresh `npm run build`.
import {main} from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
