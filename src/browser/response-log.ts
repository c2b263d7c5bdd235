// What a browser context's pages received (documents and XHR/fetch only: images and styles say
// nothing about a login), kept to judge the attempt with the crawl's retry policy.
import type {BrowserContext, Response} from 'playwright-core';
import type {FetchResult} from '../http/fetch.js';

interface LoggedResponse {
	readonly url: string;
	readonly status: number;
	readonly headers: Record<string, string>;
	readonly isDocument: boolean;
}

const JUDGED_TYPES = new Set(['document', 'xhr', 'fetch']);

export class ResponseLog {
	readonly #responses: LoggedResponse[] = [];

	constructor(context: BrowserContext) {
		context.on('response', (response: Response) => {
			const type = response.request().resourceType();
			if (!JUDGED_TYPES.has(type)) return;
			this.#responses.push({url: response.url(), status: response.status(), headers: response.headers(), isDocument: type === 'document'});
		});
	}

	get isEmpty(): boolean {
		return this.#responses.length === 0;
	}

	/** Origins the pages received responses from, in order of first sight (cookie setters). */
	origins(): string[] {
		return [...new Set(this.#responses.flatMap((response) => (response.url.startsWith('http') ? [new URL(response.url).origin] : [])))];
	}

	/**
	 * The response that stands for the attempt: a 429 first (a host asking to be left alone is
	 * heard even when the steps succeeded); when the steps failed, a 5xx too; else the last document.
	 */
	outcomeResult(fallbackUrl: string, didStepsFail: boolean): FetchResult {
		const judged =
			this.#responses.find((response) => response.status === 429) ??
			(didStepsFail ? this.#responses.find((response) => response.status >= 500) : undefined) ??
			this.#responses.findLast((response) => response.isDocument);
		return {
			url: judged?.url ?? fallbackUrl,
			status: judged?.status ?? 200,
			headers: judged?.headers ?? {},
			body: Buffer.alloc(0),
			redirects: [],
			deletedCookies: [],
			rejectedCookies: 0,
		};
	}
}
