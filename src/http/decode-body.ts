// Content-Encoding decoding under a size limit. got's own decompression happens inside its
// stream and its download progress counts compressed bytes, so a 1 MB gzip body that inflates to
// 1 GiB was held whole in memory before any limit applied (issue 14 item 1). Here the raw body
// (itself bounded by maxBodyBytes while it downloads) is decoded by zlib with maxOutputLength:
// zlib stops producing output as soon as the decoded size passes the limit, so a bomb costs at
// most the limit in memory and the time to inflate that much.
import {promisify} from 'node:util';
import zlib from 'node:zlib';
import {CrawljarError, redactUrl} from '../errors.js';

/** What crawljar asks for; every one of these is decoded below. */
export const ACCEPT_ENCODING = 'gzip, deflate, br';

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);
const brotliDecompress = promisify(zlib.brotliDecompress);

// Like got and browsers: a body cut short at the end still yields what was decoded.
const ZLIB_OPTIONS = {flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH};

export interface DecodedBody {
	readonly body: Buffer;
	/** False when the encoding is unknown (e.g. zstd): the body is passed on as received. */
	readonly decoded: boolean;
}

/**
 * Decodes `raw` per its Content-Encoding (a list is applied in reverse, as RFC 9110 says).
 * Throws ERR_BODY_TOO_LARGE as soon as a decoded size passes `maxBytes`; a corrupt body throws
 * zlib's error (Z_DATA_ERROR…), which the caller reports as a network error.
 */
export async function decodeBody(raw: Buffer, contentEncoding: string | undefined, maxBytes: number, url: string): Promise<DecodedBody> {
	const codings = (contentEncoding ?? '')
		.toLowerCase()
		.split(',')
		.map((coding) => coding.trim())
		.filter((coding) => coding !== '' && coding !== 'identity');
	if (codings.length === 0 || raw.length === 0) return {body: raw, decoded: codings.length === 0};
	let body = raw;
	for (const coding of codings.reverse()) {
		const decoder = decoderFor(coding, body);
		if (!decoder) return {body: raw, decoded: false};
		try {
			body = await decoder(body, {...ZLIB_OPTIONS, maxOutputLength: maxBytes});
		} catch (error) {
			if ((error as {code?: string}).code === 'ERR_BUFFER_TOO_LARGE') {
				throw new CrawljarError('ERR_BODY_TOO_LARGE', `Decoded body over maxBodyBytes (${maxBytes}) at ${redactUrl(url)}`, {cause: error});
			}
			throw error;
		}
	}
	return {body, decoded: true};
}

type Decoder = (input: Buffer, options: zlib.ZlibOptions & zlib.BrotliOptions) => Promise<Buffer>;

function decoderFor(coding: string, body: Buffer): Decoder | undefined {
	switch (coding) {
		case 'gzip':
		case 'x-gzip':
			return gunzip;
		case 'deflate':
		case 'x-deflate':
			// "deflate" is meant to be zlib-wrapped, but some servers send raw deflate (as got checks).
			return (body[0]! & 0x0f) === 8 ? inflate : inflateRaw;
		case 'br':
			return brotliDecompress as Decoder;
		default:
			return undefined;
	}
}
