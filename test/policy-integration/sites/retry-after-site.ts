// A site with logins (POST /login sets a cookie per account), pages under /p/ that need the
// cookie, and one rate-limit episode: the `triggerAt`-th page request gets a 429 with
// Retry-After (delta-seconds "2", or an HTTP-date 2 s ahead). Requests arriving while the window
// is open get the same 429 (a real server would); later ones are served. Runs in a worker.
import type http from 'node:http';
import {page, type WorkerSite} from '../helpers.js';

export interface RetryAfterSiteOptions {
	readonly retryAfter: 'seconds' | 'date';
	readonly triggerAt: number;
	/** Latency of a served page (uniform in [min, max]), so that many requests are in flight together, answered at different times. */
	readonly pageDelayMs: readonly [min: number, max: number];
}

export interface RetryAfterSiteState {
	/** When the 429 left the server and when the window it announced ends. */
	readonly window: {readonly start: number; readonly end: number} | undefined;
	/** Paths served with 200. */
	readonly served: string[];
	/** Accounts whose session sent page requests before the 429. */
	readonly sessionsBeforeTrigger: string[];
}

function sidOf(request: http.IncomingMessage): string | undefined {
	const sid = /(?:^|;\s*)sid=([^;]+)/.exec(request.headers.cookie ?? '')?.[1];
	return sid === undefined ? undefined : decodeURIComponent(sid);
}

export function createSite(options: RetryAfterSiteOptions): WorkerSite {
	const [min, max] = options.pageDelayMs;
	let pageRequests = 0;
	let window: {start: number; end: number; header: string} | undefined;
	const held: http.ServerResponse[] = [];
	const served = new Set<string>();
	const sessionsBeforeTrigger = new Set<string>();

	const tooMany = (response: http.ServerResponse, header: string) => {
		response.setHeader('retry-after', header);
		page(response, 'slow down', 429);
	};

	return {
		handle(request, response, arrival) {
			if (arrival.path === '/login' && request.method === 'POST') {
				let body = '';
				request.on('data', (chunk: Buffer) => (body += chunk.toString()));
				request.on('end', () => {
					const user = new URLSearchParams(body).get('user') ?? '';
					response.setHeader('set-cookie', `sid=${encodeURIComponent(user)}; Path=/; HttpOnly`);
					page(response, 'welcome');
				});
				return;
			}
			request.resume();
			const sid = sidOf(request);
			if (!sid) return page(response, 'login required', 401);
			pageRequests++;
			if (window && arrival.at < window.end) return tooMany(response, window.header);
			if (!window && held.length > 0) {
				held.push(response);
				return;
			}
			if (!window) sessionsBeforeTrigger.add(sid);
			if (!window && pageRequests === options.triggerAt) {
				if (options.retryAfter === 'seconds') {
					const start = Date.now();
					window = {start, end: start + 2_000, header: '2'};
					return tooMany(response, '2');
				}
				// HTTP-dates have one-second resolution: the 429s leave at a whole second, so that
				// the date is exactly 2 s after them. Page requests arriving until then are held and
				// get the same 429 (the pages left stay queued during the cooldown).
				const start = Math.ceil((Date.now() + 1) / 1000) * 1000;
				const header = new Date(start + 2_000).toUTCString();
				held.push(response);
				setTimeout(() => {
					window = {start: Date.now(), end: start + 2_000, header};
					for (const heldResponse of held.splice(0)) tooMany(heldResponse, header);
				}, start - Date.now());
				return;
			}
			setTimeout(() => {
				served.add(arrival.path);
				page(response, `page ${arrival.path}`);
			}, min + Math.random() * (max - min));
		},
		state(): RetryAfterSiteState {
			return {
				window: window && {start: window.start, end: window.end},
				served: [...served],
				sessionsBeforeTrigger: [...sessionsBeforeTrigger],
			};
		},
	};
}
