import assert from 'node:assert/strict';
import path from 'node:path';
import {describe, test} from 'node:test';
import {CrawljarError} from '../../src/errors.js';
import {describeCrawlerStore, describeLocation, locationFlags, resolveStoreLocation} from '../../src/store/open-store.js';

const pgUrl = 'postgres://crawl:s3cret@db.internal:5432/crawls?max=4';

function isUsage(error: unknown, ...fragments: string[]): boolean {
	return error instanceof CrawljarError && error.code === 'ERR_USAGE' && fragments.every((part) => error.message.includes(part)) && !error.message.includes('s3cret');
}

describe('resolveStoreLocation: where the store is chosen', () => {
	test('flags beat the environment; CRAWLJAR_STORE beats CRAWLJAR_STORAGE; ./storage by default', () => {
		assert.deepEqual(resolveStoreLocation({}, {}), {kind: 'sqlite', dir: './storage'});
		assert.deepEqual(resolveStoreLocation({}, {CRAWLJAR_STORAGE: '/data'}), {kind: 'sqlite', dir: '/data'});
		assert.deepEqual(resolveStoreLocation({}, {CRAWLJAR_STORAGE: '/data', CRAWLJAR_STORE: pgUrl}), {kind: 'postgres', url: pgUrl});
		assert.deepEqual(resolveStoreLocation({storageDir: 'here'}, {CRAWLJAR_STORE: pgUrl}), {kind: 'sqlite', dir: 'here'});
		assert.deepEqual(resolveStoreLocation({storeUrl: pgUrl}, {CRAWLJAR_STORAGE: '/data'}), {kind: 'postgres', url: pgUrl});
		assert.deepEqual(resolveStoreLocation({storeUrl: 'postgresql://db/x'}, {}), {kind: 'postgres', url: 'postgresql://db/x'});
		// An empty variable is no choice.
		assert.deepEqual(resolveStoreLocation({}, {CRAWLJAR_STORE: ''}), {kind: 'sqlite', dir: './storage'});
	});

	test('bad choices are usage errors naming the field, without the password', () => {
		assert.throws(() => resolveStoreLocation({storeUrl: pgUrl, storageDir: 'x'}, {}), (error: unknown) => isUsage(error, '--store', '--storage', 'together'));
		assert.throws(() => resolveStoreLocation({storeUrl: './storage'}, {}), (error: unknown) => isUsage(error, '--store expects a postgres:// URL'));
		assert.throws(() => resolveStoreLocation({}, {CRAWLJAR_STORE: 'mysql://crawl:s3cret@db/x'}), (error: unknown) => isUsage(error, 'CRAWLJAR_STORE expects a postgres:// URL'));
		assert.throws(() => resolveStoreLocation({storeUrl: 'postgres://crawl:s3cret@db/x?max=0'}, {}), (error: unknown) => isUsage(error, '--store', 'max (pool size)'));
	});

	test('what output may show: the folder, or the URL with its password redacted', () => {
		const postgres = resolveStoreLocation({storeUrl: pgUrl}, {});
		assert.equal(describeLocation(postgres), 'postgres://crawl:***@db.internal:5432/crawls?max=4');
		assert.equal(describeCrawlerStore(postgres, 'books'), 'postgres://crawl:***@db.internal:5432/crawls?max=4 (schema crawljar_books)');
		assert.equal(describeLocation({kind: 'sqlite', dir: 'data'}), path.resolve('data'));
		assert.equal(describeCrawlerStore({kind: 'sqlite', dir: 'data'}, 'books'), path.join('data', 'books.sqlite'));
		assert.equal(locationFlags({store: pgUrl}), ' --store postgres://crawl:***@db.internal:5432/crawls?max=4');
		assert.equal(locationFlags({storage: 'data'}), ' --storage data');
		assert.equal(locationFlags({}), '');
	});
});
