import assert from 'node:assert/strict';
import test from 'node:test';
import {SeenKeys} from '../../src/runner/seen-keys.js';

test('SeenKeys remembers keys up to its bound, forgetting the oldest first', () => {
	const seen = new SeenKeys(3);
	for (const key of ['a', 'b', 'c']) seen.add(key);
	assert.deepEqual(['a', 'b', 'c'].map((key) => seen.has(key)), [true, true, true]);
	seen.add('d');
	assert.equal(seen.has('a'), false, 'the oldest key is dropped');
	assert.deepEqual(['b', 'c', 'd'].map((key) => seen.has(key)), [true, true, true]);
	seen.add('b');
	seen.add('e');
	assert.equal(seen.has('b'), false, 're-adding a known key does not refresh it: it is still the oldest');
	assert.deepEqual(['c', 'd', 'e'].map((key) => seen.has(key)), [true, true, true]);
	assert.equal(seen.has('x'), false);
});
