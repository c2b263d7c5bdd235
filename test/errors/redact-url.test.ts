// Issue 14 item 7: redaction keeps what tells failures apart and drops only credentials.
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {isCredentialName, redactUrl} from '../../src/errors.js';

describe('redactUrl', () => {
	test('keeps non-secret query values, so two failures read differently', () => {
		assert.equal(redactUrl('http://127.0.0.1:8080/chain/0?to=3'), 'http://127.0.0.1:8080/chain/0?to=3');
		assert.notEqual(redactUrl('http://127.0.0.1:8080/chain/0?to=3'), redactUrl('http://127.0.0.1:8080/chain/0?to=7'));
		assert.equal(redactUrl('https://example.com/search?q=hello world&page=2&sort=asc'), 'https://example.com/search?q=hello%20world&page=2&sort=asc');
	});

	test('blanks credential-like values, drops userinfo and the fragment', () => {
		const url = 'https://user:pa55word@example.com/a?token=t0k&page=2&api_key=k3y&X-Amz-Signature=s1g&PHPSESSID=s3ss&client_secret=c5#frag';
		const redacted = redactUrl(url);
		assert.equal(redacted, 'https://example.com/a?token=…&page=2&api_key=…&X-Amz-Signature=…&PHPSESSID=…&client_secret=…');
		for (const secret of ['pa55word', 't0k', 'k3y', 's1g', 's3ss', 'c5', 'frag', 'user']) assert.ok(!redacted.includes(secret), secret);
	});

	test('a value that is itself a URL is redacted the same way', () => {
		const inner = 'http://127.0.0.1:9/next?token=in5ide&step=4';
		const redacted = redactUrl(`http://127.0.0.1:8080/redirect-out?to=${encodeURIComponent(inner)}`);
		assert.ok(!redacted.includes('in5ide'), redacted);
		assert.ok(redacted.includes('step%3D4'), redacted);
	});

	test('isCredentialName: whole names and suffixes, not words that merely contain one', () => {
		for (const name of ['token', 'access_token', 'api_key', 'apikey', 'api-key', 'key', 'secret', 'password', 'pass', 'pwd', 'sig', 'signature', 'auth', 'session', 'sessionid', 'sid', 'code', 'jwt', 'auth_token', 'JSESSIONID', 'Token']) {
			assert.equal(isCredentialName(name), true, name);
		}
		for (const name of ['to', 'q', 'page', 'id', 'keyword', 'monkey', 'bypass', 'passage', 'author', 'zipcode', 'tokenize']) {
			assert.equal(isCredentialName(name), false, name);
		}
	});

	test('an invalid URL is not echoed', () => {
		assert.equal(redactUrl('not a url token=abc'), '<invalid url>');
	});
});
