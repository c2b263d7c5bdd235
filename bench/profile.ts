// Profiles crawljar's crawl of the bench site (node --cpu-prof in the crawler's process) and prints
// the top self-time functions and areas, per page.
//
//   npx tsx bench/profile.ts [books=5000] [concurrency=10]
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {startSiteProcess} from './lib/site-process.js';
import {repoDir, runChild} from './lib/spawn-child.js';
import {round, table} from './lib/stats.js';
import {summarizeProfile, type ProfileSummary} from './lib/summarize-profile.js';
import type {Measurement, SystemName, WorkerConfig} from './lib/types.js';

export interface ProfileResult {
	readonly system: SystemName;
	readonly measurement: Measurement;
	readonly profile: ProfileSummary;
	readonly profileFile: string;
}

export async function profileSystem(system: SystemName, books: number, concurrency: number, pageBytes = 10_000): Promise<ProfileResult> {
	const site = await startSiteProcess({books, pageBytes});
	const storageDir = mkdtempSync(path.join(tmpdir(), 'crawljar-bench-prof-'));
	const profileDir = path.join(repoDir, 'bench/tmp/profile', `${system}-${Date.now()}`);
	mkdirSync(profileDir, {recursive: true});
	try {
		const config: WorkerConfig = {system, siteUrl: site.url, concurrency, books, perPage: 20, storageDir};
		const measurement = await runChild<Measurement>('bench/worker.ts', [JSON.stringify(config)], {
			nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
		});
		const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
		if (!file) throw new Error(`no .cpuprofile in ${profileDir}`);
		const profileFile = path.join(profileDir, file);
		return {system, measurement, profile: summarizeProfile(JSON.parse(readFileSync(profileFile, 'utf8'))), profileFile};
	} finally {
		await site.stop();
		rmSync(storageDir, {recursive: true, force: true});
	}
}

export function formatProfile(result: ProfileResult): string {
	const {profile, measurement} = result;
	const perPage = (ms: number) => `${round((ms * 1000) / measurement.pages, 1)}`;
	const rows = (entries: ProfileSummary['functions']) => entries.map((entry) => [entry.name, `${round(entry.selfMs, 0)}`, `${round(entry.percent, 1)}%`, perPage(entry.selfMs)]);
	return [
		`${result.system}: ${measurement.pages} pages in ${round(measurement.elapsedMs / 1000, 2)} s; busy CPU ${round(profile.busyMs, 0)} ms = ${perPage(profile.busyMs)} µs/page (profile: ${path.relative(repoDir, result.profileFile)})`,
		'',
		table(['area (self time)', 'ms', 'share', 'µs/page'], rows(profile.areas.slice(0, 15))),
		'',
		table(['function (self time)', 'ms', 'share', 'µs/page'], rows(profile.functions)),
	].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
	const books = Number(process.argv[2] ?? 5000);
	const concurrency = Number(process.argv[3] ?? 10);
	const system = (process.argv[4] ?? 'crawljar') as SystemName;
	console.log(formatProfile(await profileSystem(system, books, concurrency)));
}
