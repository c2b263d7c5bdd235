// What each command is called and how it is used: kept apart from the command code so that
// `--help` and the overview load no crawler machinery (got-scraping, SQLite) and answer at once.
import type {Command} from '../usage.js';

export const exportCommand: Command = {
	name: 'export',
	summary: "Streams the results of a crawler's latest run (or --run N) as JSON Lines, JSON or CSV.",
	usage: 'crawljar export <name|file> [--format jsonl|json|csv] [--out FILE] [--run N] [--storage DIR | --store URL]',
	flags: {format: {type: 'string'}, out: {type: 'string', short: 'o'}, run: {type: 'string'}, storage: {type: 'string'}, store: {type: 'string'}},
	help: `
--format F      jsonl (default), json or csv (nested fields flattened to dotted columns)
--out FILE      write to FILE (default: stdout)
--run N         export run N instead of the latest
--storage DIR   data folder (default: $CRAWLJAR_STORAGE or ./storage)
--store URL     PostgreSQL store, a postgres:// URL (default: $CRAWLJAR_STORE; pool size ?max=N)`,
};

export const listCommand: Command = {
	name: 'list',
	summary: 'Lists the crawlers in ./crawlers (or DIR) and those with data in the storage folder.',
	usage: 'crawljar list [DIR] [--storage DIR | --store URL]',
	flags: {storage: {type: 'string'}, store: {type: 'string'}},
	help: `--storage DIR   data folder (default: $CRAWLJAR_STORAGE or ./storage)
--store URL     PostgreSQL store, a postgres:// URL (default: $CRAWLJAR_STORE; pool size ?max=N)`,
};

export const failedCommand: Command = {
	name: 'failed',
	summary: "Lists the failed requests of a crawler's latest run (status, error code, attempts, last error).",
	usage: 'crawljar failed <name|file> [--limit N] [--json] [--storage DIR | --store URL]',
	flags: {limit: {type: 'string'}, json: {type: 'boolean'}, storage: {type: 'string'}, store: {type: 'string'}},
	help: `
--limit N       at most N rows (default 100)
--json          one JSON object per line
Put them back in the queue with: crawljar run <crawler> --retry-failed`,
};

export const statsCommand: Command = {
	name: 'stats',
	summary: "Prints a run's stored summary: requests, items, retries by reason, per host and per session.",
	usage: 'crawljar stats <name|file> [--run N] [--json] [--storage DIR | --store URL]',
	flags: {run: {type: 'string'}, json: {type: 'boolean'}, storage: {type: 'string'}, store: {type: 'string'}},
	help: `
--run N         that run instead of the latest
--json          the summary as JSON`,
};

export const runCommand: Command = {
	name: 'run',
	summary: 'Crawl: resumes the unfinished run of this crawler, else starts a new one.',
	usage: 'crawljar run <file|name> [--storage DIR | --store URL] [--fresh] [--retry-failed] [--concurrency N] [--max-requests N] [--threads N|auto]',
	flags: {
		storage: {type: 'string'},
		store: {type: 'string'},
		fresh: {type: 'boolean'},
		'retry-failed': {type: 'boolean'},
		concurrency: {type: 'string'},
		'max-requests': {type: 'string'},
		threads: {type: 'string'},
	},
	help: `
<file|name>         a crawler file (.ts/.js, anywhere), or the name of one in ./crawlers/
--storage DIR       data folder (default: $CRAWLJAR_STORAGE or ./storage)
--store URL         PostgreSQL store, a postgres:// URL (default: $CRAWLJAR_STORE; pool size ?max=N)
--fresh             start a new run even if the last one is unfinished (logged-in sessions are kept)
--retry-failed      put the last run's failed requests back in the queue and continue that run
--concurrency N     requests in flight in total (default: the definition's, else 10)
--max-requests N    stop after N requests in this run (resumable)
--threads N|auto    run route handlers in N worker threads (default: the definition's \`threads\`, else 0)

Ctrl-C stops gracefully (in-flight requests finish, up to 10 s) and exits 130; a second Ctrl-C
exits at once. Nothing is lost either way: run the same command again to resume.
Exit codes: 0 finished (failed requests are reported, not fatal), 1 aborted (e.g. NO_USABLE_SESSION),
2 bad usage or invalid definition, 130/143 stopped by SIGINT/SIGTERM.`,
};

export const scheduleCommand: Command = {
	name: 'schedule',
	summary: 'Long-running: fires every crawler that declares a `schedule` on its cron.',
	usage: 'crawljar schedule [DIR|FILE…] [--list] [--max-parallel N] [--storage DIR | --store URL]',
	flags: {list: {type: 'boolean'}, 'max-parallel': {type: 'string'}, storage: {type: 'string'}, store: {type: 'string'}},
	help: `
DIR|FILE…          crawler files, or folders of them (default: ./crawlers)
--list             print each crawler's next fire times and exit
--max-parallel N   runs at once across crawlers (default 2); one crawler's runs never overlap
Each fire resumes that crawler's interrupted run, else starts a new one, reusing its sessions.
Ctrl-C stops firing and stops running crawls gracefully; a restarted scheduler resumes them.`,
};

export const statusCommand: Command = {
	name: 'status',
	summary: 'Shows the last runs of each crawler (state, started, duration, pages, items, failures) and the next fire.',
	usage: 'crawljar status [name|file] [--runs N] [--storage DIR | --store URL]',
	flags: {runs: {type: 'string'}, storage: {type: 'string'}, store: {type: 'string'}},
	help: '--runs N   runs per crawler (default 5)',
};

export const sessionsCommand: Command = {
	name: 'sessions',
	summary: 'Lists or forgets the persisted (logged-in) sessions of a crawler. Values are never shown.',
	usage:
		'crawljar sessions ls <name|file> [--json] [--storage DIR | --store URL]\n       crawljar sessions show <name|file> <id> [--json] [--storage DIR | --store URL]\n       crawljar sessions rm <name|file> [id] [--storage DIR | --store URL]',
	flags: {json: {type: 'boolean'}, storage: {type: 'string'}, store: {type: 'string'}},
	help: `
ls     account, state, cookie names and expiries, token expiry, last login, logins, 401s
show   one session (id such as alice#1): every cookie's name, domain, path, expiry, Secure,
       HttpOnly and SameSite, the token's expiry, the login-set header names (never a value)
rm     forget one session (by id) or all: the next run logs in again`,
};

export const fetchCommand: Command = {
	name: 'fetch',
	summary: "Sends one request as the crawler's logged-in session and prints it: status, headers, body (credentials redacted).",
	usage: 'crawljar fetch <file|name> <url|path> [--method M] [--storage DIR | --store URL]',
	flags: {method: {type: 'string'}, storage: {type: 'string'}, store: {type: 'string'}},
	help: `
<url|path>      absolute, or a path resolved against the crawler's first start URL
--method M      GET (default), HEAD, DELETE…
The session logs in if it has to (the same login, re-login, 429 waits and saved sessions as a
crawl) and is saved afterwards. Cookie values, tokens and the password are printed as '…',
in the headers and in the body. Exit 1 when the request failed (a 4xx/5xx after retries).`,
};
