import type {CrawlerDefinition} from './job/types.js';

/**
 * Declares a crawler. An identity function for type inference: validation happens when the
 * file is loaded (`crawljar run`) or passed to runCrawler, where errors can name the file.
 */
export function defineCrawler<const T extends CrawlerDefinition>(definition: T): T {
	return definition;
}
