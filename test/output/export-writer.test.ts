import assert from 'node:assert/strict';
import {createWriteStream} from 'node:fs';
import {mkdtemp, readFile, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Writable} from 'node:stream';
import {finished} from 'node:stream/promises';
import {test} from 'node:test';
import {setFlagsFromString} from 'node:v8';
import {runInNewContext} from 'node:vm';
import {isCrawljarError} from '../../src/errors.js';
import {type ExportFormat, type WriteExportOptions, writeExport} from '../../src/output/export-writer.js';
import {parseCsv} from './csv-parse.js';

/** A Writable that keeps everything it receives, as text. */
function collector(): {stream: Writable; text: () => string} {
	const chunks: string[] = [];
	const stream = new Writable({
		decodeStrings: false,
		write(chunk: string | Buffer, _encoding, callback) {
			chunks.push(chunk.toString());
			callback();
		},
	});
	return {stream, text: () => chunks.join('')};
}

async function exportToText(items: unknown[], format: ExportFormat, options?: WriteExportOptions): Promise<{text: string; count: number}> {
	const sink = collector();
	const {count} = await writeExport(
		async function* () {
			yield* items;
		},
		format,
		sink.stream,
		options,
	);
	return {text: sink.text(), count};
}

const sample = [
	{id: 1, title: 'Hello, "world"', nested: {a: 1, b: {c: true}}, tags: ['x', 'y']},
	{id: 2, title: 'multi\nline\r\ntext', nested: {a: null}, unicode: '東京 🕷️'},
	{id: 3, empty: {}, list: [{k: 1}], value: -1.5},
];

test('writeExport jsonl writes one JSON value per line and round-trips', async () => {
	const items = [...sample, 'a string', 42, null, [1, 2]];
	const {text, count} = await exportToText(items, 'jsonl');
	assert.equal(count, items.length);
	assert.ok(text.endsWith('\n'));
	const lines = text.slice(0, -1).split('\n');
	assert.equal(lines.length, items.length);
	assert.deepEqual(lines.map((line) => JSON.parse(line) as unknown), items);
});

test('writeExport json writes an array that parses back equal to the input', async () => {
	const {text, count} = await exportToText(sample, 'json');
	assert.equal(count, sample.length);
	assert.ok(text.startsWith('[\n'));
	assert.ok(text.endsWith('\n]\n'));
	assert.equal(text.split('\n').length, sample.length + 3);
	assert.deepEqual(JSON.parse(text), sample);
});

test('writeExport json of one item', async () => {
	const {text} = await exportToText([{a: 1}], 'json');
	assert.equal(text, '[\n{"a":1}\n]\n');
});

test('writeExport writes undefined items as null so every line stays JSON', async () => {
	assert.equal((await exportToText([undefined], 'jsonl')).text, 'null\n');
	assert.deepEqual(JSON.parse((await exportToText([undefined, 1], 'json')).text), [null, 1]);
});

test('writeExport of no items: empty jsonl, [] json, empty csv', async () => {
	assert.deepEqual(await exportToText([], 'jsonl'), {text: '', count: 0});
	assert.deepEqual(await exportToText([], 'json'), {text: '[]\n', count: 0});
	assert.deepEqual(JSON.parse((await exportToText([], 'json')).text), []);
	assert.deepEqual(await exportToText([], 'csv'), {text: '', count: 0});
});

test('writeExport csv: column union in first-seen order, sparse cells empty', async () => {
	const items = [{id: 1, a: {x: 1}}, {id: 2, b: 'only here', a: {y: 2}}, {c: true}];
	const {text, count} = await exportToText(items, 'csv');
	assert.equal(count, 3);
	assert.equal(text, 'id,a.x,b,a.y,c\r\n1,1,,,\r\n2,,only here,2,\r\n,,,,true\r\n');
});

test('writeExport csv flattens nesting, JSON-encodes arrays, escapes and guards cells', async () => {
	const {text} = await exportToText(sample, 'csv');
	const [header, ...rows] = parseCsv(text);
	assert.deepEqual(header, ['id', 'title', 'nested.a', 'nested.b.c', 'tags', 'unicode', 'empty', 'list', 'value']);
	assert.deepEqual(rows, [
		['1', 'Hello, "world"', '1', 'true', '["x","y"]', '', '', '', ''],
		['2', 'multi\nline\r\ntext', '', '', '', '東京 🕷️', '', '', ''],
		['3', '', '', '', '', '', '{}', '[{"k":1}]', '-1.5'],
	]);
	const guarded = await exportToText([{formula: '=1+1', at: '@x', plus: '+x', minus: '-x'}], 'csv');
	assert.equal(guarded.text, "formula,at,plus,minus\r\n'=1+1,'@x,'+x,'-x\r\n");
});

test('writeExport csv puts primitive items in a value column and dates as ISO strings', async () => {
	const when = new Date('2026-08-01T10:00:00.000Z');
	const {text} = await exportToText(['plain', 7, null, {value: when, ok: false}], 'csv');
	assert.equal(text, 'value,ok\r\nplain,\r\n7,\r\n,\r\n2026-08-01T10:00:00.000Z,false\r\n');
});

test('writeExport reads the item source twice for csv and once otherwise', async () => {
	for (const [format, passes] of [['csv', 2], ['json', 1], ['jsonl', 1]] as const) {
		let calls = 0;
		const {stream} = collector();
		await writeExport(() => {
			calls++;
			return [{a: 1}];
		}, format, stream);
		assert.equal(calls, passes, format);
	}
});

test('writeExport output does not depend on the chunk size', async () => {
	const items = Array.from({length: 500}, (_, index) => ({index, text: 'x'.repeat(index % 37)}));
	for (const format of ['jsonl', 'json', 'csv'] as const) {
		const small = await exportToText(items, format, {chunkBytes: 1});
		const large = await exportToText(items, format);
		assert.equal(small.text, large.text, format);
		assert.equal(small.count, 500);
	}
});

test('writeExport waits for drain: a slow highWaterMark-1 stream gets everything, in order', async () => {
	const total = 300;
	let produced = 0;
	let received = 0;
	let maxAhead = 0;
	let drains = 0;
	const lines: string[] = [];
	const slow = new Writable({
		highWaterMark: 1,
		decodeStrings: false,
		write(chunk: string, _encoding, callback) {
			lines.push(chunk);
			received++;
			// Delay the callback so the stream's buffer stays full while the writer runs.
			setImmediate(callback);
		},
	});
	slow.on('drain', () => drains++);
	const {count} = await writeExport(
		async function* () {
			for (let index = 0; index < total; index++) {
				maxAhead = Math.max(maxAhead, produced - received);
				produced++;
				yield {index};
			}
		},
		'jsonl',
		slow,
		{chunkBytes: 1},
	);
	assert.equal(count, total);
	assert.deepEqual(lines, Array.from({length: total}, (_, index) => `{"index":${index}}\n`));
	// Without backpressure the generator would run ahead by hundreds of items.
	assert.ok(maxAhead <= 2, `producer ran ${maxAhead} items ahead of the stream`);
	assert.ok(drains >= total - 1, `only ${drains} drains`);
});

test('writeExport to a file stream produces a valid JSON file', async (t) => {
	const folder = await mkdtemp(join(tmpdir(), 'crawljar-export-'));
	t.after(() => rm(folder, {recursive: true, force: true}));
	const path = join(folder, 'items.json');
	const file = createWriteStream(path);
	const items = Array.from({length: 5000}, (_, index) => ({index, url: `https://example.com/p/${index}`}));
	const {count} = await writeExport(() => items, 'json', file, {chunkBytes: 4096});
	file.end();
	await finished(file);
	assert.equal(count, items.length);
	assert.deepEqual(JSON.parse(await readFile(path, 'utf8')), items);
});

test('writeExport rejects with the stream error and detaches its listener', async () => {
	const failing = new Writable({
		write(_chunk, _encoding, callback) {
			callback(Object.assign(new Error('broken pipe'), {code: 'EPIPE'}));
		},
	});
	await assert.rejects(
		writeExport(() => Array.from({length: 100}, (_, index) => ({index})), 'jsonl', failing, {chunkBytes: 1}),
		{code: 'EPIPE'},
	);
	assert.equal(failing.listenerCount('error'), 0);
});

test('writeExport rejects when the output is destroyed mid-export', async () => {
	const closing = new Writable({
		highWaterMark: 1,
		write(_chunk, _encoding, callback) {
			setImmediate(() => {
				closing.destroy();
				callback();
			});
		},
	});
	await assert.rejects(
		writeExport(() => Array.from({length: 100}, (_, index) => ({index})), 'jsonl', closing, {chunkBytes: 1}),
		{code: 'ERR_STREAM_PREMATURE_CLOSE'},
	);
});

test('writeExport passes an item source error through', async () => {
	const {stream} = collector();
	await assert.rejects(
		writeExport(async function* () {
			yield {a: 1};
			throw new Error('store went away');
		}, 'csv', stream),
		/store went away/,
	);
});

test('writeExport rejects an unknown format with ERR_USAGE', async () => {
	const {stream} = collector();
	await assert.rejects(writeExport(() => [], 'xml' as ExportFormat, stream), (error: unknown) => {
		assert.ok(isCrawljarError(error));
		assert.equal(error.code, 'ERR_USAGE');
		return true;
	});
	await assert.rejects(writeExport(() => [], 'toString' as ExportFormat, stream), {code: 'ERR_USAGE'});
});

test('writeExport of 200,000 items keeps live heap bounded', {timeout: 60_000}, async () => {
	setFlagsFromString('--expose-gc');
	const gc = runInNewContext('gc') as () => void;
	const total = 200_000;
	// ~400 bytes per item: holding the items or the output would cost 70+ MB.
	const filler = 'lorem ipsum dolor sit amet '.repeat(12);
	for (const format of ['jsonl', 'csv'] as const) {
		let bytes = 0;
		let newlines = 0;
		const sink = new Writable({
			decodeStrings: false,
			write(chunk: string, _encoding, callback) {
				bytes += chunk.length;
				for (let at = chunk.indexOf('\n'); at !== -1; at = chunk.indexOf('\n', at + 1)) newlines++;
				callback();
			},
		});
		gc();
		const baseline = process.memoryUsage().heapUsed;
		let peakGrowth = 0;
		const {count} = await writeExport(
			async function* () {
				for (let index = 0; index < total; index++) {
					if (index % 50_000 === 49_999) {
						gc();
						peakGrowth = Math.max(peakGrowth, process.memoryUsage().heapUsed - baseline);
					}
					yield {index, url: `https://example.com/items/${index}`, meta: {filler, rank: index % 97}, tags: ['a', 'b']};
				}
			},
			format,
			sink,
		);
		assert.equal(count, total);
		assert.equal(newlines, format === 'csv' ? total + 1 : total);
		assert.ok(bytes > 70 * 1024 * 1024, `${format}: only ${bytes} characters written`);
		assert.ok(peakGrowth < 24 * 1024 * 1024, `${format}: live heap grew by ${Math.round(peakGrowth / 1024 / 1024)} MB`);
	}
});
