// Issue 14 item 1: maxBodyBytes bounds the DECODED body. A small compressed response that
// inflates to hundreds of MiB (gzip, deflate, br; with and without content-length) fails with
// ERR_BODY_TOO_LARGE quickly, and the process's memory stays near the limit. Each bomb is fetched
// by a child process, so its memory rise is the fetch's own.
import assert from 'node:assert/strict';
import {execFile} from 'node:child_process';
import type http from 'node:http';
import path from 'node:path';
import {Readable} from 'node:stream';
import {buffer as collect} from 'node:stream/consumers';
import {promisify} from 'node:util';
import zlib from 'node:zlib';
import {before, describe, test} from 'node:test';
import {fetchPage} from '../../src/http/fetch.js';
import {startServer} from '../sites/start-server.js';

const MiB = 1024 * 1024;
const LIMIT = 8 * MiB;
/** Decoded size of every bomb: far over LIMIT + the 100 MiB allowance, if anything buffered it. */
const BOMB_BYTES = 256 * MiB;
const CHILD = path.join(import.meta.dirname, 'fixtures/fetch-measured.ts');
const TSX = import.meta.resolve('tsx');

/** BOMB_BYTES of zeros through an encoder, without ever holding them. */
function compressZeros(encoder: zlib.Gzip | zlib.Deflate | zlib.BrotliCompress): Promise<Buffer> {
	const zeros = Buffer.alloc(MiB);
	let left = BOMB_BYTES / MiB;
	const source = new Readable({
		read() {
			this.push(left-- > 0 ? zeros : null);
		},
	});
	return collect(source.pipe(encoder));
}

interface Measured {
	code: string;
	bodyBytes: number;
	ms: number;
	rssGrowth: number;
	arrayBuffersGrowth: number;
}

async function fetchInChild(url: string, warmUp: string): Promise<Measured> {
	const {stdout} = await promisify(execFile)(process.execPath, ['--import', TSX, CHILD, url, String(LIMIT), warmUp], {timeout: 120_000});
	return JSON.parse(stdout.trim().split('\n').at(-1)!) as Measured;
}

describe('maxBodyBytes bounds the decoded body', () => {
	const bombs: Record<string, Buffer> = {};
	before(async () => {
		bombs.gzip = await compressZeros(zlib.createGzip({level: 9}));
		bombs.deflate = await compressZeros(zlib.createDeflate({level: 9}));
		bombs.br = await compressZeros(zlib.createBrotliCompress({params: {[zlib.constants.BROTLI_PARAM_QUALITY]: 5}}));
	});

	/** /<encoding>?length=1 declares the (small, compressed) content-length; otherwise chunked. */
	const serveBombs = (request: http.IncomingMessage, response: http.ServerResponse) => {
		const {pathname, searchParams} = new URL(request.url ?? '/', 'http://x');
		const encoding = pathname.slice(1);
		const bomb = bombs[encoding];
		if (!bomb) {
			response.end('warm');
			return;
		}
		response.setHeader('content-type', 'text/html');
		response.setHeader('content-encoding', encoding);
		if (searchParams.has('length')) response.setHeader('content-length', bomb.length);
		// Several writes: a chunked body arrives in pieces, as from a real server.
		for (let offset = 0; offset < bomb.length; offset += 64 * 1024) response.write(bomb.subarray(offset, offset + 64 * 1024));
		response.end();
	};

	for (const [encoding, withLength] of [['gzip', true], ['gzip', false], ['deflate', true], ['br', false]] as const) {
		test(`${encoding} bomb, ${withLength ? 'with' : 'without'} content-length: ERR_BODY_TOO_LARGE, memory within the limit + 100 MiB`, {timeout: 150_000}, async (t) => {
			assert.ok(bombs[encoding]!.length < LIMIT, 'the compressed body itself is under the limit');
			const server = await startServer(t, serveBombs);
			const measured = await fetchInChild(`${server.url}/${encoding}${withLength ? '?length=1' : ''}`, `${server.url}/warm`);
			assert.equal(measured.code, 'ERR_BODY_TOO_LARGE', JSON.stringify(measured));
			assert.ok(measured.rssGrowth < LIMIT + 100 * MiB, `RSS grew ${Math.round(measured.rssGrowth / MiB)} MiB`);
			assert.ok(measured.arrayBuffersGrowth < LIMIT + 100 * MiB, `arrayBuffers grew ${Math.round(measured.arrayBuffersGrowth / MiB)} MiB`);
			// Only catches a hang or a full inflate on a loaded machine: 256 MiB is not decoded.
			assert.ok(measured.ms < 30_000, `took ${measured.ms} ms`);
		});
	}

	test('gzip, deflate (zlib and raw) and br bodies are decoded; the encoding header is gone; crawljar asks for them', async (t) => {
		const page = Buffer.from('<!doctype html><h1>décodé</h1>'.repeat(50));
		const encoders: Record<string, (input: Buffer) => Buffer> = {
			gzip: (input) => zlib.gzipSync(input),
			deflate: (input) => zlib.deflateSync(input),
			'deflate-raw': (input) => zlib.deflateRawSync(input),
			br: (input) => zlib.brotliCompressSync(input),
			'gzip-then-br': (input) => zlib.brotliCompressSync(zlib.gzipSync(input)),
		};
		const headerOf: Record<string, string> = {'deflate-raw': 'deflate', 'gzip-then-br': 'gzip, br'};
		const accepted: string[] = [];
		const server = await startServer(t, (request, response) => {
			accepted.push(request.headers['accept-encoding'] ?? '');
			const name = (request.url ?? '/').slice(1);
			const body = encoders[name]!(page);
			response.writeHead(200, {'content-type': 'text/html', 'content-encoding': headerOf[name] ?? name, 'content-length': body.length});
			response.end(body);
		});
		for (const name of Object.keys(encoders)) {
			const result = await fetchPage(`${server.url}/${name}`, {useHeaderGenerator: false});
			assert.deepEqual(result.body, page, name);
			assert.equal(result.headers['content-encoding'], undefined, name);
		}
		assert.deepEqual(new Set(accepted), new Set(['gzip, deflate, br']));
	});

	test('a decoded body of exactly maxBodyBytes passes, one byte more fails', async (t) => {
		const page = Buffer.alloc(4096, 'a');
		const gzipped = zlib.gzipSync(page);
		const server = await startServer(t, (_request, response) => {
			response.writeHead(200, {'content-encoding': 'gzip'});
			response.end(gzipped);
		});
		assert.equal((await fetchPage(server.url, {maxBodyBytes: 4096, useHeaderGenerator: false})).body.length, 4096);
		await assert.rejects(fetchPage(server.url, {maxBodyBytes: 4095, useHeaderGenerator: false}), {code: 'ERR_BODY_TOO_LARGE'});
	});

	test('a corrupt gzip body is a network error, not a crash', async (t) => {
		const server = await startServer(t, (_request, response) => {
			response.writeHead(200, {'content-encoding': 'gzip'});
			response.end(Buffer.from('this is not gzip at all'));
		});
		await assert.rejects(fetchPage(server.url, {useHeaderGenerator: false}), {code: 'ERR_NETWORK'});
	});
});
