// Small request/response helpers shared by the demo site's handlers.
import type {IncomingMessage, ServerResponse} from 'node:http';

export type Handler = (context: RequestContext) => void | Promise<void>;

export interface RequestContext {
	readonly request: IncomingMessage;
	readonly response: ServerResponse;
	readonly url: URL;
	readonly cookies: ReadonlyMap<string, string>;
	/** Capture groups of the matched route pattern. */
	readonly params: readonly string[];
}

export interface Route {
	readonly method: string;
	readonly pattern: RegExp;
	readonly handler: Handler;
}

export function parseCookies(header: string | undefined): Map<string, string> {
	const cookies = new Map<string, string>();
	for (const part of (header ?? '').split(';')) {
		const separator = part.indexOf('=');
		if (separator <= 0) continue;
		const name = part.slice(0, separator).trim();
		// The first cookie of a name wins, as browsers send the most specific one first.
		if (!cookies.has(name)) cookies.set(name, part.slice(separator + 1).trim());
	}
	return cookies;
}

export class BodyTooLargeError extends Error {
	override name = 'BodyTooLargeError';
}

export async function readBody(request: IncomingMessage, limitBytes = 64 * 1024): Promise<string> {
	const chunks: Buffer[] = [];
	let size = 0;
	for await (const chunk of request as AsyncIterable<Buffer>) {
		size += chunk.length;
		if (size > limitBytes) throw new BodyTooLargeError(`Request body over ${limitBytes} bytes`);
		chunks.push(chunk);
	}
	return Buffer.concat(chunks).toString('utf8');
}

export function sendHtml(response: ServerResponse, status: number, html: string): void {
	response.statusCode = status;
	response.setHeader('content-type', 'text/html; charset=utf-8');
	response.setHeader('content-length', Buffer.byteLength(html));
	// A string body goes out in one write with the headers; a Buffer takes a writev of two.
	response.end(html);
}

export function sendJson(response: ServerResponse, status: number, value: unknown): void {
	const body = JSON.stringify(value);
	response.statusCode = status;
	response.setHeader('content-type', 'application/json; charset=utf-8');
	response.setHeader('content-length', Buffer.byteLength(body));
	response.end(body);
}

export function redirect(response: ServerResponse, status: 301 | 302 | 303 | 307, location: string): void {
	response.statusCode = status;
	response.setHeader('location', location);
	response.setHeader('content-length', 0);
	response.end();
}

export function addCookie(response: ServerResponse, cookie: string): void {
	const previous = response.getHeader('set-cookie');
	const list = Array.isArray(previous) ? previous : previous === undefined ? [] : [String(previous)];
	response.setHeader('set-cookie', [...list, cookie]);
}

export function sessionCookie(name: string, value: string): string {
	return `${name}=${value}; Path=/; HttpOnly; SameSite=Lax`;
}

/** A positive integer query parameter, or the fallback. */
export function intParam(url: URL, name: string, fallback: number): number {
	const value = Number(url.searchParams.get(name) ?? fallback);
	return Number.isInteger(value) && value >= 1 ? value : fallback;
}
