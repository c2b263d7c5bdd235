// A minimal RFC 4180 reader, for tests only: checks that what the writer quotes reads back.
export function parseCsv(text: string): string[][] {
	const records: string[][] = [];
	let record: string[] = [];
	let cell = '';
	let index = 0;
	while (index < text.length) {
		const character = text[index]!;
		if (character === '"' && cell === '') {
			index++;
			for (;;) {
				const next = text[index];
				if (next === undefined) throw new Error('unterminated quoted cell');
				if (next === '"') {
					if (text[index + 1] === '"') {
						cell += '"';
						index += 2;
						continue;
					}
					index++;
					break;
				}
				cell += next;
				index++;
			}
			continue;
		}
		if (character === ',') {
			record.push(cell);
			cell = '';
			index++;
			continue;
		}
		if (character === '\r' && text[index + 1] === '\n') {
			record.push(cell);
			records.push(record);
			record = [];
			cell = '';
			index += 2;
			continue;
		}
		if (character === '\r' || character === '\n' || character === '"') {
			throw new Error(`unquoted ${JSON.stringify(character)} at ${index}`);
		}
		cell += character;
		index++;
	}
	if (cell !== '' || record.length > 0) throw new Error('last record not CRLF-terminated');
	return records;
}
