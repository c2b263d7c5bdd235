// Streams a run's items out as JSON Lines, a JSON array or CSV in bounded memory: items are
// pulled one at a time, serialized into a chunk of about `chunkBytes`, and the next chunk waits
// for 'drain' when the output pushes back. A million-item export never holds the items.
import {CrawljarError} from '../errors.js';
import {csvRecord, flattenItem} from './csv.js';

export type ExportFormat = 'jsonl' | 'json' | 'csv';

export const exportFormats: readonly ExportFormat[] = ['jsonl', 'json', 'csv'];

/**
 * Re-creates the item sequence. CSV reads it twice: a first pass collects the columns (the
 * union of every item's flattened keys, in first-seen order), a second pass writes the rows.
 * Items added between the passes (export of a live run) are written, but a column that only
 * they carry is dropped.
 */
export type ItemSource = () => AsyncIterable<unknown> | Iterable<unknown>;

export interface WriteExportOptions {
	/** Bytes (UTF-16 units) gathered before one `write()`: one write per item would dominate the cost. @default 65_536 */
	readonly chunkBytes?: number;
}

export interface ExportResult {
	/** Items written (rows, for CSV; the header is not counted). */
	readonly count: number;
}

type Output = NodeJS.WritableStream & {readonly destroyed?: boolean};

const defaultChunkBytes = 64 * 1024;

/** Buffers text and hands it to `out` in chunks, honouring backpressure and surfacing stream errors. */
class ChunkedWriter {
	readonly #out: Output;
	readonly #chunkBytes: number;
	#parts: string[] = [];
	#size = 0;
	#error: unknown;
	readonly #onError = (error: unknown): void => {
		this.#error ??= error;
	};

	constructor(out: Output, chunkBytes: number) {
		this.#out = out;
		this.#chunkBytes = chunkBytes;
		// Without a listener an EPIPE (`crawljar export | head`) would crash the process.
		out.on('error', this.#onError);
	}

	async write(text: string): Promise<void> {
		this.#parts.push(text);
		this.#size += text.length;
		if (this.#size >= this.#chunkBytes) await this.flush();
	}

	async flush(): Promise<void> {
		this.#throwIfFailed();
		if (this.#parts.length === 0) return;
		const chunk = this.#parts.length === 1 ? this.#parts[0]! : this.#parts.join('');
		this.#parts = [];
		this.#size = 0;
		if (!this.#out.write(chunk)) await this.#drain();
		this.#throwIfFailed();
	}

	dispose(): void {
		this.#out.off('error', this.#onError);
	}

	#throwIfFailed(): void {
		if (this.#error !== undefined) throw this.#error;
		if (this.#out.destroyed === true) throw prematureClose();
	}

	#drain(): Promise<void> {
		const out = this.#out;
		return new Promise((resolve, reject) => {
			const settle = (error?: unknown): void => {
				out.off('drain', onDrain);
				out.off('error', onError);
				out.off('close', onClose);
				if (error === undefined) resolve();
				else reject(error);
			};
			const onDrain = (): void => settle();
			const onError = (error: unknown): void => settle(error);
			const onClose = (): void => settle(this.#error ?? prematureClose());
			out.on('drain', onDrain);
			out.on('error', onError);
			out.on('close', onClose);
		});
	}
}

function prematureClose(): Error {
	// Node's own code for this (stream.finished uses it); crawljar has no output error code.
	return Object.assign(new Error('The export output closed before all items were written'), {
		code: 'ERR_STREAM_PREMATURE_CLOSE',
	});
}

// JSON.stringify returns undefined for undefined, functions and symbols; a line must still be JSON.
function toJson(item: unknown): string {
	return JSON.stringify(item) ?? 'null';
}

async function writeJsonLines(items: ItemSource, writer: ChunkedWriter): Promise<number> {
	let count = 0;
	for await (const item of items()) {
		await writer.write(`${toJson(item)}\n`);
		count++;
	}
	return count;
}

async function writeJsonArray(items: ItemSource, writer: ChunkedWriter): Promise<number> {
	let count = 0;
	for await (const item of items()) {
		await writer.write(`${count === 0 ? '[\n' : ',\n'}${toJson(item)}`);
		count++;
	}
	await writer.write(count === 0 ? '[]\n' : '\n]\n');
	return count;
}

async function writeCsv(items: ItemSource, writer: ChunkedWriter): Promise<number> {
	const columns = new Set<string>();
	for await (const item of items()) {
		for (const column of flattenItem(item).keys()) columns.add(column);
	}
	// No items means no columns: an empty file, not a header-less blank line.
	if (columns.size === 0) return 0;
	const header = [...columns];
	await writer.write(csvRecord(header));
	let count = 0;
	for await (const item of items()) {
		const row = flattenItem(item);
		await writer.write(csvRecord(header.map((column) => row.get(column))));
		count++;
	}
	return count;
}

const writers = new Map<string, (items: ItemSource, writer: ChunkedWriter) => Promise<number>>([
	['jsonl', writeJsonLines],
	['json', writeJsonArray],
	['csv', writeCsv],
]);

/**
 * Writes every item to `out` in `format` and resolves once the last chunk is accepted by the
 * stream. The stream is not ended: `out` may be stdout. A stream error rejects the promise.
 *
 * - `jsonl`: one compact JSON value per line.
 * - `json`: a JSON array, one item per line (`[\n` … `,\n` … `\n]\n`; no items: `[]\n`).
 * - `csv`: see csv.ts for flattening, arrays and formula guarding. No items: empty output.
 */
export async function writeExport(
	items: ItemSource,
	format: ExportFormat,
	out: NodeJS.WritableStream,
	options: WriteExportOptions = {},
): Promise<ExportResult> {
	const writeItems = writers.get(format);
	if (writeItems === undefined) {
		throw new CrawljarError('ERR_USAGE', `Unknown export format "${String(format)}" (expected ${exportFormats.join(', ')})`);
	}
	const writer = new ChunkedWriter(out, options.chunkBytes ?? defaultChunkBytes);
	try {
		const count = await writeItems(items, writer);
		await writer.flush();
		return {count};
	} finally {
		writer.dispose();
	}
}
