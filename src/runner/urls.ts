// URL helpers for enqueueing: dedupe keys and link filters.

/** The default dedupe key: fragment dropped, host lower-cased, default port dropped, query kept. */
export function normalizeUrl(url: string): string {
	const parsed = new URL(url);
	parsed.hash = '';
	return parsed.href;
}

/** Resolves `href` against `base`; undefined for non-http(s) or unparsable links (mailto:, javascript:). */
export function resolveHttpUrl(href: string, base: string): string | undefined {
	let resolved: URL;
	try {
		resolved = new URL(href.trim(), base);
	} catch {
		return undefined;
	}
	if (resolved.protocol !== 'http:' && resolved.protocol !== 'https:') return undefined;
	return resolved.href;
}

const globCache = new Map<string, RegExp>();

/** `*` matches within a path segment, `**` across segments, `?` one character. */
export function globToRegExp(glob: string): RegExp {
	let cached = globCache.get(glob);
	if (cached) return cached;
	let source = '';
	for (let index = 0; index < glob.length; index++) {
		const char = glob[index]!;
		if (char === '*' && glob[index + 1] === '*') {
			source += '.*';
			index++;
		} else if (char === '*') {
			source += '[^/?#]*';
		} else if (char === '?') {
			source += '.';
		} else {
			source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
		}
	}
	cached = new RegExp(`^${source}$`);
	globCache.set(glob, cached);
	return cached;
}

export function hostOf(url: string): string {
	return new URL(url).host;
}
