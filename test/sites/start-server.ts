// A real node:http server on 127.0.0.1 (a free port) for one test; closed when the test ends.
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import type {TestContext} from 'node:test';

export type Handler = (request: http.IncomingMessage, response: http.ServerResponse, body: string) => void | Promise<void>;

/** Serves `handler` until the test ends; returns the origin, e.g. `http://127.0.0.1:40123`. */
export async function startServer(t: TestContext, handler: Handler): Promise<string> {
	const server = http.createServer((request, response) => {
		const chunks: Buffer[] = [];
		request.on('data', (chunk: Buffer) => chunks.push(chunk));
		request.on('end', () => {
			Promise.resolve(handler(request, response, Buffer.concat(chunks).toString('utf8'))).catch((error: unknown) => {
				if (!response.headersSent) response.statusCode = 500;
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
