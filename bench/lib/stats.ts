// Small statistics and table helpers for the bench report.

export function median(values: readonly number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	const middle = Math.floor(sorted.length / 2);
	return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export interface Spread {
	readonly median: number;
	readonly min: number;
	readonly max: number;
}

export function spread(values: readonly number[]): Spread {
	return {median: median(values), min: Math.min(...values), max: Math.max(...values)};
}

export function round(value: number, digits = 2): number {
	const factor = 10 ** digits;
	return Math.round(value * factor) / factor;
}

/** Left-aligned first column, right-aligned others. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
	const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length)));
	const line = (row: readonly string[]) =>
		row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
	return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}
