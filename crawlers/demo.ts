// The demo crawler: logs in to the demo bookshop with its CSRF-protected form and extracts every
// book. `npm run demo` starts the site and runs this file; DEMO_URL points it elsewhere.
import {defineCrawler, formLogin} from 'crawljar';

const site = process.env.DEMO_URL ?? 'http://127.0.0.1:4180';

export default defineCrawler({
	name: 'demo',
	startUrls: [`${site}/catalogue`],
	headers: {'user-agent': 'crawljar-demo/1.0'},
	// One account, one host: the polite defaults (4 in flight per host and per session) set the pace.
	concurrency: 4,
	accounts: [{username: process.env.DEMO_USER ?? 'demo', password: process.env.DEMO_PASSWORD ?? 'demo-password'}],
	login: formLogin({
		url: '/login',
		fields: ({account}) => ({username: account.username, password: account.password ?? ''}),
	}),
	// The site answers an expired session with its login page: log in again and retry.
	loggedOut: ({$}) => $('form#login').length > 0,
	routes: {
		default: async ({enqueue}) => {
			await enqueue({selector: 'a.book', label: 'book'});
			await enqueue({selector: 'a.next'});
		},
		book: async ({request, $, push}) => {
			await push({
				url: request.url,
				title: $('h1').text().trim(),
				price: Number($('p.price').text().replace(/[^0-9.]/g, '')),
				inStock: !$('p.stock').text().includes('Out of stock'),
				rating: Number($('.rating').attr('data-stars')),
			});
		},
	},
});
