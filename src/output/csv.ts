// CSV cells and rows for `crawljar export --format csv` (RFC 4180, CRLF line ends).
//
// Decisions users see in a spreadsheet:
// - Nested objects flatten to dotted columns (`{a: {b: 1}}` → column `a.b`). A key that itself
//   contains a dot is not escaped, so `{'a.b': 1}` and `{a: {b: 1}}` share a column.
// - Arrays are NOT exploded into `tags.0`, `tags.1`, … columns: the column set would depend on
//   the longest array ever seen, and one list would be spread over many cells. An array is one
//   cell holding its JSON (`["a","b"]`), which a spreadsheet shows as-is and a program can parse.
// - An empty nested object is a cell holding `{}`, so the field is not silently lost.
// - A top-level primitive (or array) item becomes a row with a single `value` column.
// - Strings starting with `=`, `+`, `-`, `@`, tab or CR get a leading `'` so that Excel, Sheets
//   and LibreOffice show them as text instead of evaluating a formula (CSV injection: scraped
//   text is attacker-controlled). Numbers are written as-is, so `-5` stays a number.

/** The column name of items that are not objects. */
export const valueColumn = 'value';

type Row = Map<string, unknown>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
	if (typeof value !== 'object' || value === null) return false;
	const prototype = Object.getPrototypeOf(value) as unknown;
	return prototype === Object.prototype || prototype === null;
}

function flattenInto(object: Record<string, unknown>, prefix: string, row: Row): void {
	for (const key of Object.keys(object)) {
		const value = object[key];
		const path = prefix === '' ? key : `${prefix}.${key}`;
		if (isPlainObject(value) && Object.keys(value).length > 0) flattenInto(value, path, row);
		else row.set(path, value);
	}
}

/** Flattens one item into `column → leaf value`, columns in the item's key order. */
export function flattenItem(item: unknown): Row {
	const row: Row = new Map();
	if (isPlainObject(item)) flattenInto(item, '', row);
	else row.set(valueColumn, item);
	return row;
}

const formulaStart = /^[=+\-@\t\r]/;
const needsQuotes = /[",\r\n]/;

function cellText(value: unknown): string {
	switch (typeof value) {
		case 'string':
			return formulaStart.test(value) ? `'${value}` : value;
		case 'number':
		case 'boolean':
		case 'bigint':
			return String(value);
		case 'object':
			if (value === null) return '';
			if (value instanceof Date) return Number.isNaN(value.getTime()) ? '' : value.toISOString();
			// Arrays, empty objects, class instances: their JSON (which never starts with a formula character).
			return JSON.stringify(value) ?? '';
		default:
			// undefined, functions, symbols: nothing JSON would keep either.
			return '';
	}
}

/** One RFC 4180 cell: text, quoted with doubled quotes when it holds a comma, quote, CR or LF. */
export function csvCell(value: unknown): string {
	const text = cellText(value);
	return needsQuotes.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV record, CRLF-terminated. The header is one too: keys can come from scraped data. */
export function csvRecord(cells: readonly unknown[]): string {
	return `${cells.map(csvCell).join(',')}\r\n`;
}

