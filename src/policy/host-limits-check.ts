// Checks of host limits given in code (HostThrottle's options; a definition is checked by its schema).

export function checkLimits(where: string, limits: {readonly maxConcurrency?: number; readonly maxRequestsPerSecond?: number}): void {
	const {maxConcurrency, maxRequestsPerSecond} = limits;
	if (maxConcurrency !== undefined && !(Number.isInteger(maxConcurrency) && maxConcurrency >= 1) && maxConcurrency !== Infinity) {
		throw new TypeError(`Expected \`${where}.maxConcurrency\` to be an integer >= 1, got \`${String(maxConcurrency)}\``);
	}
	if (maxRequestsPerSecond !== undefined && !(Number.isFinite(maxRequestsPerSecond) && maxRequestsPerSecond > 0)) {
		throw new TypeError(`Expected \`${where}.maxRequestsPerSecond\` to be a number > 0, got \`${String(maxRequestsPerSecond)}\``);
	}
}

export function definedFields<T extends object>(value: T | undefined): Partial<T> {
	if (!value) return {};
	return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as Partial<T>;
}
