// Reads a V8 .cpuprofile (node --cpu-prof) and sums self time per function and per area
// (an npm package, a crawljar source file, node internals, GC).

interface ProfileNode {
	readonly id: number;
	readonly callFrame: {readonly functionName: string; readonly url: string; readonly lineNumber: number};
	readonly children?: readonly number[];
}

interface CpuProfile {
	readonly nodes: readonly ProfileNode[];
	readonly samples: readonly number[];
	readonly timeDeltas: readonly number[];
	readonly startTime: number;
	readonly endTime: number;
}

export interface ProfileEntry {
	readonly name: string;
	readonly selfMs: number;
	readonly percent: number;
}

export interface ProfileSummary {
	readonly totalMs: number;
	/** Sampled time minus idle. */
	readonly busyMs: number;
	readonly functions: readonly ProfileEntry[];
	readonly areas: readonly ProfileEntry[];
}

export function summarizeProfile(profile: CpuProfile, top = 25): ProfileSummary {
	const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
	const selfMicros = new Map<number, number>();
	profile.samples.forEach((id, index) => selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));
	const byFunction = new Map<string, number>();
	const byArea = new Map<string, number>();
	let total = 0;
	let idle = 0;
	for (const [id, micros] of selfMicros) {
		const frame = nodes.get(id)?.callFrame;
		if (!frame) continue;
		total += micros;
		if (frame.functionName === '(idle)') {
			idle += micros;
			continue;
		}
		const where = shortUrl(frame.url);
		const name = `${frame.functionName || '(anonymous)'} ${where ? `${where}:${frame.lineNumber + 1}` : ''}`.trim();
		byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
		const area = areaOf(frame.url, frame.functionName);
		byArea.set(area, (byArea.get(area) ?? 0) + micros);
	}
	const busy = total - idle;
	const entries = (map: Map<string, number>) =>
		[...map]
			.sort((a, b) => b[1] - a[1])
			.slice(0, top)
			.map(([name, micros]) => ({name, selfMs: micros / 1000, percent: (100 * micros) / busy}));
	return {totalMs: total / 1000, busyMs: busy / 1000, functions: entries(byFunction), areas: entries(byArea)};
}

function shortUrl(url: string): string {
	const modules = url.lastIndexOf('node_modules/');
	if (modules >= 0) return url.slice(modules + 'node_modules/'.length);
	const source = url.search(/\/(src|bench|demo)\//);
	if (source >= 0) return url.slice(source + 1);
	return url.replace(/^file:\/\//, '');
}

function areaOf(url: string, functionName: string): string {
	if (!url) return functionName.startsWith('(') ? functionName : '(native)';
	const modules = url.lastIndexOf('node_modules/');
	if (modules >= 0) {
		const rest = url.slice(modules + 'node_modules/'.length).split('/');
		return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
	}
	if (url.startsWith('node:')) return 'node internals';
	const source = url.search(/\/(src|bench|demo)\//);
	return source >= 0 ? url.slice(source + 1) : url;
}
