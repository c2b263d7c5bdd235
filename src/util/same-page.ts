// Pure URL comparison shared by http/ (stop before the login page) and policy/ (a redirect to
// the login page means "logged out").

/** Same origin and path: the login page is still the login page with `?next=/wherever`. */
export function isSamePage(url: string, other: string): boolean {
	try {
		const a = new URL(url);
		const b = new URL(other);
		return a.origin === b.origin && trimSlash(a.pathname) === trimSlash(b.pathname);
	} catch {
		return false;
	}
}

function trimSlash(path: string): string {
	return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
