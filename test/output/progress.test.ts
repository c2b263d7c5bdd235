import assert from 'node:assert/strict';
import {test} from 'node:test';
import {createProgressReporter, formatPlainLine, formatStatusLine, type ProgressSnapshot} from '../../src/output/progress.js';
import {createRateMeter} from '../../src/output/rate-meter.js';

function fakeStream(isTTY: boolean, columns?: number): {writes: string[]; write(chunk: string): boolean; isTTY: boolean; columns?: number} {
	const writes: string[] = [];
	return {
		writes,
		isTTY,
		...(columns === undefined ? {} : {columns}),
		write(chunk: string) {
			writes.push(chunk);
			return true;
		},
	};
}

function fakeClock(start = 1_000_000): {now: () => number; advance: (ms: number) => void} {
	let time = start;
	return {now: () => time, advance: (ms) => (time += ms)};
}

const snapshot: ProgressSnapshot = {
	done: 1204,
	pending: 8310,
	inflight: 10,
	failed: 2,
	items: 312,
	elapsedMs: 72_400,
	pagesPerSecond: 41.23,
};

test('formatStatusLine uses thousands separators, one-decimal rate and a clock', () => {
	assert.equal(formatStatusLine(snapshot), '▸ 1,204 done · 8,310 pending · 10 in flight · 2 failed · 312 items · 41.2 pages/s · 00:01:12');
	assert.equal(
		formatStatusLine({...snapshot, done: 1_234_567, items: 1, elapsedMs: 3 * 3600_000 + 5000, pagesPerSecond: 1234.56}),
		'▸ 1,234,567 done · 8,310 pending · 10 in flight · 2 failed · 1 item · 1,234.6 pages/s · 03:00:05',
	);
});

test('formatStatusLine adds retries, sessions and cooling hosts when present', () => {
	const line = formatStatusLine({...snapshot, retries: 5, sessions: {ready: 2, loggingIn: 1, disabled: 0}, coolingHosts: 1});
	assert.equal(
		line,
		'▸ 1,204 done · 8,310 pending · 10 in flight · 2 failed · 312 items · 5 retries · sessions 2 ready/1 logging in/0 disabled · 1 host cooling down · 41.2 pages/s · 00:01:12',
	);
	// Zero retries and zero cooling hosts are noise: left out.
	assert.equal(formatStatusLine({...snapshot, retries: 0, coolingHosts: 0}), formatStatusLine(snapshot));
});

test('formatPlainLine is a grep-friendly line without separators', () => {
	assert.equal(formatPlainLine(snapshot), '[progress] 1204 done, 8310 pending, 10 in flight, 2 failed, 312 items, 41.2 pages/s, elapsed 72s');
	assert.equal(
		formatPlainLine({...snapshot, retries: 1, coolingHosts: 3, pagesPerSecond: Number.NaN}),
		'[progress] 1204 done, 8310 pending, 10 in flight, 2 failed, 312 items, 1 retry, 3 hosts cooling down, 0.0 pages/s, elapsed 72s',
	);
});

test('TTY reporter rewrites one status line in place, throttled to intervalMs', () => {
	const stream = fakeStream(true);
	const clock = fakeClock();
	const reporter = createProgressReporter({stream, now: clock.now});
	reporter.update(snapshot);
	assert.deepEqual(stream.writes, [`\r\x1b[2K${formatStatusLine(snapshot)}`]);
	clock.advance(100);
	reporter.update({...snapshot, done: 1205});
	clock.advance(100);
	reporter.update({...snapshot, done: 1206});
	assert.equal(stream.writes.length, 1, 'redraws inside 250 ms are skipped');
	clock.advance(50);
	reporter.update({...snapshot, done: 1207});
	assert.equal(stream.writes.length, 2);
	assert.ok(stream.writes[1]!.startsWith('\r\x1b[2K▸ 1,207 done'));
	assert.ok(stream.writes.every((chunk) => !chunk.includes('\n')), 'a status line never ends a line');
});

test('TTY log clears the status line, prints the line and redraws the latest status', () => {
	const stream = fakeStream(true);
	const clock = fakeClock();
	const reporter = createProgressReporter({stream, now: clock.now});
	reporter.log('before any status');
	reporter.update(snapshot);
	clock.advance(10);
	reporter.update({...snapshot, done: 1300}); // throttled, but remembered for the redraw
	reporter.log('session 2 logged in');
	assert.deepEqual(stream.writes, [
		'before any status\n',
		`\r\x1b[2K${formatStatusLine(snapshot)}`,
		`\r\x1b[2Ksession 2 logged in\n${formatStatusLine({...snapshot, done: 1300})}`,
	]);
});

test('TTY stop prints the final status on its own line, or clears the line', () => {
	const withFinal = fakeStream(true);
	const reporter = createProgressReporter({stream: withFinal, now: fakeClock().now});
	reporter.update(snapshot);
	reporter.stop({...snapshot, pending: 0});
	reporter.update(snapshot);
	reporter.log('after stop');
	assert.deepEqual(withFinal.writes, [
		`\r\x1b[2K${formatStatusLine(snapshot)}`,
		`\r\x1b[2K${formatStatusLine({...snapshot, pending: 0})}\n`,
		'after stop\n',
	]);

	const withoutFinal = fakeStream(true);
	const cleared = createProgressReporter({stream: withoutFinal, now: fakeClock().now});
	cleared.update(snapshot);
	cleared.stop();
	cleared.stop();
	assert.deepEqual(withoutFinal.writes, [`\r\x1b[2K${formatStatusLine(snapshot)}`, '\r\x1b[2K']);
});

test('TTY status line is cut to the terminal width', () => {
	const stream = fakeStream(true, 40);
	createProgressReporter({stream, now: fakeClock().now}).update(snapshot);
	const line = stream.writes[0]!.replace('\r\x1b[2K', '');
	assert.equal(line.length, 39);
	assert.ok(line.endsWith('…'));
});

test('plain reporter prints a line every 10 s, none before the first interval', () => {
	const stream = fakeStream(false);
	const clock = fakeClock();
	const reporter = createProgressReporter({stream, now: clock.now});
	reporter.update(snapshot);
	clock.advance(9_999);
	reporter.update(snapshot);
	assert.equal(stream.writes.length, 0);
	clock.advance(1);
	reporter.update(snapshot);
	clock.advance(5_000);
	reporter.update(snapshot);
	clock.advance(5_000);
	reporter.update({...snapshot, done: 2000});
	reporter.log('a warning');
	reporter.stop({...snapshot, done: 2001});
	assert.deepEqual(stream.writes, [
		`${formatPlainLine(snapshot)}\n`,
		`${formatPlainLine({...snapshot, done: 2000})}\n`,
		'a warning\n',
		`${formatPlainLine({...snapshot, done: 2001})}\n`,
	]);
	assert.ok(stream.writes.every((chunk) => !chunk.includes('\x1b')), 'no escape codes outside a TTY');
});

test('isTTY and intervalMs options override the stream', () => {
	const stream = fakeStream(true);
	const clock = fakeClock();
	const reporter = createProgressReporter({stream, isTTY: false, intervalMs: 1000, now: clock.now});
	clock.advance(1000);
	reporter.update(snapshot);
	reporter.stop();
	assert.deepEqual(stream.writes, [`${formatPlainLine(snapshot)}\n`]);
});

test('createRateMeter measures a recent window, not the lifetime average', () => {
	const clock = fakeClock(0);
	const meter = createRateMeter(10_000, clock.now);
	assert.equal(meter.perSecond(), 0);
	// 50 pages/s for 20 s …
	for (let second = 0; second < 20; second++) {
		meter.mark(50);
		clock.advance(1000);
	}
	assert.ok(Math.abs(meter.perSecond() - 50) < 3, `steady rate read ${meter.perSecond()}`);
	// … then a stall: the lifetime average would still say 25/s after 20 idle seconds.
	clock.advance(5_000);
	assert.ok(meter.perSecond() < 30, `half-stalled rate read ${meter.perSecond()}`);
	clock.advance(15_000);
	assert.equal(meter.perSecond(), 0);
});

test('createRateMeter does not inflate the first second and counts single marks', () => {
	const clock = fakeClock(0);
	const meter = createRateMeter(10_000, clock.now);
	clock.advance(100);
	meter.mark();
	meter.mark();
	assert.equal(meter.perSecond(), 2);
	clock.advance(1900);
	assert.equal(meter.perSecond(), 1);
});
