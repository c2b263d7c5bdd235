// A plain form login against the demo site, for the systems without a login step of their own:
// GET /login (pre-session cookie + CSRF token), POST the form, keep the `sid` cookie.

export async function loginCookie(siteUrl: string, username = 'demo', password = 'demo-password'): Promise<string> {
	const form = await fetch(`${siteUrl}/login`);
	const html = await form.text();
	const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
	const visitor = cookiePair(form.headers.getSetCookie(), 'presession');
	if (!csrf || !visitor) throw new Error(`${siteUrl}/login: no CSRF token or pre-session cookie (status ${form.status})`);
	const response = await fetch(`${siteUrl}/login`, {
		method: 'POST',
		redirect: 'manual',
		headers: {'content-type': 'application/x-www-form-urlencoded', cookie: visitor},
		body: new URLSearchParams({csrf, username, password}).toString(),
	});
	await response.arrayBuffer();
	const session = cookiePair(response.headers.getSetCookie(), 'sid');
	if (!session) throw new Error(`POST ${siteUrl}/login: no session cookie (status ${response.status})`);
	return session;
}

/** `name=value` of the named cookie among Set-Cookie headers. */
function cookiePair(setCookies: readonly string[], name: string): string | undefined {
	for (const header of setCookies) {
		const pair = header.split(';', 1)[0] ?? '';
		if (pair.startsWith(`${name}=`) && pair.length > name.length + 1) return pair;
	}
	return undefined;
}
