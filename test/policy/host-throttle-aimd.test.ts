// The acceptance test, in simulation: a greedy client drives HostThrottle (and judge()
// for the host cooldown) with a fake clock against a server that admits 20 req/s and answers
// 429 above it. The main scenario mirrors test/policy-integration/sites/rate-limit-site.ts:
// admission counted when the request arrives, in whole milliseconds, over a sliding second
// (an arrival is admitted while fewer than 20 arrivals of the last 1,000 ms were); a 429
// answered at once, a page after 20 ms; 4 requests in flight (the default); no Retry-After.
// The issue asks for >= 70% of the limit with < 5% refused after the first 10 s; the bounds
// asserted here are what the algorithm does (~90%), with some margin, over several seeds.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {HostThrottle} from '../../src/policy/host-throttle.js';
import {judge} from '../../src/policy/judge.js';
import {DEFAULT_RETRY_OPTIONS} from '../../src/policy/retry-options.js';

const LIMIT = 20;
const HOST = 'api.test';

type ServerKind = 'sliding-window' | 'fixed-window' | 'token-bucket';

interface Scenario {
	readonly server: ServerKind;
	/** One-way trip time range, ms (drawn for each direction). */
	readonly oneWayMs: readonly [number, number];
	/** Time the server takes to answer an admitted request, ms; a 429 is answered at once. */
	readonly pageDelayMs: number;
	readonly maxConcurrency: number;
	/** Retry-After the server sends with each 429, in seconds. */
	readonly retryAfterS?: number;
	/** The server's limit at a time (ms); LIMIT throughout by default. */
	readonly limitAt?: (at: number) => number;
	/** @default 60 */
	readonly seconds?: number;
	readonly seed: number;
}

/** What the server saw each second. */
interface Second {
	ok: number;
	limited: number;
}

/** Deterministic [0, 1) source (mulberry32). */
function seeded(seed: number): () => number {
	let state = seed;
	return () => {
		state = (state + 0x6d2b79f5) | 0;
		let t = Math.imul(state ^ (state >>> 15), 1 | state);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
	};
}

/** Admission as real rate limiters do it: the request counts at the moment it reaches the server. */
function createServer(kind: ServerKind, limitAt: (at: number) => number): (at: number) => boolean {
	if (kind === 'sliding-window') {
		// rate-limit-site.ts: arrivals of the last second, `at > arrival - 1000`.
		let admitted: number[] = [];
		return (at) => {
			admitted = admitted.filter((time) => time > at - 1_000);
			if (admitted.length >= limitAt(at)) return false;
			admitted.push(at);
			return true;
		};
	}
	if (kind === 'fixed-window') {
		let window = -1;
		let count = 0;
		return (at) => {
			if (Math.floor(at / 1_000) !== window) {
				window = Math.floor(at / 1_000);
				count = 0;
			}
			return ++count <= limitAt(at);
		};
	}
	let tokens = limitAt(0);
	let last = 0;
	return (at) => {
		const limit = limitAt(at);
		// Arrivals are not in order (latencies vary): a late-stamped one adds no tokens.
		tokens = Math.min(limit, tokens + (Math.max(0, at - last) * limit) / 1_000);
		last = Math.max(last, at);
		if (tokens < 1) return false;
		tokens -= 1;
		return true;
	};
}

function simulate(scenario: Scenario): Second[] {
	const random = seeded(scenario.seed);
	let now = 0;
	const throttle = new HostThrottle({defaults: {maxConcurrency: scenario.maxConcurrency}, now: () => now});
	const admits = createServer(scenario.server, scenario.limitAt ?? (() => LIMIT));
	const inFlight: Array<{doneAt: number; isAdmitted: boolean}> = [];
	const seconds = scenario.seconds ?? 60;
	const perSecond: Second[] = Array.from({length: seconds}, () => ({ok: 0, limited: 0}));
	const [minOneWay, maxOneWay] = scenario.oneWayMs;
	const oneWay = (): number => minOneWay + random() * (maxOneWay - minOneWay);

	for (now = 0; now < seconds * 1_000; now++) {
		for (let index = inFlight.length - 1; index >= 0; index--) {
			const request = inFlight[index]!;
			if (request.doneAt > now) continue;
			inFlight.splice(index, 1);
			if (request.isAdmitted) {
				throttle.release(HOST, 'ok');
				continue;
			}
			const headers = scenario.retryAfterS === undefined ? {} : {'retry-after': String(scenario.retryAfterS)};
			const verdict = judge(
				{url: `https://${HOST}/`, status: 429, headers, redirects: [], hasSession: false},
				{retryCount: 0, reloginCount: 0, rateLimitCount: 0},
				DEFAULT_RETRY_OPTIONS,
				random,
				now,
			);
			assert.ok(verdict.kind === 'wait' && verdict.counter === 'rateLimitCount');
			throttle.release(HOST, 'rate-limited');
			throttle.cooldown(HOST, now + verdict.hostCooldownMs);
		}
		// Greedy: there is always another URL to fetch.
		while (throttle.tryAcquire(HOST).ok) {
			const arrival = Math.floor(now + oneWay());
			const isAdmitted = admits(arrival);
			const second = perSecond[Math.min(seconds - 1, Math.floor(arrival / 1_000))]!;
			if (isAdmitted) second.ok++;
			else second.limited++;
			inFlight.push({doneAt: Math.ceil(arrival + (isAdmitted ? scenario.pageDelayMs : 0) + oneWay()), isAdmitted});
		}
	}
	return perSecond;
}

function sum(seconds: readonly Second[]): Second {
	return seconds.reduce((total, second) => ({ok: total.ok + second.ok, limited: total.limited + second.limited}), {ok: 0, limited: 0});
}

function trace(seconds: readonly Second[]): string {
	return seconds.map((second) => `${second.ok}/${second.limited}`).join(' ');
}

/**
 * After the first 10 s: at least `minShare` of the limit admitted on average, under
 * `maxRefused` of the requests refused, and no 10 s block below `minBlockShare` (no deep
 * oscillation).
 */
function assertConverges(scenario: Scenario, bounds: {minShare: number; maxRefused: number; minBlockShare: number}): void {
	const perSecond = simulate(scenario);
	const {ok, limited} = sum(perSecond.slice(10));
	const share = ok / (perSecond.length - 10) / LIMIT;
	const refused = limited / (ok + limited);
	const where = `seed ${scenario.seed}\n${trace(perSecond)}`;
	assert.ok(share >= bounds.minShare, `admitted ${(share * 100).toFixed(1)}% of ${LIMIT}/s, want >= ${bounds.minShare * 100}%; ${where}`);
	assert.ok(refused < bounds.maxRefused, `${(refused * 100).toFixed(1)}% rate-limited, want < ${bounds.maxRefused * 100}%; ${where}`);
	for (let block = 10; block < perSecond.length; block += 10) {
		const blockShare = sum(perSecond.slice(block, block + 10)).ok / 10 / LIMIT;
		assert.ok(blockShare >= bounds.minBlockShare, `seconds ${block}-${block + 9}: ${(blockShare * 100).toFixed(0)}% of ${LIMIT}/s; ${where}`);
	}
	// The host was actually rate-limited (the test exercises the adaptive path).
	assert.ok(perSecond.some((second) => second.limited > 0), where);
}

const STEADY = {minShare: 0.85, maxRefused: 0.02, minBlockShare: 0.75};

test('AIMD settles at >= 85% of a sliding-second limit, as rate-limit-site.ts counts it (4 in flight, 20 ms pages)', () => {
	for (const seed of [1, 2, 3, 4]) {
		assertConverges({server: 'sliding-window', oneWayMs: [0.5, 3], pageDelayMs: 20, maxConcurrency: 4, seed}, STEADY);
	}
});

test('AIMD settles at >= 85% of a sliding-second limit over a slower, jittery network (4 in flight, 15-40 ms each way)', () => {
	for (const seed of [5, 6]) {
		assertConverges({server: 'sliding-window', oneWayMs: [15, 40], pageDelayMs: 0, maxConcurrency: 4, seed}, STEADY);
	}
});

test('AIMD settles at >= 85% of a fixed-window limit (16 in flight, 1-2 ms)', () => {
	assertConverges({server: 'fixed-window', oneWayMs: [0.5, 1], pageDelayMs: 0, maxConcurrency: 16, seed: 7}, STEADY);
});

test('AIMD settles at >= 85% of a token-bucket limit with slow responses (16 in flight, 200-600 ms)', () => {
	assertConverges({server: 'token-bucket', oneWayMs: [100, 300], pageDelayMs: 0, maxConcurrency: 16, seed: 8}, STEADY);
});

test('AIMD settles at >= 80% when each 429 carries Retry-After: 1 (each refusal stops the host for a second)', () => {
	assertConverges(
		{server: 'sliding-window', oneWayMs: [15, 40], pageDelayMs: 0, maxConcurrency: 8, retryAfterS: 1, seed: 9},
		{minShare: 0.8, maxRefused: 0.02, minBlockShare: 0.7},
	);
});

test('AIMD follows a host whose limit halves, then comes back: it backs off at once and finds the limit again', () => {
	// 20 req/s, 10 req/s from 20 s, 20 req/s again from 40 s.
	const limitAt = (at: number): number => (at >= 20_000 && at < 40_000 ? LIMIT / 2 : LIMIT);
	const perSecond = simulate({server: 'sliding-window', oneWayMs: [0.5, 3], pageDelayMs: 20, maxConcurrency: 4, limitAt, seconds: 100, seed: 10});
	const where = trace(perSecond);
	// Protecting the host: past the first seconds of the drop, the client keeps to the new limit.
	const afterDrop = sum(perSecond.slice(23, 40));
	assert.ok(afterDrop.limited / (afterDrop.ok + afterDrop.limited) < 0.05, `refused after the drop: ${where}`);
	assert.ok(afterDrop.ok / 17 >= 0.8 * (LIMIT / 2), `admitted after the drop: ${where}`);
	// The higher limit is found again, in well under a minute (a plateau under the old ceiling, then a faster and faster probe).
	const later = sum(perSecond.slice(75, 100));
	assert.ok(later.ok / 25 >= 0.85 * LIMIT, `admitted 35-60 s after the limit came back: ${where}`);
	assert.ok(later.limited / (later.ok + later.limited) < 0.02, where);
});
