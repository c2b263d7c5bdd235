// `crawljar fetch <crawler> <url>`: one request as the crawler's logged-in session sees it — the
// same login, re-login, 429 waits and persistence as a crawl — printed with every credential
// redacted (debug/redact-secrets.ts). Logs (logins…) go to stderr, the response to stdout.
import path from 'node:path';
import {CrawljarError} from '../../errors.js';
import {resolveCrawler} from '../../job/load.js';
import {resolveRequestUrl} from '../../runtime/request-url.js';
import {sendWithSession} from '../../runtime/send-with-session.js';
import {openSessionRuntime} from '../../runtime/session-runtime.js';
import {maskSecrets, redactHeader, sessionSecrets} from '../debug/redact-secrets.js';
import {createLogger, storeLocationOf, type CliIo} from '../io.js';
import {parseCommand} from '../usage.js';
import {fetchCommand} from './specs.js';

export async function fetchUrl(argv: readonly string[], io: CliIo): Promise<number> {
	const {values, positionals} = parseCommand(fetchCommand, argv);
	const [reference, url] = positionals;
	if (!reference || !url || positionals.length > 2) throw new CrawljarError('ERR_USAGE', `usage: ${fetchCommand.usage}`);
	const method = String(values.method ?? 'GET').toUpperCase();
	if (!/^[A-Z]+$/.test(method)) throw new CrawljarError('ERR_USAGE', `--method expects an HTTP method name, got '${method}'`);
	const location = storeLocationOf(values, io);
	const {definition} = await resolveCrawler(reference, path.join(io.cwd, 'crawlers'));
	const log = createLogger((line) => io.stderr.write(`${line}\n`));
	const runtime = await openSessionRuntime(definition, {...(location.kind === 'postgres' ? {storeUrl: location.url} : {storage: location.dir}), log});
	try {
		const target = resolveRequestUrl(url, runtime.baseUrl, 'crawljar fetch').href;
		const sent = await sendWithSession(runtime, {url: target, method}, {retry: runtime.defaultRetry, transient: 'retry'});
		const session = runtime.pool.sessions.find((candidate) => candidate.id === sent.sessionId);
		const secrets = session ? sessionSecrets(session) : [];
		const {result, verdict} = sent;
		const lines = [`HTTP ${result.status} ${method} ${maskSecrets(result.url, secrets)} (session ${sent.sessionId}${result.redirects.length ? `, ${result.redirects.length} redirect(s)` : ''})`];
		for (const [name, value] of Object.entries(result.headers)) {
			for (const each of Array.isArray(value) ? value : value === undefined ? [] : [value]) lines.push(redactHeader(name, each, secrets));
		}
		io.stdout.write(`${lines.join('\n')}\n\n${maskSecrets(result.body.toString('utf8'), secrets)}\n`);
		if (verdict.kind === 'fail') {
			io.stderr.write(`crawljar fetch: ${verdict.code}: ${verdict.reason}\n`);
			return 1;
		}
		return 0;
	} finally {
		await runtime.close();
	}
}
