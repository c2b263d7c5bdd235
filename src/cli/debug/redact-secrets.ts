// What `crawljar fetch` may print: the response as the session saw it, minus every credential.
// Credential headers are masked by name; Set-Cookie keeps its attributes, not its value; and any
// secret of the session (cookie values, tokens, login-set headers, the account's password) that
// shows up anywhere else — a JSON body echoing a token, a header — is replaced by `…`.
import {isCredentialName} from '../../errors.js';
import type {Session} from '../../sessions/session.js';

/** Shorter values are left alone: masking every `1` or `en` would garble the body, and they guard nothing. */
const MIN_SECRET_LENGTH = 6;

const CREDENTIAL_HEADER = /^(?:authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-auth-token|x-csrf-token|x-xsrf-token)$/i;

/** Every secret value the session holds, longest first (so a token is masked before its prefix). */
export function sessionSecrets(session: Session): string[] {
	const values = new Set<string>();
	const add = (value: unknown) => {
		if (typeof value === 'string' && value.length >= MIN_SECRET_LENGTH) values.add(value);
	};
	session.jar.store.getAllCookies((error, cookies) => {
		if (!error) for (const cookie of cookies ?? []) add(cookie.value);
	});
	add(session.tokens?.accessToken);
	add(session.tokens?.refreshToken);
	for (const value of Object.values(session.headers)) add(value);
	for (const [name, value] of Object.entries(session.account)) if (name !== 'username') add(value);
	return [...values].sort((a, b) => b.length - a.length);
}

export function maskSecrets(text: string, secrets: readonly string[]): string {
	let masked = text;
	for (const secret of secrets) if (masked.includes(secret)) masked = masked.split(secret).join('…');
	return masked;
}

/** One header line for output: credential headers by name, Set-Cookie without its value, secrets masked. */
export function redactHeader(name: string, value: string, secrets: readonly string[]): string {
	if (/^set-cookie$/i.test(name)) {
		const at = value.indexOf('=');
		const end = value.indexOf(';');
		const cookieName = at === -1 ? value : value.slice(0, at);
		return `${name}: ${cookieName}=…${end === -1 ? '' : value.slice(end)}`;
	}
	if (CREDENTIAL_HEADER.test(name) || isCredentialName(name.replace(/^x-/i, ''))) return `${name}: …`;
	return `${name}: ${maskSecrets(value, secrets)}`;
}
