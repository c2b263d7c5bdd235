// Small helpers around a Playwright page: a deadline for user steps, secret-free error text,
// and a screenshot that cannot show what was typed.
import {chmodSync, mkdirSync} from 'node:fs';
import path from 'node:path';
import type {Page} from 'playwright-core';
import {CrawljarError} from '../errors.js';

/** Runs `work`, or rejects with ERR_BROWSER after `limitMs` (the abandoned steps end with the browser). */
export async function withDeadline<T>(limitMs: number, what: string, work: () => Promise<T>): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const running = work();
	running.catch(() => {});
	const expired = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new CrawljarError('ERR_BROWSER', `${what} did not finish within ${limitMs} ms`)), limitMs);
		timer.unref();
	});
	try {
		return await Promise.race([running, expired]);
	} finally {
		clearTimeout(timer);
	}
}

/** `text` with every secret replaced by `***` (a Playwright call log may echo a filled value). */
export function redactSecrets(text: string, secrets: readonly string[]): string {
	let result = text;
	for (const secret of secrets) if (secret.length >= 3) result = result.replaceAll(secret, '***');
	return result;
}

/** The first `count` non-empty lines, without terminal colour codes. */
export function firstLines(text: string, count: number): string {
	return text
		// eslint-disable-next-line no-control-regex
		.replace(/\u001b\[[0-9;]*m/g, '')
		.split('\n')
		.map((line) => line.trim())
		.filter(Boolean)
		.slice(0, count)
		.join(' ');
}

// Run in the page (a string: this project compiles without the DOM types).
const EMPTY_FIELDS = `for (const field of document.querySelectorAll('input, textarea')) {
	if (!['hidden', 'submit', 'button', 'checkbox', 'radio', 'image', 'reset'].includes(field.type)) field.value = '';
}`;

/**
 * A screenshot of the page as it is, after emptying every text field of every frame (passwords,
 * codes, user names): it shows the error page, never what was typed. Returns its path, or
 * undefined when the page could not be captured (it crashed, or no folder was given).
 */
export async function screenshotWithoutInput(page: Page, storageDir: string | undefined, name: string): Promise<string | undefined> {
	const folder = path.join(storageDir ?? process.env.CRAWLJAR_STORAGE ?? './storage', 'screenshots');
	const file = path.join(folder, `login-${name.replace(/[^A-Za-z0-9_.-]/g, '_')}-${new Date().toISOString().replace(/[:.]/g, '-')}.png`);
	try {
		for (const frame of page.frames()) {
			await frame
				.evaluate(EMPTY_FIELDS)
				.catch(() => {});
		}
		mkdirSync(folder, {recursive: true, mode: 0o700});
		await page.screenshot({path: file, timeout: 5_000});
		chmodSync(file, 0o600);
		return file;
	} catch {
		return undefined;
	}
}
