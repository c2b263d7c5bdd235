import assert from 'node:assert/strict';
import {test} from 'node:test';
import {HostThrottle, type HostThrottleOptions} from '../../src/policy/host-throttle.js';

function fakeClock(start = 1_000_000): {now: () => number; advance: (ms: number) => void; readonly time: number} {
	let time = start;
	return {
		now: () => time,
		advance: (ms) => {
			time += ms;
		},
		get time() {
			return time;
		},
	};
}

function setup(options: Omit<HostThrottleOptions, 'now'> = {}): {throttle: HostThrottle; clock: ReturnType<typeof fakeClock>} {
	const clock = fakeClock();
	return {throttle: new HostThrottle({...options, now: clock.now}), clock};
}

test('tryAcquire() allows maxConcurrency per host, then waits for a release', () => {
	const {throttle} = setup({defaults: {maxConcurrency: 2}});
	assert.deepEqual(throttle.tryAcquire('a.test'), {ok: true});
	assert.deepEqual(throttle.tryAcquire('a.test'), {ok: true});
	assert.deepEqual(throttle.tryAcquire('a.test'), {ok: false, retryInMs: 0, reason: 'concurrency'});
	assert.deepEqual(throttle.tryAcquire('b.test'), {ok: true}, 'hosts are independent');
	assert.equal(throttle.stats('a.test').inFlight, 2);
	throttle.release('a.test', 'ok');
	assert.deepEqual(throttle.tryAcquire('a.test'), {ok: true});
});

test('tryAcquire() defaults to 4 in flight per host and no rate limit', () => {
	const {throttle} = setup();
	for (let index = 0; index < 4; index++) assert.equal(throttle.tryAcquire('a.test').ok, true);
	assert.equal(throttle.tryAcquire('a.test').ok, false);
	assert.equal(throttle.stats('a.test').rateLimit, undefined);
});

test('tryAcquire() spaces requests evenly at maxRequestsPerSecond (burst 1)', () => {
	const {throttle, clock} = setup({defaults: {maxConcurrency: 100, maxRequestsPerSecond: 20}});
	assert.deepEqual(throttle.tryAcquire('a.test'), {ok: true});
	assert.deepEqual(throttle.tryAcquire('a.test'), {ok: false, retryInMs: 50, reason: 'rate'});
	clock.advance(20);
	assert.deepEqual(throttle.tryAcquire('a.test'), {ok: false, retryInMs: 30, reason: 'rate'});
	// A greedy client that wakes exactly when told gets 20 per second, 50 ms apart.
	const admittedAt: number[] = [];
	const end = clock.time + 1_000;
	while (clock.time < end) {
		const gate = throttle.tryAcquire('a.test');
		if (gate.ok) admittedAt.push(clock.time);
		else clock.advance(gate.retryInMs);
	}
	assert.equal(admittedAt.length, 20);
	const gaps = admittedAt.slice(1).map((at, index) => at - admittedAt[index]!);
	assert.ok(gaps.every((gap) => gap === 50), `gaps ${gaps.join(',')}`);
	// An idle host does not bank a burst: two requests still come 50 ms apart.
	clock.advance(10_000);
	assert.equal(throttle.tryAcquire('a.test').ok, true);
	assert.equal(throttle.tryAcquire('a.test').ok, false);
});

test('hosts rules: exact host, glob and RegExp; first match wins; default otherwise', () => {
	const {throttle} = setup({
		defaults: {maxConcurrency: 3},
		hosts: [
			{match: 'api.example.com', maxConcurrency: 1},
			{match: '*.example.com', maxConcurrency: 2},
			{match: /^static\d*\.cdn\.test$/g, maxRequestsPerSecond: 1},
		],
	});
	const concurrencyOf = (host: string): number => {
		let count = 0;
		while (throttle.tryAcquire(host).ok && count < 10) count++;
		return count;
	};
	assert.equal(concurrencyOf('api.example.com'), 1);
	assert.equal(concurrencyOf('API.Example.com:8443'), 1, 'case and port do not matter');
	assert.equal(concurrencyOf('www.example.com'), 2);
	assert.equal(concurrencyOf('a.b.example.com'), 2);
	assert.equal(concurrencyOf('example.com'), 3, '*.example.com does not match the apex');
	assert.equal(concurrencyOf('notexample.com'), 3);
	// A /g RegExp matches every time (no lastIndex carried over).
	assert.equal(throttle.stats('static1.cdn.test').rateLimit, 1);
	assert.equal(throttle.stats('static2.cdn.test').rateLimit, 1);
	assert.equal(throttle.stats('static3.cdn.test').rateLimit, 1);
	assert.equal(throttle.stats('static3.cdn.test').rateLimit, 1);
});

test('cooldown() pauses the host for everyone, extends and never shortens', () => {
	const {throttle, clock} = setup();
	const start = clock.time;
	throttle.cooldown('a.test', start + 1_000);
	assert.equal(throttle.isCoolingDown('a.test'), true);
	assert.equal(throttle.cooldownUntil('a.test'), start + 1_000);
	assert.deepEqual(throttle.tryAcquire('a.test'), {ok: false, retryInMs: 1_000, reason: 'cooldown'});
	assert.equal(throttle.tryAcquire('b.test').ok, true, 'other hosts go on');

	throttle.cooldown('a.test', start + 500);
	assert.equal(throttle.cooldownUntil('a.test'), start + 1_000, 'not shortened');
	throttle.cooldown('a.test', start + 3_000);
	assert.equal(throttle.cooldownUntil('a.test'), start + 3_000, 'extended');

	clock.advance(1_000);
	assert.deepEqual(throttle.tryAcquire('a.test'), {ok: false, retryInMs: 2_000, reason: 'cooldown'});
	assert.equal(throttle.stats('a.test').cooldownMs, 1_000, 'only the time already spent');
	clock.advance(2_000);
	assert.equal(throttle.isCoolingDown('a.test'), false);
	assert.equal(throttle.cooldownUntil('a.test'), undefined);
	assert.equal(throttle.tryAcquire('a.test').ok, true);
	assert.equal(throttle.stats('a.test').cooldownMs, 3_000);
	assert.equal(throttle.cooldownUntil('never.test'), undefined);
});

test('release() without an acquire is a bug and throws', () => {
	const {throttle} = setup();
	assert.throws(() => throttle.release('a.test', 'ok'), /nothing in flight/);
	throttle.tryAcquire('a.test');
	throttle.release('a.test', 'error');
	assert.throws(() => throttle.release('a.test', 'ok'), /nothing in flight/);
});

test("release('cancelled') gives the slot and the rate token back", () => {
	const {throttle} = setup({defaults: {maxConcurrency: 1, maxRequestsPerSecond: 1}});
	assert.equal(throttle.tryAcquire('a.test').ok, true);
	throttle.release('a.test', 'cancelled');
	assert.deepEqual(throttle.tryAcquire('a.test'), {ok: true});
	throttle.release('a.test', 'ok');
	assert.equal(throttle.tryAcquire('a.test').ok, false);
});

test("release('rate-limited') halves the observed rate of an unlimited host, with a floor", () => {
	const {throttle, clock} = setup({defaults: {maxConcurrency: 1}});
	// 40 req/s for 2 s, then a refusal.
	for (let index = 0; index < 80; index++) {
		assert.equal(throttle.tryAcquire('a.test').ok, true);
		clock.advance(25);
		if (index < 79) throttle.release('a.test', 'ok');
	}
	throttle.release('a.test', 'rate-limited');
	const stats = throttle.stats('a.test');
	assert.equal(stats.rateLimitedCount, 1);
	assert.ok(stats.rateLimit !== undefined && stats.rateLimit >= 19 && stats.rateLimit <= 21, `rate ${stats.rateLimit}`);
	// The first request after a cut waits a full interval at the new rate.
	const gate = throttle.tryAcquire('a.test');
	assert.ok(!gate.ok && gate.reason === 'rate' && gate.retryInMs >= 45 && gate.retryInMs <= 55, JSON.stringify(gate));

	// Refusals keep cutting once per hold period, never below 0.5 req/s.
	for (let index = 0; index < 20; index++) {
		clock.advance(3_000);
		assert.equal(throttle.tryAcquire('a.test').ok, true);
		throttle.release('a.test', 'rate-limited');
	}
	assert.equal(throttle.stats('a.test').rateLimit, 0.5);
	assert.equal(throttle.stats('a.test').rateLimitedCount, 21);
});

test("release('rate-limited') of an unlimited host takes the rate sent in the last second, not a longer average", () => {
	const {throttle, clock} = setup({defaults: {maxConcurrency: 1}});
	// 10 req/s for 4 s, then 40 req/s for 1 s (a 5 s average: 16 req/s), then a refusal.
	for (let index = 0; index < 80; index++) {
		assert.equal(throttle.tryAcquire('a.test').ok, true);
		clock.advance(index < 40 ? 100 : 25);
		if (index < 79) throttle.release('a.test', 'ok');
	}
	throttle.release('a.test', 'rate-limited');
	assert.equal(throttle.stats('a.test').rateLimit, 20, 'half of the 40 req/s refused');
});

/** A greedy client on an endless supply of URLs, every request admitted at once. */
function saturate(throttle: HostThrottle, clock: ReturnType<typeof fakeClock>, ms: number): void {
	const end = clock.time + ms;
	while (clock.time < end) {
		const gate = throttle.tryAcquire('a.test');
		if (gate.ok) throttle.release('a.test', 'ok');
		else clock.advance(Math.min(gate.retryInMs, end - clock.time));
	}
}

/** Waits for the rate to let one request through, and has the host refuse it. */
function refuseNext(throttle: HostThrottle, clock: ReturnType<typeof fakeClock>): void {
	for (let gate = throttle.tryAcquire('a.test'); !gate.ok; gate = throttle.tryAcquire('a.test')) clock.advance(gate.retryInMs);
	throttle.release('a.test', 'rate-limited');
}

test('a refusal of the learned rate in force takes that rate as the refused one and keeps 70% of it', () => {
	const {throttle, clock} = setup({defaults: {maxConcurrency: 1}});
	for (let index = 0; index < 40; index++) {
		throttle.tryAcquire('a.test');
		clock.advance(50);
		throttle.release('a.test', 'ok');
	}
	refuseNext(throttle, clock);
	assert.equal(throttle.stats('a.test').rateLimit, 10.5, 'a first refusal halves the 21 req/s sent in the last second');
	// Held back by the learned rate for 3 s, the client sends at exactly that rate (it climbs).
	saturate(throttle, clock, 3_000);
	const inForce = throttle.stats('a.test').rateLimit!;
	assert.ok(inForce > 15 && inForce < 20, `rate ${inForce}`);
	refuseNext(throttle, clock);
	// Not the 5 s average (~16 req/s, lower since it spans the climb): the refused rate itself.
	assert.ok(Math.abs(throttle.stats('a.test').rateLimit! - 0.7 * inForce) < 1e-9, `rate ${throttle.stats('a.test').rateLimit}, in force ${inForce}`);
	assert.equal(throttle.snapshot()[0]?.ceilingRate, inForce, 'the refused rate is the ceiling');
});

test('after a cut the rate is back near the refused rate in seconds, stays under it for a while, then probes past it', () => {
	const {throttle, clock} = setup({defaults: {maxConcurrency: 1, maxRequestsPerSecond: 100}});
	// Refused at the configured 40 req/s.
	for (let index = 0; index < 40; index++) {
		throttle.tryAcquire('a.test');
		clock.advance(25);
		throttle.release('a.test', 'ok');
	}
	refuseNext(throttle, clock);
	saturate(throttle, clock, 10_000);
	const ceiling = throttle.stats('a.test').rateLimit!;
	refuseNext(throttle, clock);
	assert.equal(throttle.snapshot()[0]!.ceilingRate, ceiling);
	const rates: number[] = [];
	for (let second = 1; second <= 40; second++) {
		saturate(throttle, clock, 1_000);
		rates.push(throttle.stats('a.test').rateLimit ?? Infinity);
	}
	const shares = rates.map((rate) => rate / ceiling);
	const trace = shares.map((share) => share.toFixed(2)).join(' ');
	assert.ok(shares[3]! >= 0.9, `>= 90% of the refused rate after 4 s: ${trace}`);
	assert.ok(shares.slice(0, 15).every((share) => share < 1), `under the refused rate for 15 s: ${trace}`);
	assert.ok(shares.some((share) => share > 1.2), `probes well past it within 40 s: ${trace}`);
});

test('refusals of requests sent before a cut do not cut again', () => {
	const {throttle, clock} = setup({defaults: {maxConcurrency: 8, maxRequestsPerSecond: 40}});
	for (let index = 0; index < 4; index++) {
		assert.equal(throttle.tryAcquire('a.test').ok, true);
		clock.advance(25);
	}
	throttle.release('a.test', 'rate-limited');
	const afterCut = throttle.stats('a.test').rateLimit!;
	assert.ok(afterCut < 40);
	clock.advance(2_000); // past the hold time, but three pre-cut requests are still coming back
	throttle.release('a.test', 'rate-limited');
	throttle.release('a.test', 'rate-limited');
	throttle.release('a.test', 'rate-limited');
	assert.equal(throttle.stats('a.test').rateLimit, afterCut);
	assert.equal(throttle.stats('a.test').rateLimitedCount, 4);
	assert.equal(throttle.tryAcquire('a.test').ok, true);
	throttle.release('a.test', 'rate-limited');
	assert.ok(throttle.stats('a.test').rateLimit! < afterCut, 'a post-cut refusal cuts');
});

test("release('ok') recovers the rate only while it limits, up to the configured max", () => {
	const {throttle, clock} = setup({defaults: {maxConcurrency: 1, maxRequestsPerSecond: 10}});
	assert.equal(throttle.tryAcquire('a.test').ok, true);
	throttle.release('a.test', 'rate-limited');
	assert.equal(throttle.stats('a.test').rateLimit, 0.5, 'one request observed: the floor');

	// Used well below its limit, the rate does not grow.
	clock.advance(10_000);
	for (let index = 0; index < 10; index++) {
		assert.equal(throttle.tryAcquire('a.test').ok, true);
		clock.advance(5_000);
		throttle.release('a.test', 'ok');
	}
	assert.equal(throttle.stats('a.test').rateLimit, 0.5);

	// A greedy client, never refused: back to the configured 10 req/s, then the learned limit drops.
	let seconds = 0;
	while (throttle.stats('a.test').rateLimit !== 10 && seconds < 600) {
		const gate = throttle.tryAcquire('a.test');
		if (gate.ok) {
			throttle.release('a.test', 'ok');
		} else {
			clock.advance(gate.retryInMs);
			seconds += gate.retryInMs / 1000;
		}
	}
	assert.equal(throttle.stats('a.test').rateLimit, 10);
	assert.ok(seconds < 120, `recovered in ${seconds.toFixed(1)} s`);
	assert.deepEqual(throttle.snapshot(), [], 'no learned rate left to persist');
});

test('an unlimited host drops its learned limit after climbing to twice the refused rate', () => {
	const {throttle, clock} = setup({defaults: {maxConcurrency: 1}});
	for (let index = 0; index < 40; index++) {
		throttle.tryAcquire('a.test');
		clock.advance(100);
		throttle.release('a.test', index === 39 ? 'rate-limited' : 'ok');
	}
	assert.ok(throttle.stats('a.test').rateLimit! < 6);
	let guard = 0;
	while (throttle.stats('a.test').rateLimit !== undefined && guard++ < 100_000) {
		const gate = throttle.tryAcquire('a.test');
		if (gate.ok) throttle.release('a.test', 'ok');
		else clock.advance(gate.retryInMs);
	}
	assert.equal(throttle.stats('a.test').rateLimit, undefined);
});

test('snapshot() and restore() carry cooldowns and learned rates across a restart', () => {
	const {throttle, clock} = setup({defaults: {maxConcurrency: 1}});
	throttle.cooldown('slow.test', clock.time + 60_000);
	for (let index = 0; index < 20; index++) {
		throttle.tryAcquire('busy.test');
		clock.advance(100);
		throttle.release('busy.test', index === 19 ? 'rate-limited' : 'ok');
	}
	throttle.tryAcquire('idle.test');
	throttle.release('idle.test', 'ok');
	const learned = throttle.stats('busy.test').rateLimit!;
	const snapshot = throttle.snapshot();
	assert.deepEqual(
		snapshot.map((state) => state.host),
		['slow.test', 'busy.test'],
		'idle hosts are not persisted',
	);
	const stored = JSON.parse(JSON.stringify(snapshot)) as typeof snapshot;

	const next = new HostThrottle({defaults: {maxConcurrency: 1}, now: clock.now});
	next.restore(stored);
	assert.equal(next.cooldownUntil('slow.test'), clock.time + 58_000);
	assert.equal(next.tryAcquire('slow.test').ok, false);
	assert.equal(next.stats('busy.test').rateLimit, learned);

	// A restore never shortens a cooldown already set, and skips malformed entries.
	next.cooldown('slow.test', clock.time + 120_000);
	next.restore(stored);
	next.restore([{host: 'bad.test', cooldownUntil: Number.NaN, adaptiveRate: -1}, {cooldownUntil: 1} as never, null as never]);
	next.restore({host: 'slow.test'} as never);
	assert.equal(next.cooldownUntil('slow.test'), clock.time + 120_000);
	assert.equal(next.isCoolingDown('bad.test'), false);
	assert.equal(next.stats('bad.test').rateLimit, undefined);
});

test('stats() reports every host seen', () => {
	const {throttle} = setup();
	throttle.tryAcquire('a.test');
	throttle.tryAcquire('b.test');
	throttle.release('b.test', 'rate-limited');
	assert.deepEqual(
		throttle.stats().map(({host, inFlight, rateLimitedCount}) => ({host, inFlight, rateLimitedCount})),
		[
			{host: 'a.test', inFlight: 1, rateLimitedCount: 0},
			{host: 'b.test', inFlight: 0, rateLimitedCount: 1},
		],
	);
});

test('the constructor rejects out-of-range limits, naming them', () => {
	assert.throws(() => new HostThrottle({defaults: {maxConcurrency: 0}}), {name: 'TypeError', message: /defaults.maxConcurrency.*`0`/});
	assert.throws(() => new HostThrottle({defaults: {maxRequestsPerSecond: -2}}), /defaults.maxRequestsPerSecond/);
	assert.throws(() => new HostThrottle({hosts: [{match: 'a', maxConcurrency: 1.5}]}), /hosts\[0\].maxConcurrency/);
	assert.doesNotThrow(() => new HostThrottle({defaults: {maxConcurrency: Infinity}}));
});

test('shares: after attachShares a host waits for setShare, which caps its concurrency and its part of the rate until it lapses', () => {
	const {throttle, clock} = setup({defaults: {maxConcurrency: 8, maxRequestsPerSecond: 10}});
	const needed: string[] = [];
	const changed: string[] = [];
	throttle.attachShares({onShareNeeded: (host) => needed.push(host), onChange: (host) => changed.push(host)});
	assert.deepEqual(throttle.tryAcquire('a.test'), {ok: false, retryInMs: 20, reason: 'share'});
	assert.deepEqual(needed, ['a.test']);
	throttle.setShare('a.test', 2, 0.5, clock.time + 10_000);
	assert.deepEqual(throttle.tryAcquire('a.test'), {ok: true});
	// Half of 10 req/s: one request every 200 ms.
	assert.deepEqual(throttle.tryAcquire('a.test'), {ok: false, retryInMs: 200, reason: 'rate'});
	clock.advance(200);
	assert.deepEqual(throttle.tryAcquire('a.test'), {ok: true});
	clock.advance(200);
	assert.deepEqual(throttle.tryAcquire('a.test'), {ok: false, retryInMs: 0, reason: 'concurrency'}, 'its share is 2 of 8');
	throttle.release('a.test', 'ok');
	throttle.release('a.test', 'ok');
	throttle.setShare('a.test', 0, 0, clock.time + 10_000);
	assert.deepEqual(throttle.tryAcquire('a.test'), {ok: false, retryInMs: 1000, reason: 'share'}, 'no share: ask again at the next claim');
	throttle.setShare('a.test', 8, 1, clock.time + 1_000);
	clock.advance(100); // the whole 10 req/s again: a token every 100 ms (none was banked at a share of 0)
	assert.equal(throttle.tryAcquire('a.test').ok, true);
	throttle.release('a.test', 'ok');
	clock.advance(900);
	assert.deepEqual(throttle.tryAcquire('a.test'), {ok: false, retryInMs: 20, reason: 'share'}, 'a share not renewed lapses');
	throttle.cooldown('a.test', clock.time + 5_000);
	assert.deepEqual(changed, ['a.test'], 'a cooldown set here is passed on');
});

test('shares: adopt() extends cooldowns and takes a rate set later than the one in force, telling no observer', () => {
	const {throttle, clock} = setup({defaults: {maxConcurrency: 8}});
	const changed: string[] = [];
	throttle.attachShares({onShareNeeded() {}, onChange: (host) => changed.push(host)});
	throttle.adopt({host: 'b.test', cooldownUntil: clock.time + 3_000, adaptiveRate: 4, ceilingRate: 8, rateSetAt: 100});
	assert.equal(throttle.cooldownUntil('b.test'), clock.time + 3_000);
	assert.equal(throttle.stats('b.test').rateLimit, 4);
	throttle.adopt({host: 'b.test', cooldownUntil: clock.time + 1_000, adaptiveRate: 9, rateSetAt: 50});
	assert.equal(throttle.cooldownUntil('b.test'), clock.time + 3_000, 'never shortened');
	assert.equal(throttle.stats('b.test').rateLimit, 4, 'an older rate is ignored');
	throttle.adopt({host: 'b.test', adaptiveRate: 2, ceilingRate: 3, rateSetAt: 200});
	assert.equal(throttle.stats('b.test').rateLimit, 2);
	assert.deepEqual(throttle.snapshot(), [{host: 'b.test', cooldownUntil: clock.time + 3_000, adaptiveRate: 2, ceilingRate: 3, rateSetAt: 200}]);
	assert.deepEqual(changed, []);
});
