// Shared by the policy integration tests: real servers on 127.0.0.1:0 that log what arrived and
// when, per-test temp storage, and a log that keeps its lines for assertions.
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import path from 'node:path';
import type {TestContext} from 'node:test';
import {Worker} from 'node:worker_threads';
import {captureLog, tempStorage as sharedTempStorage, type CapturedLog} from '../helpers/temp.js';

// Session encryption key for in-process runs: never a key file in the real home.
process.env.CRAWLJAR_SECRET ??= 'policy-integration-test-secret';

export interface Arrival {
	/** Date.now() when the request's headers arrived. */
	readonly at: number;
	readonly method: string;
	readonly path: string;
}

export type ArrivalHandler = (request: http.IncomingMessage, response: http.ServerResponse, arrival: Arrival) => void;

export interface LoggingServer {
	/** `http://127.0.0.1:<port>` */
	readonly url: string;
	/** `127.0.0.1:<port>`: the host key the throttle uses. */
	readonly host: string;
	/** Every request, in arrival order. */
	readonly arrivals: Arrival[];
	/** Requests being answered right now, and the most ever seen at once. */
	readonly concurrency: {current: number; max: number};
	/** Arrivals per path. */
	count(path: string): number;
}

export interface ListeningServer {
	readonly server: http.Server;
	readonly port: number;
	readonly arrivals: Arrival[];
	readonly concurrency: {current: number; max: number};
	readonly counts: Map<string, number>;
}

/** Serves `handler` on 127.0.0.1:0 and logs each arrival before calling it (used in and out of workers). */
export async function listenLogged(handler: ArrivalHandler): Promise<ListeningServer> {
	const arrivals: Arrival[] = [];
	const counts = new Map<string, number>();
	const concurrency = {current: 0, max: 0};
	const server = http.createServer((request, response) => {
		const arrival: Arrival = {at: Date.now(), method: request.method ?? 'GET', path: request.url ?? '/'};
		arrivals.push(arrival);
		counts.set(arrival.path, (counts.get(arrival.path) ?? 0) + 1);
		concurrency.current++;
		concurrency.max = Math.max(concurrency.max, concurrency.current);
		let isOpen = true;
		response.on('close', () => {
			if (isOpen) concurrency.current--;
			isOpen = false;
		});
		handler(request, response, arrival);
	});
	// Sockets are destroyed on purpose by some test servers: not an error.
	server.on('clientError', (_error, socket) => socket.destroy());
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return {server, port: (server.address() as AddressInfo).port, arrivals, concurrency, counts};
}

/** Serves `handler` in this thread until the test ends. */
export async function startLoggingServer(t: TestContext, handler: ArrivalHandler): Promise<LoggingServer> {
	const {server, port, arrivals, concurrency, counts} = await listenLogged(handler);
	t.after(() => {
		server.closeAllConnections();
		return new Promise<void>((resolve) => server.close(() => resolve()));
	});
	return {
		url: `http://127.0.0.1:${port}`,
		host: `127.0.0.1:${port}`,
		arrivals,
		concurrency,
		count: (pathname) => counts.get(pathname) ?? 0,
	};
}

/** What a site module for startSiteWorker exports as `createSite`. */
export interface WorkerSite {
	handle: ArrivalHandler;
	/** Extra state for snapshots (structured-clonable). */
	state?(): unknown;
}

export interface SiteSnapshot<State> {
	readonly arrivals: Arrival[];
	readonly maxConcurrency: number;
	readonly state: State;
}

export interface WorkerServer<State> {
	readonly url: string;
	readonly host: string;
	snapshot(): Promise<SiteSnapshot<State>>;
}

/**
 * Serves a site module in a worker thread, until the test ends. Timing tests need this: in the
 * crawler's thread, an arrival would be logged only when the crawler's work lets the event loop
 * get to it, so server-side times would measure the client's load, not the requests.
 */
export async function startSiteWorker<State = undefined>(t: TestContext, siteModule: URL, options: unknown = {}): Promise<WorkerServer<State>> {
	const entry = new URL('./site-worker.ts', import.meta.url).href;
	const worker = new Worker(`import {register} from 'tsx/esm/api'; register(); await import(${JSON.stringify(entry)});`, {
		eval: true,
		workerData: {site: siteModule.href, options},
	});
	t.after(() => worker.terminate());
	const pending = new Map<number, (snapshot: SiteSnapshot<State>) => void>();
	let nextId = 0;
	const port = await new Promise<number>((resolve, reject) => {
		worker.once('error', reject);
		worker.on('message', (message: {type: 'listening'; port: number} | {type: 'snapshot'; id: number; snapshot: SiteSnapshot<State>}) => {
			if (message.type === 'listening') resolve(message.port);
			else pending.get(message.id)?.(message.snapshot);
		});
	});
	return {
		url: `http://127.0.0.1:${port}`,
		host: `127.0.0.1:${port}`,
		snapshot: () =>
			new Promise((resolve) => {
				const id = nextId++;
				pending.set(id, resolve);
				worker.postMessage({type: 'snapshot', id});
			}),
	};
}

export function page(response: http.ServerResponse, body = 'ok', status = 200): void {
	response.statusCode = status;
	response.setHeader('content-type', 'text/html; charset=utf-8');
	response.end(`<!doctype html><html><head><title>${body}</title></head><body><h1>${body}</h1></body></html>`);
}

/** A fresh storage folder, removed when the test ends. */
export function tempStorage(t: TestContext): string {
	return sharedTempStorage(t, 'crawljar-policy-');
}

export {captureLog, type CapturedLog};

export function pageUrls(base: string, count: number, prefix = '/p/'): string[] {
	return Array.from({length: count}, (_, index) => `${base}${prefix}${index}`);
}

export function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Fast, predictable requests: no generated browser headers. */
export const testDefaults = {useHeaderGenerator: false, headers: {'user-agent': 'crawljar-policy-test'}} as const;
