// Encryption at rest for persisted sessions (issue 3 item 6): AES-256-GCM from node:crypto.
// The key never lives in the storage folder, so a copied or leaked storage folder (database
// included) is useless without it: it comes from CRAWLJAR_SECRET, else from a key file under
// the user's config directory, generated on first use with mode 0600.
import {createCipheriv, createDecipheriv, randomBytes, scryptSync} from 'node:crypto';
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {homedir} from 'node:os';
import {dirname, join, relative, resolve, isAbsolute} from 'node:path';
import {CrawljarError} from '../errors.js';

const VERSION = 'v1';
const IV_BYTES = 12;
const KEY_BYTES = 32;
// A fixed salt is fine here: the salt only has to separate crawljar's derivation from other
// uses of the same passphrase; CRAWLJAR_SECRET is expected to be a strong random string.
const SCRYPT_SALT = 'crawljar/session-key/v1';
const HEX_KEY = /^[0-9a-f]{64}$/i;

/** Encrypts to `v1.<iv>.<tag>.<ciphertext>` (base64url). `aad` binds the blob to a context (the session id). */
export function encrypt(plaintext: string, key: Buffer, aad?: string): string {
	const iv = randomBytes(IV_BYTES);
	const cipher = createCipheriv('aes-256-gcm', checkKey(key), iv);
	if (aad !== undefined) cipher.setAAD(Buffer.from(aad, 'utf8'));
	const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
	const tag = cipher.getAuthTag();
	return [VERSION, iv.toString('base64url'), tag.toString('base64url'), ciphertext.toString('base64url')].join('.');
}

/** The inverse of `encrypt`; a wrong key, a wrong `aad` or a tampered blob throws ERR_CRYPTO. */
export function decrypt(blob: string, key: Buffer, aad?: string): string {
	const parts = blob.split('.');
	if (parts.length !== 4 || parts[0] !== VERSION) {
		throw new CrawljarError('ERR_CRYPTO', `cannot decrypt stored sessions: unknown format (expected ${VERSION})`);
	}
	const [, iv, tag, ciphertext] = parts as [string, string, string, string];
	try {
		const decipher = createDecipheriv('aes-256-gcm', checkKey(key), Buffer.from(iv, 'base64url'));
		if (aad !== undefined) decipher.setAAD(Buffer.from(aad, 'utf8'));
		decipher.setAuthTag(Buffer.from(tag, 'base64url'));
		return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
	} catch (error) {
		throw new CrawljarError(
			'ERR_CRYPTO',
			'cannot decrypt stored sessions: CRAWLJAR_SECRET or the key file changed since they were saved (or the data was tampered with)',
			{cause: error},
		);
	}
}

function checkKey(key: Buffer): Buffer {
	if (key.length !== KEY_BYTES) throw new TypeError(`Expected a ${KEY_BYTES}-byte key, got ${key.length} bytes`);
	return key;
}

export interface ResolveKeyOptions {
	/** The storage folder: the key file must not be inside it. */
	readonly storageDir?: string;
	/** @default process.env */
	readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface ResolvedKey {
	readonly key: Buffer;
	/** Where it came from: `env` (CRAWLJAR_SECRET) or `file`. */
	readonly source: 'env' | 'file';
	/** The key file, when source is `file`. */
	readonly file?: string;
	/** True when the key file was generated just now (tell the user where it is). */
	readonly created: boolean;
}

/**
 * The session encryption key:
 * 1. `CRAWLJAR_SECRET`: 64 hex characters are used as the key itself; any other string is
 *    stretched with scrypt.
 * 2. else the key file `CRAWLJAR_SECRET_FILE`, default `$XDG_CONFIG_HOME/crawljar/secret.key`
 *    (`~/.config/crawljar/secret.key`), generated (mode 0600, folder 0700) when missing.
 * Moving to another machine: copy the key file (or set the same CRAWLJAR_SECRET) along with the storage.
 * A key file inside `storageDir` is refused: the key must not travel with the data it protects.
 */
export function resolveKey(options: ResolveKeyOptions = {}): Buffer {
	return resolveKeyWithSource(options).key;
}

/** `resolveKey`, telling where the key came from (the CLI says so when it generated a key file). */
export function resolveKeyWithSource(options: ResolveKeyOptions = {}): ResolvedKey {
	const env = options.env ?? process.env;
	const secret = env.CRAWLJAR_SECRET;
	if (secret !== undefined && secret !== '') {
		return {key: keyFromSecret(secret), source: 'env', created: false};
	}
	const file = keyFilePath(env);
	if (options.storageDir !== undefined && isInside(file, options.storageDir)) {
		throw new CrawljarError(
			'ERR_CRYPTO',
			`the key file ${file} is inside the storage folder: a copy of the folder would carry its own key; move it (CRAWLJAR_SECRET_FILE) or set CRAWLJAR_SECRET`,
		);
	}
	const existing = readKeyFile(file);
	if (existing) return {key: existing, source: 'file', file, created: false};
	mkdirSync(dirname(file), {recursive: true, mode: 0o700});
	const key = randomBytes(KEY_BYTES);
	try {
		// 'wx': two processes starting at once must not each write their own key.
		writeFileSync(file, `${key.toString('hex')}\n`, {mode: 0o600, flag: 'wx'});
	} catch (error) {
		if ((error as {code?: string}).code !== 'EEXIST') {
			throw new CrawljarError('ERR_CRYPTO', `cannot create the key file ${file}`, {cause: error});
		}
		const raced = readKeyFile(file);
		if (raced) return {key: raced, source: 'file', file, created: false};
	}
	return {key, source: 'file', file, created: true};
}

export function keyFromSecret(secret: string): Buffer {
	if (HEX_KEY.test(secret)) return Buffer.from(secret, 'hex');
	return scryptSync(secret, SCRYPT_SALT, KEY_BYTES);
}

export function keyFilePath(env: Readonly<Record<string, string | undefined>>): string {
	if (env.CRAWLJAR_SECRET_FILE) return resolve(env.CRAWLJAR_SECRET_FILE);
	const configHome = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
	return join(configHome, 'crawljar', 'secret.key');
}

function readKeyFile(file: string): Buffer | undefined {
	let text: string;
	try {
		text = readFileSync(file, 'utf8').trim();
	} catch (error) {
		if ((error as {code?: string}).code === 'ENOENT') return undefined;
		throw new CrawljarError('ERR_CRYPTO', `cannot read the key file ${file}`, {cause: error});
	}
	if (!HEX_KEY.test(text)) {
		throw new CrawljarError('ERR_CRYPTO', `the key file ${file} is malformed: expected 64 hex characters`);
	}
	return Buffer.from(text, 'hex');
}

function isInside(file: string, dir: string): boolean {
	const rel = relative(resolve(dir), resolve(file));
	return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}
