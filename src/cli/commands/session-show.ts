// `crawljar sessions show <crawler> <id>`: one stored session for debugging a login — every
// cookie with its attributes, the token's expiry, the names of login-set headers. It reads the
// clear-text metadata only (no key needed): no cookie value, token or password is in it.
import {CrawljarError} from '../../errors.js';
import {formatTable} from '../../output/summary.js';
import type {CookieSummary, SessionMeta} from '../../sessions/session.js';
import type {StoredSession} from '../../store/store.js';
import type {CliIo} from '../io.js';

const time = (epochMs: number | undefined) => (epochMs === undefined ? '' : new Date(epochMs).toISOString().slice(0, 19).replace('T', ' '));

export function showSession(stored: readonly StoredSession[], crawler: string, id: string, asJson: boolean, io: CliIo): number {
	const session = stored.find((candidate) => candidate.id === id);
	if (!session) {
		const known = stored.map((candidate) => candidate.id);
		throw new CrawljarError('ERR_USAGE', `${crawler} has no stored session '${id}' (${known.length ? `sessions: ${known.join(', ')}` : 'no stored sessions'})`);
	}
	const meta = session.meta as Partial<SessionMeta>;
	const cookies = meta.cookies ?? [];
	if (asJson) {
		io.stdout.write(`${JSON.stringify({id: session.id, account: session.account, state: session.state, ...meta})}\n`);
		return 0;
	}
	const now = Date.now();
	const facts = [
		`session   ${session.id} (account ${session.account})`,
		`state     ${session.state}${meta.disabledReason ? `: ${meta.disabledReason}` : ''}`,
		`saved     ${time(session.updatedAt)}`,
		`token     ${meta.tokenExpiresAt === undefined ? 'none' : `expires ${time(meta.tokenExpiresAt)}${meta.tokenExpiresAt <= now ? ' (expired)' : ''}`}${meta.hasRefreshToken ? ', with a refresh token' : ''}`,
		`headers   ${meta.headerNames?.length ? meta.headerNames.join(', ') : 'none'}`,
		`logins    ${meta.stats?.logins ?? 0} (re-logins ${meta.stats?.relogins ?? 0}), refreshes ${meta.stats?.refreshes ?? 0}, requests ${meta.stats?.requests ?? 0}, 401s ${meta.stats?.unauthorized ?? 0}`,
		`cookies   ${cookies.length} (values are never shown)`,
	];
	const rows = cookies.map((cookie: CookieSummary) => ({
		name: cookie.name,
		domain: cookie.domain ?? '',
		path: cookie.path ?? '',
		expires: cookie.expiresAt === undefined ? 'session' : `${time(cookie.expiresAt)}${cookie.expiresAt <= now ? ' (expired)' : ''}`,
		secure: cookie.secure ? 'Secure' : '',
		httpOnly: cookie.httpOnly ? 'HttpOnly' : '',
		sameSite: cookie.sameSite ?? '',
	}));
	io.stdout.write(`${facts.join('\n')}\n${rows.length ? `\n${formatTable(rows, ['name', 'domain', 'path', 'expires', 'secure', 'httpOnly', 'sameSite'])}\n` : ''}`);
	return 0;
}
