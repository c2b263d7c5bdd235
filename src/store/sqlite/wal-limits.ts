// When the store checkpoints its WAL (automatic checkpoints are off: they stall commits).

/**
 * Checkpoint once the WAL file passes this size. Size, not a commit count, is what a checkpoint
 * costs: a commit that enqueues new links dirties many index pages, one that finds them known
 * dirties few. Small enough that one checkpoint stays in the tens of ms.
 */
export const checkpointWalBytes = 16 * 1024 * 1024;
/** Where SQLite truncates the WAL after a completed checkpoint, so its size tells its content again. */
export const walSizeLimitBytes = 4 * 1024 * 1024;
