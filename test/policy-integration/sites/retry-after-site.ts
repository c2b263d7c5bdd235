// A site with logins (POST /login sets a cookie per account), pages under /p/ that need the
// cookie, and one rate-limit episode: from the `triggerAt`-th page request on, requests get a
// 429 with Retry-After (delta-seconds "2", or an HTTP-date 2 s ahead) until the window it
// announced ends (a real server would answer them so); later ones are served. Runs in a worker.
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
				// The 429s leave together after a hold longer than any page's latency: every request
				// arriving from the trigger on is held and gets the same 429. When they leave, all
				// the crawler has in flight are these 429s, so whatever it sends next, it sends
				// after reading one: a request arriving later is a cooldown not kept. For the HTTP-date the hold ends at a whole second (dates have
				// one-second resolution), so that the date is exactly 2 s after the 429s leave.
				const start = options.retryAfter === 'seconds' ? Date.now() + max + 50 : Math.ceil((Date.now() + max + 50) / 1000) * 1000;
				held.push(response);
				setTimeout(() => {
					const header = options.retryAfter === 'seconds' ? '2' : new Date(start + 2_000).toUTCString();
					const sentAt = Date.now();
					window = {start: sentAt, end: (options.retryAfter === 'seconds' ? sentAt : start) + 2_000, header};
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
