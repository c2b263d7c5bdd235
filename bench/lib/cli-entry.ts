// `crawljar` from source, for the resume measurement when dist/ is missing or older than src/.
import {main} from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
