// Plain aligned text tables for `sessions ls`, `failed`, `stats`, `status` and the run summary:
// two spaces between columns, no borders, no trailing spaces, so output greps and diffs well.
import {toDisplayText} from './format.js';

export interface TableColumn {
	readonly key: string;
	/** @default key */
	readonly header?: string;
	/** @default 'right' when every non-empty value of the column is a number, else 'left' */
	readonly align?: 'left' | 'right';
	/** Turns the cell value into text. @default see formatCell */
	readonly format?: (value: unknown, row: Readonly<Record<string, unknown>>) => string;
	/** Longer cells are cut with `…` (long URLs, error messages). @default no limit */
	readonly maxWidth?: number;
}

/** Default cell text: nothing for null/undefined, ISO for dates, JSON for objects and arrays. */
export function formatCell(value: unknown): string {
	if (value === null || value === undefined) return '';
	if (value instanceof Date) return Number.isNaN(value.getTime()) ? '' : value.toISOString();
	if (typeof value === 'object') return JSON.stringify(value) ?? '';
	return String(value);
}

function truncate(text: string, maxWidth: number | undefined): string {
	if (maxWidth === undefined || text.length <= maxWidth) return text;
	return maxWidth <= 1 ? '…'.slice(0, maxWidth) : `${text.slice(0, maxWidth - 1)}…`;
}

function keysOf(rows: ReadonlyArray<Readonly<Record<string, unknown>>>): string[] {
	const keys = new Set<string>();
	for (const row of rows) for (const key of Object.keys(row)) keys.add(key);
	return [...keys];
}

/**
 * Formats rows as an aligned table with a header line. Columns default to the union of the
 * rows' keys in first-seen order. No rows and no columns → `''`; no rows → the header only.
 * Widths count UTF-16 units, so wide (CJK, emoji) characters can misalign a column.
 */
export function formatTable(
	rows: ReadonlyArray<Readonly<Record<string, unknown>>>,
	columns?: ReadonlyArray<string | TableColumn>,
): string {
	const specs: TableColumn[] = (columns ?? keysOf(rows)).map((column) => (typeof column === 'string' ? {key: column} : column));
	if (specs.length === 0) return '';
	const table = specs.map((spec) => {
		const format = spec.format ?? formatCell;
		const cells = rows.map((row) => truncate(toDisplayText(format(row[spec.key], row)), spec.maxWidth));
		const isNumeric = rows.some((row) => row[spec.key] !== null && row[spec.key] !== undefined) &&
			rows.every((row) => {
				const value = row[spec.key];
				return value === null || value === undefined || typeof value === 'number' || typeof value === 'bigint';
			});
		const header = toDisplayText(spec.header ?? spec.key);
		const width = Math.max(header.length, ...cells.map((cell) => cell.length));
		return {header, cells, width, alignRight: (spec.align ?? (isNumeric ? 'right' : 'left')) === 'right'};
	});
	const line = (cellAt: (column: (typeof table)[number]) => string): string =>
		table
			.map((column) => {
				const text = cellAt(column);
				return column.alignRight ? text.padStart(column.width) : text.padEnd(column.width);
			})
			.join('  ')
			.trimEnd();
	const lines = [line((column) => column.header)];
	for (let index = 0; index < rows.length; index++) lines.push(line((column) => column.cells[index] ?? ''));
	return lines.join('\n');
}
