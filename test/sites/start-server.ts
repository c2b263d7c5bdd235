// An ad-hoc node:http server for one test: 127.0.0.1, a free port, closed when the test ends.
import {createServer} from 'node:http';
import type {RequestListener} from 'node:http';
import type {AddressInfo} from 'node:net';
import type {TestContext} from 'node:test';

export interface TestServer {
	/** Origin, e.g. `http://127.0.0.1:40123` (no trailing slash). */
	readonly url: string;
	/** Stops listening and ends every connection, idle keep-alive and hanging ones included. */
	close(): Promise<void>;
}

export async function startServer(t: TestContext | undefined, handler: RequestListener): Promise<TestServer> {
	const server = createServer(handler);
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => resolve());
	});
	const {port} = server.address() as AddressInfo;
	let closing: Promise<void> | undefined;
	const close = (): Promise<void> => {
		closing ??= new Promise<void>((resolve) => {
			server.close(() => resolve());
			server.closeAllConnections();
		});
		return closing;
	};
	t?.after(close);
	return {url: `http://127.0.0.1:${port}`, close};
}
