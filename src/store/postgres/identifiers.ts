// SQL identifier quoting without loading pg (the PostgreSQL driver is loaded only when a
// PostgreSQL store is opened, so SQLite users never pay its start-up cost).

/** `"name"`, with embedded quotes doubled (what pg.escapeIdentifier does). */
export function quoteIdentifier(name: string): string {
	return `"${name.replace(/"/g, '""')}"`;
}
