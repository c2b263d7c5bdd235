// got-scraping's header agent (TransformHeadersAgent) rewrites Node's framing headers and adds
// `Content-Length: 0` to every GET, which Node itself never sends and no browser does: RFC 9110
// says a client SHOULD NOT, some servers and WAFs answer 400/403, and it marks the client as a
// bot. These agents sit under got-scraping's and, for a request whose method sends no body
// (GET, HEAD, DELETE, OPTIONS…) and that has none, tell Node the length header was removed
// (removeHeader, its public way to say so) before the headers are written.
import http from 'node:http';
import https from 'node:https';

type StoreHeader = (...args: unknown[]) => unknown;
interface FramedRequest extends http.ClientRequest {
	_storeHeader: StoreHeader;
	readonly _contentLength?: number | null;
	readonly useChunkedEncodingByDefault: boolean;
}

function withoutEmptyLength(request: FramedRequest): void {
	const storeHeader = request._storeHeader;
	request._storeHeader = function (this: FramedRequest, ...args: unknown[]) {
		// useChunkedEncodingByDefault is Node's own "this method carries no body" flag.
		if (!this.useChunkedEncodingByDefault && !this.hasHeader('content-length') && !this._contentLength) {
			this.removeHeader('content-length');
			this.removeHeader('transfer-encoding');
		}
		return storeHeader.apply(this, args);
	};
}

// Node's global agents' settings (keep-alive, LIFO sockets, 5 s idle timeout).
const AGENT_OPTIONS = {keepAlive: true, scheduling: 'lifo', timeout: 5_000} as const;

class BodylessHttpAgent extends http.Agent {
	addRequest(request: http.ClientRequest, options: unknown): void {
		withoutEmptyLength(request as FramedRequest);
		(http.Agent.prototype as unknown as {addRequest: (request: unknown, options: unknown) => void}).addRequest.call(this, request, options);
	}
}

class BodylessHttpsAgent extends https.Agent {
	addRequest(request: http.ClientRequest, options: unknown): void {
		withoutEmptyLength(request as FramedRequest);
		(https.Agent.prototype as unknown as {addRequest: (request: unknown, options: unknown) => void}).addRequest.call(this, request, options);
	}
}

export function bodylessAgents(): {readonly http: http.Agent; readonly https: https.Agent} {
	return {http: new BodylessHttpAgent(AGENT_OPTIONS), https: new BodylessHttpsAgent(AGENT_OPTIONS)};
}
