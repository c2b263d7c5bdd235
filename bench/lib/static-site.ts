// The bench site as static files behind nginx (issue 10, item 6: "2 workers ≥ 1.5× one" needs a
// site that is cheap to serve, or the site's own CPU on the 2 cores is what is measured).
// The demo site is crawled once, in this process, and every page it serves the crawl (the login
// form, the catalogue pages, the book pages) is written to a folder; nginx serves that folder
// with the same login wall: every page but /login answers 302 to /login without the session
// cookie, and POST /login sets it. The crawl the systems run is the same page for page.
import {spawn, spawnSync} from 'node:child_process';
import {chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {createServer} from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {randomBytes} from 'node:crypto';
import {startDemoSite} from '../../demo/site/index.js';
import {loginCookie} from './login.js';
import type {SiteProcess} from './site-process.js';

/** nginx on PATH (or in /usr/sbin), or undefined: `apt-get install nginx-light` provides it. */
export function findNginx(): string | undefined {
	for (const candidate of ['nginx', '/usr/sbin/nginx']) {
		if (spawnSync(candidate, ['-v'], {stdio: 'ignore'}).status === 0) return candidate;
	}
	return undefined;
}

export async function startStaticSite(options: {books: number; pageBytes: number; nginx: string}): Promise<SiteProcess & {readonly server: string}> {
	const root = mkdtempSync(path.join(tmpdir(), 'crawljar-bench-static-'));
	try {
		// nginx's worker runs as `nobody` when started by root: the snapshot must be readable by it.
		chmodSync(root, 0o755);
		await snapshot(options, path.join(root, 'pages'));
		const port = await freePort();
		const sid = randomBytes(16).toString('hex');
		writeFileSync(path.join(root, 'nginx.conf'), nginxConf(root, port, sid));
		const child = spawn(options.nginx, ['-p', root, '-c', path.join(root, 'nginx.conf')], {stdio: ['ignore', 'ignore', 'inherit']});
		const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
		const url = `http://127.0.0.1:${port}`;
		await waitUntilServing(url, child);
		return {
			url,
			pid: child.pid!,
			server: `nginx (${spawnSync(options.nginx, ['-v'], {encoding: 'utf8'}).stderr.trim()}), 1 worker process, static snapshot of the demo site`,
			async stop() {
				if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
				await exited;
				rmSync(root, {recursive: true, force: true});
			},
		};
	} catch (error) {
		rmSync(root, {recursive: true, force: true});
		throw error;
	}
}

/** Crawls the demo site (login, then every catalogue and book page) into `dir`: `<path>[?query].html`. */
async function snapshot(options: {books: number; pageBytes: number}, dir: string): Promise<void> {
	const site = await startDemoSite({books: options.books, pageBytes: options.pageBytes});
	try {
		const write = (pathAndQuery: string, html: string) => {
			const file = path.join(dir, `${decodeURIComponent(pathAndQuery)}.html`);
			mkdirSync(path.dirname(file), {recursive: true, mode: 0o755});
			writeFileSync(file, html, {mode: 0o644});
		};
		write('/login', await (await fetch(`${site.url}/login`)).text());
		const cookie = await loginCookie(site.url);
		const seen = new Set<string>(['/catalogue']);
		const pending = ['/catalogue'];
		const fetchOne = async (pathAndQuery: string) => {
			const response = await fetch(`${site.url}${pathAndQuery}`, {headers: {cookie}, redirect: 'manual'});
			const html = await response.text();
			if (response.status !== 200) throw new Error(`snapshot: ${pathAndQuery} answered ${response.status}`);
			write(pathAndQuery, html);
			// The links the bench crawlers follow: a.book and a.next (see bench/crawljar-definition.ts).
			for (const match of html.matchAll(/<a class="(?:book|next)" href="([^"]+)"/g)) {
				const link = match[1]!.replace(/&amp;/g, '&');
				if (!seen.has(link)) {
					seen.add(link);
					pending.push(link);
				}
			}
		};
		while (pending.length > 0) await Promise.all(pending.splice(0, 16).map(fetchOne));
	} finally {
		await site.close();
	}
}

function nginxConf(root: string, port: number, sid: string): string {
	// One worker: nginx's share of the 2 cores stays small and steady. Keep-alive as the demo site.
	return `daemon off;
master_process on;
worker_processes 1;
pid ${root}/nginx.pid;
error_log ${root}/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path ${root}/tmp-body;
	proxy_temp_path ${root}/tmp-proxy;
	fastcgi_temp_path ${root}/tmp-fastcgi;
	uwsgi_temp_path ${root}/tmp-uwsgi;
	scgi_temp_path ${root}/tmp-scgi;
	keepalive_requests 100000;
	default_type text/html;
	charset utf-8;
	map $cookie_sid $logged_in { "${sid}" 1; default 0; }
	server {
		listen 127.0.0.1:${port};
		root ${root}/pages;
		location = /login {
			if ($request_method = POST) {
				add_header Set-Cookie "sid=${sid}; Path=/; HttpOnly; SameSite=Lax";
				return 302 /catalogue;
			}
			try_files /login.html =404;
		}
		location / {
			if ($logged_in = 0) { return 302 /login; }
			try_files "$uri$is_args$args.html" =404;
		}
	}
}
`;
}

function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
		});
	});
}

async function waitUntilServing(url: string, child: ReturnType<typeof spawn>): Promise<void> {
	const deadline = Date.now() + 10_000;
	for (;;) {
		if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}) before serving ${url}`);
		try {
			const response = await fetch(`${url}/login`);
			await response.arrayBuffer();
			if (response.status === 200) return;
		} catch {
			// not listening yet
		}
		if (Date.now() > deadline) throw new Error(`nginx did not serve ${url}/login within 10 s`);
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}
