// Counters for one run, per host and in total. Numbers only: never a URL query, header or body.
// Keys of `retries` are verdict causes (judge.ts): a status ('503'), an error code, a signal name.
import type {WaitCounter} from '../policy/judge.js';

export interface HostStats {
	/** Every request sent to the host, login requests included. */
	requests: number;
	bytes: number;
	retries: Record<string, number>;
	status401: number;
	status429: number;
	/** Logouts seen on the host's pages that started a re-login (or a refresh after a 401). */
	relogins: number;
	/** Login, refresh and custom-login requests (in `requests` too). */
	loginRequests: number;
}

export class RunStats {
	readonly hosts = new Map<string, HostStats>();
	requestsSent = 0;
	retried = 0;
	relogins = 0;
	rateLimited = 0;
	loginRequests = 0;
	items = 0;
	readonly startedAt: number;

	constructor(now: number) {
		this.startedAt = now;
	}

	host(host: string): HostStats {
		let stats = this.hosts.get(host);
		if (!stats) {
			stats = {requests: 0, bytes: 0, retries: {}, status401: 0, status429: 0, relogins: 0, loginRequests: 0};
			this.hosts.set(host, stats);
		}
		return stats;
	}

	response(host: string, status: number, bytes: number): void {
		this.requestsSent++;
		const stats = this.host(host);
		stats.requests++;
		stats.bytes += bytes;
		if (status === 401) stats.status401++;
		if (status === 429) stats.status429++;
	}

	networkError(host: string): void {
		this.requestsSent++;
		this.host(host).requests++;
	}

	/** A login, refresh or custom-login request: counted with the host's requests, and apart. */
	loginRequest(host: string, status: number | undefined, bytes: number): void {
		if (status === undefined) this.networkError(host);
		else this.response(host, status, bytes);
		this.loginRequests++;
		this.host(host).loginRequests++;
	}

	/** A request seen logged out; `started`: it started the re-login (else another request had). */
	relogin(host: string, cause: string, started: boolean): void {
		this.#count(host, cause);
		if (!started) return;
		this.relogins++;
		this.host(host).relogins++;
	}

	/** A request that waits and goes again: a transient failure or a rate limit. */
	wait(host: string, cause: string, counter: WaitCounter): void {
		this.#count(host, cause);
		if (counter === 'rateLimitCount') this.rateLimited++;
	}

	#count(host: string, cause: string): void {
		this.retried++;
		const retries = this.host(host).retries;
		retries[cause] = (retries[cause] ?? 0) + 1;
	}
}
