// The `crawljar/crawlee` entry: crawljar's sessions inside Crawlee crawlers. Crawlee is an
// optional peer dependency; this entry only imports its types, and `crawljar` never imports it.
export {crawleeSessions, CRAWLEE_SESSIONS_DEFAULTS} from './crawlee-sessions.js';
export type {BrowserCrawlerSessionOptions, CrawleeSessions, CrawleeSessionsOptions, HttpCrawlerSessionOptions} from './crawlee-sessions.js';
export type {BrowserHook, LaunchContextLike} from './browser-hooks.js';
