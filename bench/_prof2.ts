import Database from 'better-sqlite3';
const d = new Database('/tmp/prof/x.sqlite');
d.pragma('journal_mode=WAL'); d.pragma('synchronous=NORMAL'); d.pragma('temp_store=MEMORY'); d.pragma('wal_autocheckpoint=0'); if (process.env.FK) d.pragma('foreign_keys=ON'); if (process.env.CS) d.pragma('cache_size=-32000');
const lease = d.prepare(`UPDATE requests SET state = 'inflight' WHERE id IN (SELECT id FROM requests WHERE run_id = ? AND state = 'pending' AND retry_at <= ? ORDER BY retry_at, id LIMIT ?) RETURNING *`);
const sel = d.prepare(`SELECT id FROM requests WHERE run_id = ? AND state = 'pending' AND retry_at <= ? ORDER BY retry_at, id LIMIT ?`);
const back = d.prepare(`UPDATE requests SET state='pending' WHERE state='inflight'`);
function t(name: string, f: () => void, n = 1000) { const a = performance.now(); for (let i = 0; i < n; i++) f(); console.log(name, ((performance.now() - a) * 1000 / n).toFixed(1), 'µs'); }
t('select', () => sel.all(1, Date.now(), 10));
t('lease', () => lease.all(1, Date.now(), 10));
back.run();
const tx = d.transaction(() => lease.all(1, Date.now(), 10));
t('lease in tx', () => tx());
back.run();
d.pragma('wal_checkpoint(TRUNCATE)');
t('lease after truncate', () => lease.all(1, Date.now(), 10));
back.run();
d.close();
