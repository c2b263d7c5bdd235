// Named statements for the hot path (lease, commit): pg prepares a named statement once per
// connection, so the server parses it once and, after a few runs, keeps a generic plan, instead
// of parsing and planning the large commit statement for every batch. Only statements whose
// result columns are listed explicitly are named: a cached `SELECT *` plan breaks when a
// migration adds a column under a long-lived connection.
import {createHash} from 'node:crypto';
import type pg from 'pg';

const names = new Map<string, string>();

/** The query with a name derived from its text (the text holds the schema, so each schema has its own). */
export function named(text: string, values: unknown[]): pg.QueryConfig {
	let name = names.get(text);
	if (name === undefined) {
		name = `crawljar_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
		names.set(text, name);
	}
	return {name, text, values};
}
