// Start URLs are stored in clear (the request table, exports of failed requests), and logged
// redacted at best: a credential written into one would sit in the database unencrypted
// (issue 14 item 6). So a start URL may not carry userinfo, nor a query parameter whose name
// says credential (errors.ts isCredentialName, the same list redaction uses): the crawler says
// where such secrets belong instead, and the value never appears in the message.
import {isCredentialName} from '../errors.js';

/** Why `url` may not be a start URL, or undefined when it may. */
export function startUrlSecretProblem(url: string): string | undefined {
	let parsed: URL;
	try {
		parsed = new URL(url);
	} catch {
		return undefined; // the URL check reports it
	}
	if (parsed.username || parsed.password) {
		return 'a start URL may not carry credentials (user:password@): they would be stored in clear; use `accounts` with a login step, or `headers` (e.g. authorization)';
	}
	const names = [...new Set(parsed.searchParams.keys())].filter(isCredentialName);
	if (names.length > 0) {
		const listed = names.map((name) => `'${name}'`).join(', ');
		return `query parameter ${listed} looks like a credential and would be stored in clear: send it in \`headers\` (e.g. x-api-key), or let a login step obtain it`;
	}
	return undefined;
}
