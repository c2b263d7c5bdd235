// Argument parsing shared by the commands: node:util parseArgs with strict checking, so an
// unknown flag is an error (exit 2) rather than silently ignored.
import {parseArgs, type ParseArgsConfig} from 'node:util';
import {CrawljarError} from '../errors.js';

export type Flags = NonNullable<ParseArgsConfig['options']>;

export interface Command {
	readonly name: string;
	readonly summary: string;
	readonly usage: string;
	readonly flags: Flags;
	readonly help: string;
}

export interface ParsedCommand {
	readonly values: Readonly<Record<string, string | boolean | undefined>>;
	readonly positionals: readonly string[];
}

export function parseCommand(command: Command, argv: readonly string[]): ParsedCommand {
	try {
		const {values, positionals} = parseArgs({
			args: [...argv],
			options: {...command.flags, help: {type: 'boolean', short: 'h'}},
			allowPositionals: true,
			strict: true,
		});
		return {values: values as ParsedCommand['values'], positionals};
	} catch (error) {
		throw new CrawljarError('ERR_USAGE', `${(error as Error).message}\nusage: ${command.usage}`);
	}
}

export function helpText(command: Command): string {
	return `usage: ${command.usage}\n\n${command.summary}\n\n${command.help.trim()}\n`;
}

export function positiveInt(value: string | undefined, flag: string): number | undefined {
	if (value === undefined) return undefined;
	const number = Number(value);
	if (!Number.isInteger(number) || number <= 0) throw new CrawljarError('ERR_USAGE', `${flag} expects a positive integer, got '${value}'`);
	return number;
}
