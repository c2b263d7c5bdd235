// The lease a worker holds its requests under (issue 10): its type, check and default together.
import {CrawljarError} from '../errors.js';
import {z} from 'zod';

/**
 * Three heartbeats per lease (one every leaseMs / 3): one slow or lost heartbeat loses nothing,
 * and the pages of a worker that died are back in play within 15 s.
 */
export const DEFAULT_LEASE_MS = 15_000;
/** Below a second the heartbeat itself (every leaseMs / 3) would be most of the store's work. */
export const MIN_LEASE_MS = 1_000;

const isLeaseMs = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= MIN_LEASE_MS;

export const leaseMsSchema = z.custom<number>(isLeaseMs, {message: `expected an integer >= ${MIN_LEASE_MS} (milliseconds)`});

/** RunOptions.leaseMs is not part of the definition: checked here, naming the option. */
export function checkLeaseMs(value: number | undefined, field: string): number | undefined {
	if (value === undefined || isLeaseMs(value)) return value;
	throw new CrawljarError('ERR_USAGE', `${field}: expected an integer >= ${MIN_LEASE_MS} (milliseconds)`);
}
