// Malformed and hostile answers, for the crawler's robustness tests. None needs a login.
import {redirect, sendHtml} from './http-util.js';
import type {Route} from './http-util.js';
import {createRandom} from './books.js';

export const HUGE_BODY_BYTES = 20 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, '<p>padding padding padding padding padding padding</p>\n');

export function badRoutes(): Route[] {
	return [
		{
			method: 'GET',
			pattern: /^\/bad\/huge$/,
			handler({response, url}) {
				response.setHeader('content-type', 'text/html; charset=utf-8');
				// Chunked by default, so a size limit must hold while streaming, not from a header.
				if (url.searchParams.has('declared')) response.setHeader('content-length', HUGE_BODY_BYTES);
				let sent = 0;
				const write = (): void => {
					while (sent < HUGE_BODY_BYTES && !response.destroyed) {
						const chunk = CHUNK.subarray(0, Math.min(CHUNK.length, HUGE_BODY_BYTES - sent));
						sent += chunk.length;
						if (!response.write(chunk)) return void response.once('drain', write);
					}
					if (!response.destroyed) response.end();
				};
				write();
			},
		},
		{method: 'GET', pattern: /^\/bad\/loop$/, handler: ({response}) => redirect(response, 302, '/bad/loop/b')},
		{method: 'GET', pattern: /^\/bad\/loop\/b$/, handler: ({response}) => redirect(response, 302, '/bad/loop')},
		{
			method: 'GET',
			pattern: /^\/bad\/redirects$/,
			handler({response, url}) {
				const left = Math.min(100, Math.max(0, Number.parseInt(url.searchParams.get('n') ?? '30', 10) || 0));
				if (left > 0) return redirect(response, 302, `/bad/redirects?n=${left - 1}`);
				sendHtml(response, 200, '<!doctype html><title>End of the chain</title><p>You followed every redirect.</p>');
			},
		},
		{
			method: 'GET',
			pattern: /^\/bad\/cookie$/,
			handler({response}) {
				response.setHeader('set-cookie', [
					'=;;;',
					'novalue',
					'other=1; Domain=example.com; Path=/',
					`huge=${'x'.repeat(10 * 1024)}; Path=/`,
					'when=1; Expires=not a date; Path=/',
					'age=1; Max-Age=soon; Path=/',
					'good=1; Path=/',
				]);
				sendHtml(response, 200, '<!doctype html><title>Cookies</title><p>Some of these cookies are broken.</p>');
			},
		},
		{
			method: 'GET',
			pattern: /^\/bad\/json$/,
			handler({response}) {
				const body = '{"items": [{"id": 1, "title": "Unterminated';
				response.setHeader('content-type', 'application/json; charset=utf-8');
				response.setHeader('content-length', Buffer.byteLength(body));
				response.end(body);
			},
		},
		{
			method: 'GET',
			pattern: /^\/bad\/binary$/,
			handler({response}) {
				const random = createRandom(42);
				const body = Buffer.alloc(64 * 1024);
				for (let index = 0; index < body.length; index++) body[index] = Math.floor(random() * 256);
				response.setHeader('content-type', 'application/octet-stream');
				response.setHeader('content-length', body.length);
				response.end(body);
			},
		},
		// Never answers: the server's close() still ends it (closeAllConnections).
		{method: 'GET', pattern: /^\/bad\/hang$/, handler() {}},
		{method: 'GET', pattern: /^\/bad\/reset$/, handler: ({request}) => void request.socket.destroy()},
		{
			method: 'GET',
			pattern: /^\/redirect-out$/,
			handler({response, url}) {
				const target = url.searchParams.get('to');
				if (!target) return sendHtml(response, 400, '<!doctype html><title>Bad request</title><p>Missing ?to=</p>');
				redirect(response, 302, target);
			},
		},
	];
}
