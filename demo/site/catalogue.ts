// The catalogue: paginated listings (all books, a category, a search) and the book pages.
import {bookRandom, categories, expectedBook, pick, relatedIds, slugify, words} from './books.js';
import {escapeHtml, layout} from './html.js';
import {intParam, redirect, sendHtml} from './http-util.js';
import type {RequestContext, Route} from './http-util.js';
import {requireSession} from './login.js';
import type {SiteState} from './state.js';

export function catalogueRoutes(state: SiteState): Route[] {
	const {options, stats} = state;
	const allIds = Array.from({length: options.books}, (_, index) => index + 1);

	function listing(context: RequestContext, title: string, ids: readonly number[], basePath: string): void {
		const viewer = requireSession(state, context);
		if (!viewer) return;
		const page = intParam(context.url, 'page', 1);
		const pageCount = Math.max(1, Math.ceil(ids.length / options.perPage));
		if (page > pageCount) return notFound(context, viewer.user);
		const pageIds = ids.slice((page - 1) * options.perPage, page * options.perPage);
		const items = pageIds.map((id) => {
			const book = expectedBook(id);
			return `<li><a class="book" href="${book.path}">${escapeHtml(book.title)}</a> <span class="list-price">${book.priceText}</span></li>`;
		});
		const separator = basePath.includes('?') ? '&amp;' : '?';
		const links = [
			page > 1 ? `<a class="prev" href="${basePath}${separator}page=${page - 1}">Previous</a>` : '',
			page < pageCount ? `<a class="next" href="${basePath}${separator}page=${page + 1}">Next</a>` : '',
		];
		const body = `<h1>${escapeHtml(title)}</h1>
<p class="summary">${ids.length} books, page ${page} of ${pageCount}</p>
<ul class="books">
${items.join('\n')}
</ul>
<nav class="pager">${links.join(' ')}</nav>
<nav class="categories">${categories.map((name) => `<a href="/categories/${slugify(name)}">${name}</a>`).join(' ')}</nav>`;
		sendHtml(context.response, 200, layout(`${title} (page ${page})`, body, viewer.user));
	}

	return [
		{method: 'GET', pattern: /^\/$/, handler: ({response}) => redirect(response, 302, '/catalogue')},
		{
			method: 'GET',
			pattern: /^\/catalogue$/,
			handler(context) {
				stats.catalogue++;
				listing(context, 'Catalogue', allIds, '/catalogue');
			},
		},
		{
			method: 'GET',
			pattern: /^\/categories\/([a-z-]+)$/,
			handler(context) {
				stats.category++;
				const slug = context.params[0] ?? '';
				const ids = state.byCategory.get(slug);
				if (!ids) return notFound(context, undefined);
				listing(context, categories.find((name) => slugify(name) === slug) ?? slug, ids, `/categories/${slug}`);
			},
		},
		{
			method: 'GET',
			pattern: /^\/search$/,
			handler(context) {
				stats.search++;
				const query = (context.url.searchParams.get('q') ?? '').trim().toLowerCase();
				const ids = query ? allIds.filter((id) => expectedBook(id).title.toLowerCase().includes(query)) : [];
				listing(context, `Search: ${query}`, ids, `/search?q=${encodeURIComponent(query)}`);
			},
		},
		{
			method: 'GET',
			pattern: /^\/books\/(\d+)$/,
			handler(context) {
				stats.book++;
				const viewer = requireSession(state, context);
				if (!viewer) return;
				const id = Number(context.params[0]);
				if (!(id >= 1 && id <= options.books)) return notFound(context, viewer.user);
				sendHtml(context.response, 200, bookPage(id, options.books, options.pageBytes, viewer.user));
			},
		},
	];
}

export function notFound(context: RequestContext, user: string | undefined): void {
	sendHtml(context.response, 404, layout('Not found', '<h1>Not found</h1>\n<p><a href="/catalogue">Back to the catalogue</a></p>', user));
}

function bookPage(id: number, bookCount: number, pageBytes: number, user: string | undefined): string {
	const book = expectedBook(id);
	const stars = '★'.repeat(book.rating) + '☆'.repeat(5 - book.rating);
	const related = relatedIds(id, bookCount).map((other) => {
		return `<li><a class="book related" href="/books/${other}">${escapeHtml(expectedBook(other).title)}</a></li>`;
	});
	const page = (description: string): string => layout(book.title, `<nav class="breadcrumb"><a href="/catalogue">Catalogue</a> &rsaquo; <a class="category" href="/categories/${book.categorySlug}">${book.category}</a></nav>
<article class="book" data-id="${id}">
<h1>${escapeHtml(book.title)}</h1>
<p class="price">${book.priceText}</p>
<p class="stock">${book.stockText}</p>
<p>Rating: <span class="rating" data-stars="${book.rating}">${stars}</span></p>
<div class="description">
${description}
</div>
</article>
<section class="related">
<h2>You may also like</h2>
<ul>
${related.join('\n')}
</ul>
</section>`, user);
	const withoutDescription = Buffer.byteLength(page(''));
	return page(description(id, pageBytes - withoutDescription));
}

/** About `bytes` of ASCII prose (at least one sentence), the same for the same book every time. */
function description(id: number, bytes: number): string {
	const random = bookRandom(id, 'text');
	const paragraphs: string[] = [];
	let sentence: string[] = [];
	let paragraph: string[] = [];
	let size = 7;
	while (size < bytes || paragraphs.length + paragraph.length + sentence.length === 0) {
		const word = pick(random, words);
		sentence.push(word);
		size += word.length + 1;
		if (sentence.length >= 6 + random() * 10 || size >= bytes) {
			const text = sentence.join(' ');
			paragraph.push(`${text[0]?.toUpperCase()}${text.slice(1)}.`);
			sentence = [];
			size += 1;
			if (paragraph.length >= 5 || size >= bytes) {
				paragraphs.push(`<p>${paragraph.join(' ')}</p>`);
				paragraph = [];
				size += 8;
			}
		}
	}
	return paragraphs.join('\n');
}
