// Host patterns for per-host throttle settings: an exact host, a glob or a RegExp.

export type HostPattern = string | RegExp;

/**
 * `example.com` matches that host exactly; `*` matches any run of characters, dots included,
 * so `*.example.com` matches `a.example.com` and `a.b.example.com` but not `example.com`.
 * Case-insensitive. A pattern without a port also matches the host on any port.
 */
export function compileHostPattern(pattern: HostPattern): (host: string) => boolean {
	let test: (host: string) => boolean;
	if (typeof pattern === 'string') {
		const source = pattern
			.toLowerCase()
			.split('*')
			.map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
			.join('.*');
		const regExp = new RegExp(`^${source}$`);
		test = (host) => regExp.test(host.toLowerCase());
	} else {
		// A global or sticky RegExp keeps lastIndex between test() calls: strip those flags.
		const regExp = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
		test = (host) => regExp.test(host);
	}
	return (host) => test(host) || test(host.replace(/:\d+$/, ''));
}
