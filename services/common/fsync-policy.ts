/**
 * When a durable store (the coordinator's journal, the swapfile's file store)
 * syncs what it wrote: `always` before answering, `batch` on a short timer,
 * `never` (left to the OS).
 */
export const FSYNC_POLICIES = ['always', 'batch', 'never'] as const;
export type FsyncPolicy = (typeof FSYNC_POLICIES)[number];
