// The catalogue: paginated listings (all books, a category, a search) and the book pages.
import {bookRandom, categories, createRandom, expectedBook, pick, relatedIds, slugify, words} from './books.js';
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

const descriptionMarker = '<div class="description">\n';

function bookPage(id: number, bookCount: number, pageBytes: number, user: string | undefined): string {
	const book = expectedBook(id);
	// Entities keep the page a one-byte string, cheaper to measure and encode than a UTF-16 one.
	const stars = '&#9733;'.repeat(book.rating) + '&#9734;'.repeat(5 - book.rating);
	const related = relatedIds(id, bookCount).map((other) => {
		return `<li><a class="book related" href="/books/${other}">${escapeHtml(expectedBook(other).title)}</a></li>`;
	});
	const page = (description: string): string => layout(book.title, `<nav class="breadcrumb"><a href="/catalogue">Catalogue</a> &rsaquo; <a class="category" href="/categories/${book.categorySlug}">${book.category}</a></nav>
<article class="book" data-id="${id}">
<h1>${escapeHtml(book.title)}</h1>
<p class="price">${book.priceText}</p>
<p class="stock">${book.stockText}</p>
<p>Rating: <span class="rating" data-stars="${book.rating}">${stars}</span></p>
${descriptionMarker}${description}
</div>
</article>
<section class="related">
<h2>You may also like</h2>
<ul>
${related.join('\n')}
</ul>
</section>`, user);
	// Rendered once, measured, and the description spliced in to fill the page to size.
	const empty = page('');
	const at = empty.indexOf(descriptionMarker) + descriptionMarker.length;
	return empty.slice(0, at) + description(id, pageBytes - Buffer.byteLength(empty)) + empty.slice(at);
}

/**
 * Prose shared by every description: a book's text is a slice of it at a place picked from the
 * id, so a 10 KB page costs a slice, not thousands of random draws (the bench serves 1,000+ pages/s).
 */
const prose = (() => {
	const random = createRandom(20_260_101);
	const paragraphs: string[] = [];
	for (let size = 0; size < 256 * 1024;) {
		const sentences: string[] = [];
		for (let count = 3 + Math.floor(random() * 4); count > 0; count--) {
			const sentence = Array.from({length: 6 + Math.floor(random() * 10)}, () => pick(random, words)).join(' ');
			sentences.push(`${sentence[0]?.toUpperCase()}${sentence.slice(1)}.`);
		}
		const paragraph = `<p>${sentences.join(' ')}</p>`;
		paragraphs.push(paragraph);
		size += paragraph.length + 1;
	}
	return paragraphs.join('\n');
})();

/** About `bytes` of ASCII prose (at least one sentence), the same for the same book every time. */
function description(id: number, bytes: number): string {
	const length = Math.max(64, Math.min(bytes, prose.length / 2));
	const offset = Math.floor(bookRandom(id, 'text')() * (prose.length - length - 1024));
	const start = prose.indexOf('<p>', offset);
	const text = prose.slice(start, start + length - 4);
	// End on a full sentence; `</p>` closes whichever paragraph the cut fell in.
	return `${text.slice(0, text.lastIndexOf('.') + 1)}</p>`;
}
