// The extraction every cheerio-based system runs on a book page, so they all do the same work.

/** The few cheerio calls the extraction needs (cheerio 1.0 in Crawlee and 1.2 in crawljar differ in types, not in these). */
export interface Selectable {
	(selector: string): {text(): string; attr(name: string): string | undefined; length: number};
}

export interface Book {
	readonly url: string;
	readonly title: string;
	readonly price: number;
	readonly inStock: boolean;
	readonly rating: number;
}

/**
 * `--handler-cpu-us N` (BENCH_HANDLER_CPU_US): N µs of extra CPU per book page, the same in every
 * system: a handler with real extraction work (big tables, many fields), where handler threads pay.
 */
const extraCpuUs = Number(process.env.BENCH_HANDLER_CPU_US ?? 0);

function spin(us: number): void {
	const until = process.hrtime.bigint() + BigInt(Math.round(us * 1000));
	while (process.hrtime.bigint() < until);
}

export function extractBook($: Selectable, url: string): Book {
	if (extraCpuUs > 0) spin(extraCpuUs);
	return {
		url,
		title: $('h1').text().trim(),
		price: Number($('p.price').text().replace(/[^0-9.]/g, '')),
		inStock: !$('p.stock').text().includes('Out of stock'),
		rating: Number($('.rating').attr('data-stars')),
	};
}

/** The site's login page (a logged-out answer): every system must see none. */
export function isLoginPage($: Selectable): boolean {
	return $('form#login').length > 0;
}
