// `crawljar sessions ls|rm`: reads only the clear-text metadata of stored sessions; no secret is
// decrypted to list them, so listing needs no key and cannot leak a value.
import {CrawljarError} from '../../errors.js';
import {formatTable} from '../../output/summary.js';
import {showSession} from './session-show.js';
import type {SessionMeta} from '../../sessions/session.js';
import {openExistingStore} from '../crawler-store.js';
import {storeLocationOf, type CliIo} from '../io.js';
import {sessionsCommand} from './specs.js';
import {parseCommand} from '../usage.js';

const time = (epochMs: unknown) => (typeof epochMs === 'number' ? new Date(epochMs).toISOString().slice(0, 19).replace('T', ' ') : '');

export async function sessions(argv: readonly string[], io: CliIo): Promise<number> {
	const {values, positionals} = parseCommand(sessionsCommand, argv);
	const [action, reference, id] = positionals;
	if ((action !== 'ls' && action !== 'rm' && action !== 'show') || !reference) throw new CrawljarError('ERR_USAGE', `usage: ${sessionsCommand.usage}`);
	if (action === 'show' && !id) throw new CrawljarError('ERR_USAGE', `sessions show needs a session id (see: crawljar sessions ls ${reference})`);
	const {name, store} = await openExistingStore(reference, storeLocationOf(values, io));
	try {
		if (action === 'rm') {
			const removed = await store.deleteSessions(id);
			io.stdout.write(`removed ${removed} session(s) of ${name}${id && removed === 0 ? ` (no session '${id}')` : ''}\n`);
			return id && removed === 0 ? 1 : 0;
		}
		const stored = await store.loadSessions();
		if (action === 'show') return showSession(stored, name, id!, Boolean(values.json), io);
		if (values.json) {
			for (const session of stored) io.stdout.write(`${JSON.stringify({id: session.id, ...session.meta})}\n`);
			return 0;
		}
		if (stored.length === 0) {
			io.stdout.write(`${name} has no stored sessions\n`);
			return 0;
		}
		const rows = stored.map((session) => {
			const meta = session.meta as Partial<SessionMeta>;
			return {
				id: session.id,
				account: session.account,
				state: meta.disabledReason ? `${session.state}: ${meta.disabledReason}` : session.state,
				cookies: (meta.cookies ?? []).map((cookie) => `${cookie.name}${cookie.expiresAt ? ` (→${time(cookie.expiresAt)})` : ''}`).join(', '),
				token: meta.tokenExpiresAt ? `expires ${time(meta.tokenExpiresAt)}` : '',
				'last login': time(meta.stats?.lastLoginAt),
				// All-time counts of the stored session; `crawljar stats` has them per run.
				logins: (meta.stats?.logins ?? 0) - (meta.stats?.relogins ?? 0),
				relogins: meta.stats?.relogins ?? 0,
				refreshes: (meta.stats?.refreshes ?? 0) - (meta.stats?.refreshesAfterLogout ?? 0),
				'refreshes after 401': meta.stats?.refreshesAfterLogout ?? 0,
				'401s': meta.stats?.unauthorized ?? 0,
			};
		});
		io.stdout.write(`${formatTable(rows, ['id', 'account', {key: 'state', maxWidth: 60}, {key: 'cookies', maxWidth: 80}, 'token', 'last login', 'logins', 'relogins', 'refreshes', 'refreshes after 401', '401s'])}\n`);
		return 0;
	} finally {
		await store.close();
	}
}
