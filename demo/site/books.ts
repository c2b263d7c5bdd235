// Deterministic book data: everything about a book follows from its id through a seeded PRNG,
// so tests can compute what a crawler should extract without reading the pages.

export interface ExpectedBook {
	readonly id: number;
	/** Path of the book page, e.g. `/books/7`. */
	readonly path: string;
	/** As a crawler should extract it: entities decoded (some titles contain `&` or `'`). */
	readonly title: string;
	/** In pounds, e.g. 12.34. */
	readonly price: number;
	/** The page text, e.g. `£12.34`. */
	readonly priceText: string;
	/** Copies available; 0 when out of stock. */
	readonly stock: number;
	/** The page text: `In stock (7 available)` or `Out of stock`. */
	readonly stockText: string;
	/** 1 to 5, the `data-stars` attribute. */
	readonly rating: number;
	readonly category: string;
	readonly categorySlug: string;
}

export const categories = [
	'Fiction', 'Poetry', 'History', 'Science', 'Travel', 'Mystery', 'Cookery', 'Philosophy',
] as const;

const adjectives = [
	'Silent', 'Crimson', 'Hidden', 'Last', 'Wandering', 'Golden', 'Broken', 'Northern', 'Quiet',
	'Burning', 'Paper', 'Winter', 'Salt', 'Glass', 'Hollow', 'Distant', 'Little', 'Iron',
];
const nouns = [
	'Harbour', 'Garden', 'Orchard', 'Lantern', 'River', 'Archive', 'Compass', 'Meadow', 'Tower',
	'Voyage', 'Letters', 'Kingdom', 'Atlas', 'Clockmaker', 'Mirror', 'Island', 'Forest', 'Bridge',
];
const patterns = [
	(a: string, n: string) => `The ${a} ${n}`,
	(a: string, n: string) => `${a} ${n}`,
	(a: string, n: string) => `${a} Songs of the ${n}`,
	(a: string, n: string) => `${n} & ${a}`,
	(a: string, n: string) => `The ${n}'s ${a} Year`,
];
export const words = [
	'lorem', 'ipsum', 'dolor', 'sit', 'amet', 'river', 'lantern', 'quiet', 'northern', 'story',
	'chapter', 'voyage', 'memory', 'garden', 'letter', 'winter', 'island', 'harbour', 'bridge',
	'clock', 'mirror', 'atlas', 'paper', 'salt', 'glass', 'evening', 'morning', 'across', 'under',
	'between', 'and', 'the', 'of', 'a', 'with', 'without', 'beyond', 'slowly', 'bright', 'old',
];

/** mulberry32: tiny, fast and good enough for test data. */
export function createRandom(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
	};
}

export function pick<T>(random: () => number, items: readonly T[]): T {
	return items[Math.floor(random() * items.length)] as T;
}

/** A second stream per book (description, related links) leaves the extracted fields stable. */
const streamSeeds = {fields: 0x1234_5678, related: 0x0bad_cafe, text: 0x5eed_0123} as const;

export function bookRandom(id: number, stream: keyof typeof streamSeeds): () => number {
	return createRandom(Math.imul(id, 2_654_435_761) ^ streamSeeds[stream]);
}

export function slugify(name: string): string {
	return name.toLowerCase().replaceAll(/[^a-z0-9]+/g, '-');
}

export function expectedBook(id: number): ExpectedBook {
	if (!Number.isInteger(id) || id < 1) throw new RangeError(`book id: expected an integer >= 1, received ${id}`);
	const random = bookRandom(id, 'fields');
	const title = pick(random, patterns)(pick(random, adjectives), pick(random, nouns));
	const pence = 500 + Math.floor(random() * 5_500);
	const price = pence / 100;
	// About one book in ten is out of stock, so "stock" parsing has a second shape to handle.
	const stock = random() < 0.1 ? 0 : 1 + Math.floor(random() * 20);
	const rating = 1 + Math.floor(random() * 5);
	const category = pick(random, categories);
	return {
		id,
		path: `/books/${id}`,
		title: `${title} (No. ${id})`,
		price,
		priceText: `£${price.toFixed(2)}`,
		stock,
		stockText: stock === 0 ? 'Out of stock' : `In stock (${stock} available)`,
		rating,
		category,
		categorySlug: slugify(category),
	};
}

/** Ids of the books a book page links to: about ten, some repeated across pages on purpose. */
export function relatedIds(id: number, bookCount: number): number[] {
	const random = bookRandom(id, 'related');
	const ids: number[] = [];
	for (let index = 0; index < 10; index++) ids.push(1 + Math.floor(random() * bookCount));
	// Neighbours make the link graph connected, so a crawl from any page can reach every book.
	if (id < bookCount) ids.push(id + 1);
	if (id > 1) ids.push(id - 1);
	return ids;
}

/** Book ids per category slug, in id order. */
export function idsByCategory(bookCount: number): Map<string, number[]> {
	const byCategory = new Map<string, number[]>(categories.map((name) => [slugify(name), []]));
	for (let id = 1; id <= bookCount; id++) byCategory.get(expectedBook(id).categorySlug)?.push(id);
	return byCategory;
}
