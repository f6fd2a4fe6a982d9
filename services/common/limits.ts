/** Size of every page that crosses the wire: the kernel's PAGE_SIZE. */
export const PAGE_SIZE = 4096;
/** Pages or slots per data-path request: one 2 MiB huge page (a PMD cluster). */
export const MAX_BATCH = 512;
/** Slots per cluster, virtual and physical alike (SWAPFILE_CLUSTER). */
export const CLUSTER_SLOTS = 512;
/**
 * gRPC message limit on both sides: a full batch of pages plus generous room
 * for framing and per-page fields, so a batch never trips the transport limit.
 */
export const MAX_MESSAGE_BYTES = MAX_BATCH * PAGE_SIZE * 2 + 1024 * 1024;
/** Handles per Reconcile chunk (8 bytes each: 512 KiB). */
export const RECONCILE_CHUNK = 65536;
