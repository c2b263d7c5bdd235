// Issue 6 item 3: save and load 1,000 sessions × 20 cookies through the session persistence
// (encrypted cookie jars) and the SQLite store. Run as a child: prints one RESULT_MARKER line.
//
//   npx tsx bench/measure-sessions.ts [sessions=1000] [cookies=20]
import {randomBytes} from 'node:crypto';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {Session} from '../src/sessions/session.js';
import {fromStoredSession, toStoredSession} from '../src/sessions/session-persistence.js';
import {SqliteStore} from '../src/store/sqlite/sqlite-store.js';
import {RESULT_MARKER} from './lib/types.js';

export interface SessionsResult {
	readonly sessions: number;
	readonly cookiesPerSession: number;
	/** Serialize + encrypt + store.saveSession, one session after another. */
	readonly saveMs: number;
	/** store.loadSessions + decrypt + deserialize of all of them. */
	readonly loadMs: number;
	readonly cookiesLoaded: number;
	readonly maxRssKiB: number;
}

const count = Number(process.argv[2] ?? 1000);
const cookies = Number(process.argv[3] ?? 20);
const key = randomBytes(32);
const site = 'https://shop.example.com/';
const dir = mkdtempSync(path.join(tmpdir(), 'crawljar-bench-sessions-'));
try {
	const store = SqliteStore.open(path.join(dir, 'sessions.sqlite'));
	const sessions = Array.from({length: count}, (_, index) => {
		const username = `user${index}`;
		const session = new Session(`${username}#1`, {username, password: 'secret'});
		for (let cookie = 0; cookie < cookies; cookie++) {
			session.addCookie(`c${cookie}=${randomBytes(24).toString('base64url')}; Path=/; Max-Age=86400; HttpOnly`, site);
		}
		session.markLoggedIn(Date.now());
		return session;
	});

	let start = performance.now();
	for (const session of sessions) await store.saveSession(toStoredSession(session, key, Date.now()));
	const saveMs = performance.now() - start;

	start = performance.now();
	const loaded = (await store.loadSessions()).map((stored) => fromStoredSession(stored, {username: stored.account}, key, Date.now()));
	const loadMs = performance.now() - start;
	const cookiesLoaded = loaded.reduce((sum, session) => sum + session.cookies().length, 0);
	await store.close();

	const result: SessionsResult = {sessions: loaded.length, cookiesPerSession: cookies, saveMs, loadMs, cookiesLoaded, maxRssKiB: process.resourceUsage().maxRSS};
	process.stdout.write(`${RESULT_MARKER}${JSON.stringify(result)}\n`);
} finally {
	rmSync(dir, {recursive: true, force: true});
}
