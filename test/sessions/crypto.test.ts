import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, describe, test} from 'node:test';
import {decrypt, encrypt, keyFilePath, resolveKey, resolveKeyWithSource} from '../../src/sessions/crypto.js';
import {testKey} from './helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crawljar-crypto-'));
after(() => fs.rmSync(tmp, {recursive: true, force: true}));

const isCryptoError = (error: unknown) => (error as {code?: string}).code === 'ERR_CRYPTO';

describe('encrypt / decrypt', () => {
	test('round-trips in the versioned v1.<iv>.<tag>.<ciphertext> format', () => {
		const key = testKey();
		const blob = encrypt('{"sid":"VALUE"}', key, 'alice#1');
		assert.match(blob, /^v1\.[\w-]{16}\.[\w-]{22}\.[\w-]+$/);
		assert.ok(!blob.includes('VALUE'));
		assert.equal(decrypt(blob, key, 'alice#1'), '{"sid":"VALUE"}');
		assert.notEqual(encrypt('same', key), encrypt('same', key), 'a fresh IV each time');
	});

	test('a wrong key, another session id or a tampered blob throws ERR_CRYPTO naming the likely cause', () => {
		const key = testKey();
		const blob = encrypt('secret', key, 'alice#1');
		assert.throws(() => decrypt(blob, testKey(), 'alice#1'), (error) => {
			assert.ok(isCryptoError(error));
			assert.match((error as Error).message, /^cannot decrypt stored sessions: CRAWLJAR_SECRET or the key file changed/);
			return true;
		});
		assert.throws(() => decrypt(blob, key, 'bob#1'), isCryptoError);
		const parts = blob.split('.');
		const ciphertext = Buffer.from(parts[3]!, 'base64url');
		ciphertext.writeUInt8(ciphertext.readUInt8(0) ^ 1, 0);
		parts[3] = ciphertext.toString('base64url');
		assert.throws(() => decrypt(parts.join('.'), key, 'alice#1'), isCryptoError);
		assert.throws(() => decrypt('v0.a.b.c', key), isCryptoError);
		assert.throws(() => encrypt('x', Buffer.alloc(16)), TypeError);
	});
});

describe('resolveKey', () => {
	test('CRAWLJAR_SECRET: 64 hex characters are the key; any other string is stretched', () => {
		const hex = 'ab'.repeat(32);
		assert.deepEqual(resolveKey({env: {CRAWLJAR_SECRET: hex}}), Buffer.from(hex, 'hex'));
		const stretched = resolveKey({env: {CRAWLJAR_SECRET: 'correct horse battery staple'}});
		assert.equal(stretched.length, 32);
		assert.deepEqual(resolveKey({env: {CRAWLJAR_SECRET: 'correct horse battery staple'}}), stretched, 'deterministic');
		assert.notDeepEqual(resolveKey({env: {CRAWLJAR_SECRET: 'another passphrase'}}), stretched);
		assert.equal(resolveKeyWithSource({env: {CRAWLJAR_SECRET: hex}}).source, 'env');
	});

	test('else a key file under XDG_CONFIG_HOME, generated once with mode 0600 in a 0700 folder', () => {
		const env = {XDG_CONFIG_HOME: path.join(tmp, 'xdg'), HOME: path.join(tmp, 'home')};
		const file = path.join(tmp, 'xdg', 'crawljar', 'secret.key');
		assert.equal(keyFilePath(env), file);
		const first = resolveKeyWithSource({env, storageDir: path.join(tmp, 'storage')});
		assert.deepEqual({source: first.source, file: first.file, created: first.created}, {source: 'file', file, created: true});
		assert.equal(fs.statSync(file).mode & 0o777, 0o600);
		assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
		const second = resolveKeyWithSource({env});
		assert.equal(second.created, false);
		assert.deepEqual(second.key, first.key);
		assert.equal(keyFilePath({HOME: path.join(tmp, 'home')}), path.join(tmp, 'home', '.config', 'crawljar', 'secret.key'));
	});

	test('CRAWLJAR_SECRET_FILE moves the key file; inside the storage folder it is refused', () => {
		const storageDir = path.join(tmp, 'storage2');
		const file = path.join(tmp, 'elsewhere', 'k.key');
		assert.equal(resolveKey({env: {CRAWLJAR_SECRET_FILE: file}, storageDir}).length, 32);
		assert.ok(fs.existsSync(file));
		assert.throws(() => resolveKey({env: {CRAWLJAR_SECRET_FILE: path.join(storageDir, 'secret.key')}, storageDir}), (error) => {
			assert.ok(isCryptoError(error));
			assert.match((error as Error).message, /is inside the storage folder/);
			return true;
		});
	});

	test('a malformed key file is an error, not a silently new key', () => {
		const file = path.join(tmp, 'bad.key');
		fs.writeFileSync(file, 'not a key');
		assert.throws(() => resolveKey({env: {CRAWLJAR_SECRET_FILE: file}}), /malformed: expected 64 hex characters/);
	});
});
