import test from 'node:test';
import {Worker} from 'node:worker_threads';
test('w', async () => {
  const t0 = Date.now();
  const w = new Worker(new URL('./wt-worker.ts', import.meta.url), {execArgv: ['--import', 'tsx']});
  await new Promise((r, j) => { w.on('message', r); w.on('error', j); });
  console.log('ms', Date.now() - t0);
  await w.terminate();
});
