// The acceptance test, in simulation: a server admitting 20 req/s and answering 429
// above it, a greedy client driving HostThrottle (and judge() for the host cooldown) with a
// fake clock for 60 simulated seconds. After the first 10 s the admitted rate must stay at
// >= 70% of 20/s with < 5% of the requests rate-limited.
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
	/** Round-trip time range, ms. */
	readonly latencyMs: readonly [number, number];
	readonly maxConcurrency: number;
	/** Retry-After the server sends with each 429, in seconds. */
	readonly retryAfterS?: number;
	readonly seed: number;
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
function createServer(kind: ServerKind): (at: number) => boolean {
	if (kind === 'sliding-window') {
		const admitted: number[] = [];
		return (at) => {
			while (admitted.length > 0 && admitted[0]! <= at - 1_000) admitted.shift();
			if (admitted.length >= LIMIT) return false;
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
			return ++count <= LIMIT;
		};
	}
	let tokens = LIMIT;
	let last = 0;
	return (at) => {
		// Arrivals are not in order (latencies vary): a late-stamped one adds no tokens.
		tokens = Math.min(LIMIT, tokens + (Math.max(0, at - last) * LIMIT) / 1_000);
		last = Math.max(last, at);
		if (tokens < 1) return false;
		tokens -= 1;
		return true;
	};
}

function simulate(scenario: Scenario): {perSecond: Array<{ok: number; limited: number}>} {
	const random = seeded(scenario.seed);
	let now = 0;
	const throttle = new HostThrottle({defaults: {maxConcurrency: scenario.maxConcurrency}, now: () => now});
	const admits = createServer(scenario.server);
	const inFlight: Array<{doneAt: number; isAdmitted: boolean}> = [];
	const perSecond = Array.from({length: 60}, () => ({ok: 0, limited: 0}));
	const [minLatency, maxLatency] = scenario.latencyMs;

	for (now = 0; now < 60_000; now++) {
		for (let index = inFlight.length - 1; index >= 0; index--) {
			const request = inFlight[index]!;
			if (request.doneAt > now) continue;
			inFlight.splice(index, 1);
			const second = perSecond[Math.floor(now / 1_000)]!;
			if (request.isAdmitted) {
				second.ok++;
				throttle.release(HOST, 'ok');
				continue;
			}
			second.limited++;
			const headers = scenario.retryAfterS === undefined ? {} : {'retry-after': String(scenario.retryAfterS)};
			const verdict = judge(
				{url: `https://${HOST}/`, status: 429, headers, redirects: [], hasSession: false},
				{retryCount: 0, reloginCount: 0, rateLimitCount: 0},
				DEFAULT_RETRY_OPTIONS,
				random,
				now,
			);
			assert.equal(verdict.kind, 'rate-limited');
			throttle.release(HOST, 'rate-limited');
			if (verdict.kind === 'rate-limited') throttle.cooldown(HOST, now + verdict.hostCooldownMs);
		}
		// Greedy: there is always another URL to fetch.
		while (throttle.tryAcquire(HOST).ok) {
			const latency = minLatency + random() * (maxLatency - minLatency);
			inFlight.push({doneAt: Math.ceil(now + latency), isAdmitted: admits(now + latency / 2)});
		}
	}
	return {perSecond};
}

function assertConverges(scenario: Scenario): void {
	const {perSecond} = simulate(scenario);
	const after = perSecond.slice(10);
	const ok = after.reduce((sum, second) => sum + second.ok, 0);
	const limited = after.reduce((sum, second) => sum + second.limited, 0);
	const okPerSecond = ok / after.length;
	const limitedShare = limited / (ok + limited);
	const trace = perSecond.map((second) => `${second.ok}/${second.limited}`).join(' ');
	assert.ok(okPerSecond >= 0.7 * LIMIT, `admitted ${okPerSecond.toFixed(1)}/s < 70% of ${LIMIT}/s\n${trace}`);
	assert.ok(limitedShare < 0.05, `${(limitedShare * 100).toFixed(1)}% rate-limited\n${trace}`);
	// No deep oscillation: every 10 s block after warm-up keeps most of the limit.
	for (let block = 10; block < 60; block += 10) {
		const blockOk = perSecond.slice(block, block + 10).reduce((sum, second) => sum + second.ok, 0) / 10;
		assert.ok(blockOk >= 0.6 * LIMIT, `seconds ${block}-${block + 9}: ${blockOk}/s\n${trace}`);
	}
	// The host was actually rate-limited (the test exercises the adaptive path).
	assert.ok(perSecond.some((second) => second.limited > 0));
}

test('AIMD converges under a sliding-window limit (4 in flight, 30-80 ms)', () => {
	assertConverges({server: 'sliding-window', latencyMs: [30, 80], maxConcurrency: 4, seed: 1});
	assertConverges({server: 'sliding-window', latencyMs: [30, 80], maxConcurrency: 4, seed: 2});
});

test('AIMD converges under a fixed-window limit (16 in flight, 1-2 ms)', () => {
	assertConverges({server: 'fixed-window', latencyMs: [1, 2], maxConcurrency: 16, seed: 3});
});

test('AIMD converges under a token-bucket limit with slow responses (16 in flight, 200-600 ms)', () => {
	assertConverges({server: 'token-bucket', latencyMs: [200, 600], maxConcurrency: 16, seed: 4});
});

test('AIMD converges when each 429 carries Retry-After: 1', () => {
	assertConverges({server: 'sliding-window', latencyMs: [30, 80], maxConcurrency: 8, retryAfterS: 1, seed: 5});
});
