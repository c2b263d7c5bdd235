// What both engines do with a batch of host updates before writing it (Store.updateHosts).
import type {HostUpdate} from './store.js';

/**
 * One update per host, sorted by host (a networked engine then takes the rows' locks in one
 * order, so two batches cannot deadlock): the latest cooldown end and the latest-set rate win.
 */
export function mergeHostUpdates(updates: readonly HostUpdate[]): HostUpdate[] {
	const byHost = new Map<string, HostUpdate>();
	for (const update of updates) {
		const before = byHost.get(update.host);
		if (!before) {
			byHost.set(update.host, update);
			continue;
		}
		const cooldownUntil = Math.max(before.cooldownUntil ?? 0, update.cooldownUntil ?? 0);
		const rate = !before.rate || (update.rate && update.rate.setAt >= before.rate.setAt) ? update.rate : before.rate;
		byHost.set(update.host, {host: update.host, ...(cooldownUntil > 0 ? {cooldownUntil} : {}), ...(rate ? {rate} : {})});
	}
	return [...byHost.values()].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
}
