// The URL of a request sent outside a crawl (openClient, `crawljar fetch`): absolute, or a path
// resolved against the crawler's first start URL; http(s) only, no credentials in it.
import {CrawljarError} from '../errors.js';

export function resolveRequestUrl(url: unknown, baseUrl: string, where: string): URL {
	if (typeof url !== 'string' || url === '') throw new CrawljarError('ERR_USAGE', `${where}: url: expected a URL or a path`);
	let target: URL;
	try {
		target = new URL(url, baseUrl);
	} catch {
		throw new CrawljarError('ERR_USAGE', `${where}: url: not a valid URL`);
	}
	if (target.protocol !== 'http:' && target.protocol !== 'https:') {
		throw new CrawljarError('ERR_USAGE', `${where}: url: expected http or https, got ${target.protocol}`);
	}
	if (target.username || target.password) {
		throw new CrawljarError('ERR_USAGE', `${where}: url: credentials in the URL are refused (the crawler's accounts log in)`);
	}
	return target;
}
