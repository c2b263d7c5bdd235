// Loading crawler definitions from files: .ts runs through tsx, so users need no build step.
import {existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import {threadId} from 'node:worker_threads';
import {register} from 'tsx/esm/api';
import {CrawljarError} from '../errors.js';
import {validateDefinition} from './schema.js';
import type {CrawlerDefinition} from './types.js';

const EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];

let isRegistered = false;

/**
 * tsx's loader, registered once for the process (not tsImport's namespace: that loads a second
 * copy of crawljar and its dependencies for every crawler file — a second to start, twice the memory).
 */
function registerTypeScript(): void {
	if (isRegistered) return;
	register();
	isRegistered = true;
}

export interface LoadedCrawler {
	readonly file: string;
	readonly definition: CrawlerDefinition;
}

/** Loads and validates one crawler file (its default export). */
export async function loadCrawlerFile(file: string): Promise<LoadedCrawler> {
	const absolute = path.resolve(file);
	if (!existsSync(absolute)) throw new CrawljarError('ERR_USAGE', `No such crawler file: ${file}`);
	const relative = path.relative(process.cwd(), absolute) || absolute;
	let module: {default?: unknown};
	const loadable = isCommonJsScope(absolute) && path.extname(absolute) === '.ts' ? esmTwinOf(absolute) : undefined;
	try {
		registerTypeScript();
		module = (await import(pathToFileURL(loadable ?? absolute).href)) as {default?: unknown};
	} catch (error) {
		const message = (error instanceof Error ? error.message : String(error)).replaceAll(loadable ?? absolute, absolute);
		throw new CrawljarError('ERR_DEFINITION', `${relative}: failed to load: ${message}`, {cause: error});
	} finally {
		if (loadable) rmSync(loadable, {force: true});
	}
	// tsx may wrap CommonJS-style output one level deeper.
	let exported = module.default;
	if (exported && typeof exported === 'object' && 'default' in exported && !('name' in exported)) {
		exported = (exported as {default: unknown}).default;
	}
	if (exported === undefined) {
		throw new CrawljarError('ERR_DEFINITION', `${relative}: no default export: export default defineCrawler({ … })`);
	}
	return {file: absolute, definition: validateDefinition(exported, relative)};
}

/**
 * A .ts file in a folder whose package.json is not `"type": "module"` (or that has none) would
 * load as CommonJS, and CommonJS cannot import crawljar's ESM dependencies. Crawler files are
 * ESM by nature (`export default`), so such a file is loaded through a temporary .mts twin
 * beside it (same folder: its imports resolve the same way), removed right after.
 */
function esmTwinOf(file: string): string {
	// Per process and thread: handler threads load the same file at the same time.
	const twin = path.join(path.dirname(file), `.${path.basename(file, '.ts')}.crawljar-${process.pid}-${threadId}.mts`);
	writeFileSync(twin, readFileSync(file));
	return twin;
}

function isCommonJsScope(file: string): boolean {
	for (let directory = path.dirname(file); ; directory = path.dirname(directory)) {
		const manifest = path.join(directory, 'package.json');
		if (existsSync(manifest)) {
			try {
				return (JSON.parse(readFileSync(manifest, 'utf8')) as {type?: string}).type !== 'module';
			} catch {
				return true;
			}
		}
		if (path.dirname(directory) === directory) return true;
	}
}

/** Crawler files in a folder (not recursive). */
export function listCrawlerFiles(directory: string): string[] {
	if (!existsSync(directory) || !statSync(directory).isDirectory()) return [];
	return readdirSync(directory)
		.filter((name) => EXTENSIONS.includes(path.extname(name)) && !name.endsWith('.d.ts') && !name.startsWith('.'))
		.sort()
		.map((name) => path.join(directory, name));
}

function looksLikePath(reference: string): boolean {
	return EXTENSIONS.includes(path.extname(reference)) || reference.includes('/') || reference.includes(path.sep);
}

/**
 * A crawler by file path, or by name among the files of `crawlersDir` (file stem first,
 * then each file's `name`). An unknown name lists the known ones.
 */
export async function resolveCrawler(reference: string, crawlersDir = 'crawlers'): Promise<LoadedCrawler> {
	if (looksLikePath(reference) || existsSync(reference)) return loadCrawlerFile(reference);
	const files = listCrawlerFiles(crawlersDir);
	const byStem = files.find((file) => path.basename(file, path.extname(file)) === reference);
	if (byStem) {
		const loaded = await loadCrawlerFile(byStem);
		if (loaded.definition.name === reference) return loaded;
	}
	const known: string[] = [];
	for (const file of files) {
		const loaded = await loadCrawlerFile(file).catch(() => undefined);
		if (!loaded) continue;
		if (loaded.definition.name === reference) return loaded;
		known.push(loaded.definition.name);
	}
	const list = known.length ? `known crawlers in ${crawlersDir}/: ${known.join(', ')}` : `no crawler files in ${crawlersDir}/`;
	throw new CrawljarError('ERR_USAGE', `Unknown crawler '${reference}' (${list}). Pass a file path to run one elsewhere.`);
}
