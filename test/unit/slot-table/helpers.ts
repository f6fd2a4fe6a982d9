import { expect } from 'vitest';
import { SlotTable, type Result } from '../../../services/coordinator/slot-table';

/** Everything a caller can observe about some slots and the table's totals. */
export function snapshot(t: SlotTable, slots: readonly number[]): unknown {
  return {
    slots: slots.map((s) => ({
      s,
      live: t.isLive(s),
      count: t.countOf(s),
      tier: t.tierOf(s),
      backend: t.backendOf(s),
      handle: t.handleOf(s),
      checksum: t.checksumOf(s),
      owner: t.ownerOf(s),
      pinned: t.isPinned(s),
    })),
    used: t.usedSlots(),
    byTier: t.pagesByTier(),
    owners: t.owners().sort(),
    clusters: t.clusterCount(),
  };
}

/** Asserts the result is ok and returns its value. */
export function ok<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}

/** Asserts the result failed with this code (and a message matching, if given). */
export function expectError<T>(r: Result<T>, code: number, message?: RegExp): void {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.error.code).toBe(code);
  if (message) expect(r.error.message).toMatch(message);
}

export const clusterOf = (slot: number): number => Math.floor(slot / 512);
