/**
 * Moving pages between backends (writeback, swapoff): each page is checked
 * against its slot's checksum, placed by the tier policy (never back on the
 * backend it leaves), and the slot flips to the new copy only if it still
 * points at the old one; the old copy is deleted afterwards. Slot ids never
 * change.
 */
import { pageChecksum } from '../common/checksum';
import type { Logger } from '../common/logger';
import type { DeleteReason } from '../../proto/generated/vswap/v1/DeleteReason';
import type { BackendView } from './backend-view';
import type { DeleteQueue } from './delete-queue';
import type { TierPolicy } from './placement';
import type { SlotStore } from './slot-store';
import type { SlotTable } from './slot-table';
import type { CoordinatorCounters } from './stats';
import type { SwapCache } from './swap-cache';
import { tierOfBackend } from './tiers';

export interface MigratorOptions {
  table: SlotTable;
  cache: SwapCache;
  store: SlotStore;
  deletes: DeleteQueue;
  policy: TierPolicy;
  counters: CoordinatorCounters;
  log: Logger;
}

export class Migrator {
  constructor(private readonly options: MigratorOptions) {}

  /**
   * Moves slots off `from`: `candidatePages[k]` was read from handle
   * `readFrom[k]` of `candidates[k]`. Returns the pages moved.
   */
  async migrate(
    from: BackendView,
    candidates: number[],
    readFrom: number[],
    candidatePages: Buffer[],
    opts: { allowZswap: boolean; reason: DeleteReason },
  ): Promise<number> {
    const { table, cache, store, deletes, counters } = this.options;
    // The pages were read before an await: keep only slots still backed by
    // the copy each page came from (a Store or another migration may have
    // won meanwhile), and never move a page that fails its checksum: such a
    // slot is lost (DATA_LOSS on Load, counted), not migrated.
    const slots: number[] = [];
    const old: number[] = [];
    const pages: Buffer[] = [];
    let lost = 0;
    store.reserve(candidates.length);
    for (let k = 0; k < candidates.length; k++) {
      const s = candidates[k]!;
      if (table.backendOf(s) !== from.id || table.handleOf(s) !== readFrom[k] || cache.hasWriter(s)) continue;
      if (pageChecksum(candidatePages[k]!) !== table.checksumOf(s)) {
        counters.checksum_failures++;
        counters.lost_pages++;
        this.options.log.error(
          { slot: s, backend: from.name },
          'page failed its checksum during migration: marked lost',
        );
        store.markLost(s);
        deletes.add(from.id, readFrom[k]!, opts.reason);
        lost++;
        continue;
      }
      slots.push(s);
      old.push(readFrom[k]!);
      pages.push(candidatePages[k]!);
    }
    if (slots.length === 0) {
      if (lost > 0) await store.commit();
      return 0;
    }
    const tokens = slots.map((s, k) => cache.beginWrite(s, pages[k]!));
    let moved = 0;
    try {
      await this.options.policy.place(
        pages,
        slots.map((s) => table.ownerOf(s) ?? ''),
        slots,
        { allowZswap: opts.allowZswap, exclude: from },
        (placed) => {
          store.reserve(slots.length);
          for (let k = 0; k < slots.length; k++) {
            const s = slots[k]!;
            const p = placed[k]!;
            const current =
              cache.isLatest(s, tokens[k]!) && table.backendOf(s) === from.id && table.handleOf(s) === old[k];
            if (!current) {
              deletes.add(p.backend.id, p.handle, 'DELETE_REPLACED');
              continue;
            }
            store.setBacking(s, {
              tier: tierOfBackend(p.backend.kind),
              backend: p.backend.id,
              handle: p.handle,
              checksum: table.checksumOf(s),
            });
            deletes.add(from.id, old[k]!, opts.reason);
            moved++;
          }
        },
      );
    } finally {
      for (let k = 0; k < slots.length; k++) store.release(cache.endWrite(slots[k]!, tokens[k]!));
    }
    await store.commit();
    counters.migrated_pages += moved;
    return moved;
  }
}
