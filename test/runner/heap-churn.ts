// Child process of heap-growth.test.ts: allocates like a crawl (a window of pages in flight that
// survive a scavenge or two, then die) and prints the largest heapTotal it saw, in MiB.
// argv[2]: a heap growth percentage crawljar holds while it churns, or 'v8' for V8's default.
import {holdHeapGrowth} from '../../src/runner/heap-growth.js';

const setting = process.argv[2] ?? 'v8';
const release = setting === 'v8' ? () => {} : holdHeapGrowth(Number(setting));
const inFlight: unknown[][] = new Array(200).fill([]);
const parsedPage = (n: number) => Array.from({length: 300}, (_, k) => ({tag: 'div', text: `${'x'.repeat(20)}${n}:${k}`, attrs: {class: `c${k}`}}));
let maxHeapTotal = 0;
for (let page = 0; page < 10_000; page++) {
	inFlight[page % inFlight.length] = parsedPage(page);
	// Yield now and then, as a crawl does between requests: V8's GC tasks get to run.
	if (page % 50 === 0) {
		await new Promise((resolve) => setImmediate(resolve));
		maxHeapTotal = Math.max(maxHeapTotal, process.memoryUsage().heapTotal);
	}
}
release();
console.log(JSON.stringify({maxHeapTotalMiB: Math.round(maxHeapTotal / 2 ** 20)}));
