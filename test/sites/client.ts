// A minimal cookie-keeping fetch for tests of the demo site itself (deliberately not crawljar).
export class TestClient {
	readonly cookies = new Map<string, string>();
	readonly #origin: string;

	constructor(origin: string) {
		this.#origin = origin;
	}

	async request(path: string, init: RequestInit = {}): Promise<Response> {
		const headers = new Headers(init.headers);
		if (this.cookies.size > 0 && !headers.has('cookie')) {
			headers.set('cookie', [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '));
		}
		const response = await fetch(new URL(path, this.#origin), {redirect: 'manual', ...init, headers});
		for (const line of response.headers.getSetCookie()) {
			const [pair = '', ...attributes] = line.split(';');
			const separator = pair.indexOf('=');
			const name = pair.slice(0, separator).trim();
			if (separator <= 0) continue;
			if (attributes.some((attribute) => /^\s*max-age=0\s*$/i.test(attribute))) this.cookies.delete(name);
			else this.cookies.set(name, pair.slice(separator + 1).trim());
		}
		return response;
	}

	postForm(path: string, fields: Record<string, string>): Promise<Response> {
		return this.request(path, {
			method: 'POST',
			headers: {'content-type': 'application/x-www-form-urlencoded'},
			body: new URLSearchParams(fields).toString(),
		});
	}

	/** GET /login, read the CSRF token, POST the credentials. Returns the POST's response. */
	async login(username = 'demo', password = 'demo-password'): Promise<Response> {
		const csrf = csrfOf(await (await this.request('/login')).text());
		return this.postForm('/login', {csrf, username, password});
	}
}

export function csrfOf(html: string): string {
	const match = /<form id="login"[\s\S]*?name="csrf" value="([^"]+)"/.exec(html);
	if (!match?.[1]) throw new Error('No CSRF token in the login form');
	return match[1];
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
	return fetch(url, {method: 'POST', headers: {'content-type': 'application/json', ...headers}, body: JSON.stringify(body)});
}
