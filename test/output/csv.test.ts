import assert from 'node:assert/strict';
import {test} from 'node:test';
import {csvCell, csvRecord, flattenItem} from '../../src/output/csv.js';
import {parseCsv} from './csv-parse.js';

test('csvCell quotes commas, quotes, CR and LF with doubled quotes', () => {
	assert.equal(csvCell('plain'), 'plain');
	assert.equal(csvCell('a,b'), '"a,b"');
	assert.equal(csvCell('say "hi"'), '"say ""hi"""');
	assert.equal(csvCell('line1\nline2'), '"line1\nline2"');
	assert.equal(csvCell('a\rb'), '"a\rb"');
	assert.equal(csvCell('a\r\nb'), '"a\r\nb"');
	assert.equal(csvCell('"'), '""""');
	assert.equal(csvCell(''), '');
});

test('csvCell keeps unicode untouched', () => {
	assert.equal(csvCell('naïve café 東京 🕷️'), 'naïve café 東京 🕷️');
	assert.equal(csvCell('東京,大阪'), '"東京,大阪"');
});

test('csvCell prefixes formula-like strings with an apostrophe', () => {
	assert.equal(csvCell('=HYPERLINK("http://evil")'), '"\'=HYPERLINK(""http://evil"")"');
	assert.equal(csvCell('+1 555'), "'+1 555");
	assert.equal(csvCell('-2+3'), "'-2+3");
	assert.equal(csvCell('@SUM(A1)'), "'@SUM(A1)");
	assert.equal(csvCell('\t=1'), "'\t=1");
	assert.equal(csvCell('\r=1'), '"\'\r=1"');
	// Only the leading character matters; numbers are numbers, not text.
	assert.equal(csvCell('a=b'), 'a=b');
	assert.equal(csvCell(-5), '-5');
	assert.equal(csvCell(1.5e-7), '1.5e-7');
});

test('csvCell renders null, undefined, booleans, dates, arrays and objects', () => {
	assert.equal(csvCell(null), '');
	assert.equal(csvCell(undefined), '');
	assert.equal(csvCell(true), 'true');
	assert.equal(csvCell(false), 'false');
	assert.equal(csvCell(0), '0');
	assert.equal(csvCell(12n), '12');
	assert.equal(csvCell(new Date('2026-08-01T10:00:00Z')), '2026-08-01T10:00:00.000Z');
	assert.equal(csvCell(new Date(Number.NaN)), '');
	assert.equal(csvCell(['a', 'b']), '"[""a"",""b""]"');
	assert.equal(csvCell([1, 2]), '"[1,2]"');
	assert.equal(csvCell([]), '[]');
	assert.equal(csvCell({}), '{}');
	assert.equal(csvCell(() => 1), '');
});

test('flattenItem flattens nested objects to dotted columns and keeps arrays whole', () => {
	const row = flattenItem({a: 1, b: {c: {d: 'x'}, e: null}, tags: ['t1', 't2'], list: [{k: 1}], empty: {}});
	assert.deepEqual([...row], [
		['a', 1],
		['b.c.d', 'x'],
		['b.e', null],
		['tags', ['t1', 't2']],
		['list', [{k: 1}]],
		['empty', {}],
	]);
});

test('flattenItem puts primitives, arrays and null in a value column', () => {
	assert.deepEqual([...flattenItem('text')], [['value', 'text']]);
	assert.deepEqual([...flattenItem(42)], [['value', 42]]);
	assert.deepEqual([...flattenItem(null)], [['value', null]]);
	assert.deepEqual([...flattenItem([1, 2])], [['value', [1, 2]]]);
	const date = new Date(0);
	assert.deepEqual([...flattenItem(date)], [['value', date]]);
});

test('csvRecord round-trips awkward values through an RFC 4180 reader', () => {
	const values = ['a,b', 'q"uote', 'multi\nline', 'cr\ronly', 'crlf\r\nx', '', 'ünï', ' spaced '];
	const text = csvRecord(values) + csvRecord(['x', 'y']);
	assert.ok(text.endsWith('\r\n'));
	assert.deepEqual(parseCsv(text), [values, ['x', 'y']]);
});
