// HTML templates of the demo site: one layout, the two forms, escaping.

const entities: Record<string, string> = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'};

export function escapeHtml(text: string): string {
	return text.replaceAll(/[&<>"']/g, (character) => entities[character] ?? character);
}

export function layout(title: string, body: string, user?: string): string {
	const account = user
		? `<span class="user">Signed in as ${escapeHtml(user)}</span> <a href="/logout">Log out</a>`
		: '<a href="/login">Log in</a>';
	return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body>
<header><a href="/catalogue">Crawljar Books</a> ${account}
${searchForm()}
</header>
<main>
${body}
</main>
<footer>Demo site for crawljar. All data is generated.</footer>
</body>
</html>
`;
}

/** On every page, before the login form: a crawler must not pick the first form it sees. */
function searchForm(): string {
	return `<form id="search" method="get" action="/search">
<input type="hidden" name="scope" value="books">
<input type="text" name="q" placeholder="Search">
<button type="submit">Search</button>
</form>`;
}

export interface LoginFormOptions {
	readonly csrf: string;
	readonly next?: string | undefined;
	readonly error?: string | undefined;
	readonly username?: string | undefined;
}

export function loginForm({csrf, next, error, username}: LoginFormOptions): string {
	return `<h1>Log in</h1>
${error ? `<p class="error">${escapeHtml(error)}</p>\n` : ''}<form id="login" method="post" action="/login">
<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">
${next ? `<input type="hidden" name="next" value="${escapeHtml(next)}">\n` : ''}<label>Username <input type="text" name="username" value="${escapeHtml(username ?? '')}" autocomplete="username"></label>
<label>Password <input type="password" name="password" autocomplete="current-password"></label>
<label><input type="checkbox" name="remember" value="1"> Remember me</label>
<button type="submit">Log in</button>
</form>`;
}
