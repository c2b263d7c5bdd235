import {SqliteStore} from '../src/store/sqlite/sqlite-store.js';
import {prepareCompletions} from '../src/store/sqlite/serialize.js';
import fs from 'node:fs';
const file = '/tmp/prof/x.sqlite'; fs.rmSync('/tmp/prof', {recursive: true, force: true});
const s = SqliteStore.open(file);
const run = await s.createRun(1);
let serial = 0;
const mk = (k: string) => { const url = `https://shop.example.com/catalogue/item-${k}/index.html`; return {url, uniqueKey: url, label: 'detail', depth: 1}; };
await s.addRequests(run.id, Array.from({length: 1000}, (_, i) => mk('s' + i)));
const R = 2000;
let tl = 0n, tc = 0n, tp = 0n;
for (let r = 0; r < R; r++) {
  const a = process.hrtime.bigint();
  const leased = await s.lease(run.id, 10, Date.now());
  const b = process.hrtime.bigint();
  const comps = leased.map((q) => ({kind: 'done' as const, requestId: q.id, items: [{url: q.url, title: 't', price: 1}], enqueued: Array.from({length: 10}, () => mk(String(serial++))), status: 200}));
  const c0 = process.hrtime.bigint();
  prepareCompletions(comps);
  const c1 = process.hrtime.bigint();
  await s.commit(run.id, comps);
  const c = process.hrtime.bigint();
  tl += b - a; tc += c - c1; tp += c1 - c0;
}
const pages = R * 10;
console.log('lease µs/page', Number(tl) / 1000 / pages, 'commit µs/page', Number(tc) / 1000 / pages, 'prepare µs/page', Number(tp)/1000/pages);
await s.close();
