/**
 * The coordinator's counters (Stats and metrics read them; every field only
 * grows).
 */

export interface CoordinatorCounters {
  swap_outs: number;
  swap_ins: number;
  written_back_pages: number;
  writeback_skipped: number;
  writeback_stalls: number;
  migrated_pages: number;
  lost_pages: number;
  checksum_failures: number;
  reconciles: number;
  orphans_deleted: number;
  backend_delete_retries: number;
}

export function newCounters(): CoordinatorCounters {
  return {
    swap_outs: 0,
    swap_ins: 0,
    written_back_pages: 0,
    writeback_skipped: 0,
    writeback_stalls: 0,
    migrated_pages: 0,
    lost_pages: 0,
    checksum_failures: 0,
    reconciles: 0,
    orphans_deleted: 0,
    backend_delete_retries: 0,
  };
}
