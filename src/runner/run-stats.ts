// Counters for one run, per host and in total. Numbers only: never a URL query, header or body.

export interface HostStats {
	requests: number;
	bytes: number;
	retries: Record<string, number>;
	status401: number;
	status429: number;
	relogins: number;
}

export class RunStats {
	readonly hosts = new Map<string, HostStats>();
	requestsSent = 0;
	retried = 0;
	relogins = 0;
	rateLimited = 0;
	items = 0;
	readonly startedAt: number;

	constructor(now: number) {
		this.startedAt = now;
	}

	host(host: string): HostStats {
		let stats = this.hosts.get(host);
		if (!stats) {
			stats = {requests: 0, bytes: 0, retries: {}, status401: 0, status429: 0, relogins: 0};
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

	retry(host: string, reason: string): void {
		this.retried++;
		const retries = this.host(host).retries;
		retries[reason] = (retries[reason] ?? 0) + 1;
		if (reason === 'relogin') {
			this.relogins++;
			this.host(host).relogins++;
		}
		if (reason === 'rate-limited') this.rateLimited++;
	}
}
