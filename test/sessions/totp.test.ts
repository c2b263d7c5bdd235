// totp(): RFC 6238 codes from a base32 secret, never the same code twice per account.
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {TOTP_PERIOD_MS, TotpGuard, totpCodeAt, totpSecretProblem} from '../../src/sessions/login/totp.js';

// RFC 6238 appendix B: the SHA-1 secret "12345678901234567890", 8 digits there; otpauth with 6
// digits gives the last 6 of each (the truncation is the same).
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

describe('totp', () => {
	test('codes match the RFC 6238 test vectors (last 6 digits)', () => {
		assert.equal(totpCodeAt(RFC_SECRET, 59_000), '287082');
		assert.equal(totpCodeAt(RFC_SECRET, 1_111_111_109_000), '081804');
		assert.equal(totpCodeAt(RFC_SECRET, 1_234_567_890_000), '005924');
		assert.equal(totpCodeAt(RFC_SECRET.toLowerCase().replace(/(.{4})/g, '$1 '), 59_000), '287082', 'spaces and lower case are accepted');
	});

	test('secrets are checked', () => {
		assert.equal(totpSecretProblem(RFC_SECRET), undefined);
		assert.match(totpSecretProblem('not-base32!')!, /base32/);
		assert.match(totpSecretProblem('ABCD')!, /at least 16/);
		assert.match(totpSecretProblem(42)!, /base32/);
	});

	test('two sessions of one account never get the same code: the second waits for the next window', async () => {
		let clock = 10 * TOTP_PERIOD_MS + 1_000;
		const sleeps: number[] = [];
		const guard = new TotpGuard({now: () => clock, sleep: async (ms) => {
			sleeps.push(ms);
			clock += ms;
		}});
		const account = {username: 'alice', totpSecret: RFC_SECRET};
		const codes = await Promise.all([guard.run(account, async (totp) => totp()), guard.run(account, async (totp) => totp())]);
		assert.notEqual(codes[0], codes[1]);
		assert.equal(sleeps.length, 1);
		assert.ok(sleeps[0]! >= TOTP_PERIOD_MS - 1_000 && sleeps[0]! <= TOTP_PERIOD_MS, `waited for the next window (${sleeps[0]} ms)`);
		assert.equal(codes[1], totpCodeAt(RFC_SECRET, clock));
		// Another account is not held up by alice's window.
		const bob = await guard.run({username: 'bob', totpSecret: RFC_SECRET}, async (totp) => totp());
		assert.equal(bob, codes[1]);
		assert.equal(sleeps.length, 1);
	});

	test('an attempt that used no code makes no one wait; an account without a secret gets LOGIN_FAILED from totp()', async () => {
		let clock = 5 * TOTP_PERIOD_MS;
		const guard = new TotpGuard({now: () => clock, sleep: async (ms) => {
			clock += ms;
		}});
		const account = {username: 'alice', totpSecret: RFC_SECRET};
		await guard.run(account, async () => {});
		const before = clock;
		await guard.run(account, async (totp) => totp());
		assert.equal(clock, before);
		await assert.rejects(
			guard.run({username: 'carol'}, async (totp) => totp()),
			(error: {code?: string; message: string}) => error.code === 'LOGIN_FAILED' && error.message.includes("'carol'") && error.message.includes('no totpSecret'),
		);
	});
});
