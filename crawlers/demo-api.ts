// The demo JSON API behind short-lived bearer tokens with rotating refresh tokens.
import {defineCrawler, tokenLogin} from 'crawljar';

const site = process.env.DEMO_URL ?? 'http://127.0.0.1:4180';

export default defineCrawler({
	name: 'demo-api',
	startUrls: [{url: `${site}/api/books?page=1`, label: 'list'}],
	accounts: [{username: process.env.DEMO_USER ?? 'demo', password: process.env.DEMO_PASSWORD ?? 'demo-password'}],
	login: tokenLogin({
		url: '/api/auth/login',
		body: ({account}) => ({username: account.username, password: account.password}),
		accessToken: 'data.access_token',
		refreshToken: 'data.refresh_token',
		expiresIn: 'data.expires_in',
		refresh: {
			url: '/api/auth/refresh',
			body: ({refreshToken}) => ({refresh_token: refreshToken}),
			accessToken: 'data.access_token',
			refreshToken: 'data.refresh_token',
			expiresIn: 'data.expires_in',
		},
	}),
	routes: {
		list: async ({json, enqueue, push}) => {
			const page = json as {items: Array<{id: number; title: string; price: number}>; next: string | null};
			await push(page.items);
			if (page.next) await enqueue({urls: [page.next], label: 'list'});
		},
	},
});
