// Builders shared by the Store contract suites.
import type {Completion, NewRequest, StoredRequest} from '../../src/store/store.js';

export function request(key: string, extra: Partial<NewRequest> = {}): NewRequest {
	return {url: `https://example.com/${key}`, uniqueKey: key, depth: 0, ...extra};
}

export function done(requestId: number, items: unknown[] = [], enqueued: NewRequest[] = []): Completion {
	return {kind: 'done', requestId, items, enqueued, status: 200};
}

export function retry(requestId: number, retryAt: number, retryCount = 1): Completion {
	return {kind: 'retry', requestId, retryAt, retryCount, reloginCount: 0, rateLimitCount: 0, error: 'boom'};
}

export function keys(requests: readonly StoredRequest[]): string[] {
	return requests.map((stored) => stored.uniqueKey);
}

export async function collect(iterable: AsyncIterable<unknown>): Promise<unknown[]> {
	const values: unknown[] = [];
	for await (const value of iterable) values.push(value);
	return values;
}

