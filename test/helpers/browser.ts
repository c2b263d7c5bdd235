// Tests in a real browser: the system Chromium (CRAWLJAR_CHROMIUM or the PATH). Outside CI a
// machine without one skips these tests and says why; with CI=1 they fail instead.
import {readdirSync, readFileSync} from 'node:fs';
import type {TestContext} from 'node:test';
import {CHROMIUM_INSTALL_HINT, findChromium} from '../../src/browser/chromium-path.js';

/** The Chromium executable, or undefined after marking the test skipped (outside CI only). */
export function chromiumOrSkip(t: TestContext): string | undefined {
	const found = findChromium();
	if (found) return found;
	if (process.env.CI) throw new Error(`CI must run the browser tests, but no Chromium was found: ${CHROMIUM_INSTALL_HINT}`);
	t.skip(`no Chromium found: browser test skipped (${CHROMIUM_INSTALL_HINT})`);
	return undefined;
}

/** Live Chromium processes descended from this process (read from /proc: no ps needed). */
export function chromiumDescendants(root = process.pid): Array<{pid: number; command: string}> {
	const parents = new Map<number, number>();
	const commands = new Map<number, string>();
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
			// Field 2 (the name) is in parentheses and may hold spaces: read after the last ')'.
			const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
			if (fields[0] === 'Z') continue;
			parents.set(Number(entry), Number(fields[1]));
			commands.set(Number(entry), readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim());
		} catch {
			// The process ended while we read it.
		}
	}
	const isDescendant = (pid: number): boolean => {
		for (let current = parents.get(pid), hops = 0; current !== undefined && hops < 64; current = parents.get(current), hops++) {
			if (current === root) return true;
		}
		return false;
	};
	return [...commands]
		.filter(([pid, command]) => /chrom/i.test(command) && isDescendant(pid))
		.map(([pid, command]) => ({pid, command: command.slice(0, 120)}));
}
