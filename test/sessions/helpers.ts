// Shared by the session tests: a real node:http server on 127.0.0.1:0 and a login context.
import {randomBytes} from 'node:crypto';
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import type {TestContext} from 'node:test';
import type {LoginContext} from '../../src/sessions/login/login-strategy.js';
import {Session, type Account} from '../../src/sessions/session.js';
import {createSessionHttp, type FetchDefaults} from '../../src/sessions/session-http.js';
import type {Store, StoredSession} from '../../src/store/store.js';

export type Handler = (request: http.IncomingMessage, response: http.ServerResponse, body: string) => void | Promise<void>;

/** Serves `handler` on 127.0.0.1 (random port) until the test ends; returns the base URL. */
export async function startServer(t: TestContext, handler: Handler): Promise<string> {
	const server = http.createServer((request, response) => {
		const chunks: Buffer[] = [];
		request.on('data', (chunk: Buffer) => chunks.push(chunk));
		request.on('end', () => {
			Promise.resolve(handler(request, response, Buffer.concat(chunks).toString('utf8'))).catch((error: unknown) => {
				response.statusCode = 500;
				response.end(String(error));
			});
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	t.after(() => {
		server.closeAllConnections();
		return new Promise<void>((resolve) => server.close(() => resolve()));
	});
	return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** No generated browser headers: faster, and the server sees exactly what we send. */
export const fetchDefaults: FetchDefaults = {useHeaderGenerator: false, headers: {'user-agent': 'crawljar-test'}};

export function loginContext(baseUrl: string, account: Account, session = new Session(`${account.username}#1`, account)): LoginContext {
	return {session, account, baseUrl, http: createSessionHttp(session, {baseUrl, fetchDefaults}), now: Date.now};
}

export function testKey(): Buffer {
	return randomBytes(32);
}

export function cookiesOf(request: http.IncomingMessage): Record<string, string> {
	const header = request.headers.cookie ?? '';
	return Object.fromEntries(
		header
			.split(';')
			.map((part) => part.trim())
			.filter(Boolean)
			.map((part) => [part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1)]),
	);
}

export function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

export function html(body: string): string {
	return `<!doctype html><html><head><title>t</title></head><body>${body}</body></html>`;
}

/**
 * A Store test double with only the session methods (the rest are never called by the pool), for
 * one pool: a single writer, so compare-and-set always wins and shares grant what is wanted.
 */
export function memorySessionStore(onSave?: (session: StoredSession) => void): Store & {rows: Map<string, StoredSession>} {
	const rows = new Map<string, StoredSession>();
	const changes = new Map<string, number>();
	const meta = new Map<string, string>();
	let cursor = 0;
	const write = (session: StoredSession): number => {
		const version = (rows.get(session.id)?.version ?? 0) + 1;
		rows.set(session.id, {...session, version});
		changes.set(session.id, ++cursor);
		onSave?.(session);
		return version;
	};
	const store = {
		rows,
		async loadSessions() {
			return [...rows.values()];
		},
		async saveSession(session: StoredSession) {
			write(session);
		},
		async saveSessionIf(session: StoredSession, expected: number) {
			return (rows.get(session.id)?.version ?? 0) === expected ? write(session) : undefined;
		},
		async sessionChanges(after: number) {
			const sessions = [...rows.values()].filter((row) => changes.get(row.id)! > after).sort((a, b) => changes.get(a.id)! - changes.get(b.id)!);
			return {sessions, cursor};
		},
		async lockSession() {
			return true;
		},
		async unlockSession() {},
		async claimShares(claims: ReadonlyArray<{key: string; wanted: number}>) {
			return claims.map(({key, wanted}) => ({key, granted: wanted, claimants: 1, rank: 0}));
		},
		async releaseShares() {
			return 0;
		},
		async getMeta(key: string) {
			return meta.get(key);
		},
		async setMeta(key: string, value: string) {
			meta.set(key, value);
		},
		async deleteSessions(id?: string) {
			if (id === undefined) {
				const count = rows.size;
				rows.clear();
				return count;
			}
			return rows.delete(id) ? 1 : 0;
		},
	};
	return store as unknown as Store & {rows: Map<string, StoredSession>};
}

export function quietLog(): {info(message: string): void; warn(message: string): void; messages: string[]} {
	const messages: string[] = [];
	return {messages, info: (message) => messages.push(`info: ${message}`), warn: (message) => messages.push(`warn: ${message}`)};
}
