/**
 * Writes pages to slots (SwapOut, Store): an all-zero page becomes TIER_ZERO
 * with no backend I/O, the rest are placed by the tier policy. Each slot is
 * pinned in the swap cache, holding its page, until the new backing is
 * recorded; the latest write to a slot wins and an older one finishing later
 * deletes its own copy. All or nothing: on failure no slot changes.
 */
import { ZERO_PAGE_CHECKSUM, pageChecksums } from '../common/checksum';
import { isZeroPage } from '../common/pages';
import type { DeleteQueue } from './delete-queue';
import type { Placement, TierPolicy } from './placement';
import type { SlotStore } from './slot-store';
import type { Backing, SlotTable } from './slot-table';
import type { SwapCache } from './swap-cache';
import { TierCode, type TierName, onBackend, tierName, tierOfBackend } from './tiers';

export interface WritePathOptions {
  table: SlotTable;
  cache: SwapCache;
  store: SlotStore;
  deletes: DeleteQueue;
  policy: TierPolicy;
}

export class WritePath {
  constructor(private readonly options: WritePathOptions) {}

  /**
   * Writes `pages[i]` to `slots[i]` (slots already checked); returns each
   * page's tier. `answerBytes`: journal room the call's answer record needs
   * (CallContext.answer), reserved with the records of the commit; `sums`:
   * the pages' checksums when the caller has them (CallContext.pageSums).
   */
  async write(
    owner: string,
    slots: readonly number[],
    pages: readonly Buffer[],
    answerBytes = 0,
    sums?: Uint32Array,
  ): Promise<TierName[]> {
    const { table, cache, store, deletes } = this.options;
    const n = slots.length;
    const tokens = new Array<number>(n);
    const checksums = pageChecksums(pages, sums);
    const dataIdx: number[] = [];
    for (let i = 0; i < n; i++) {
      const page = pages[i]!;
      tokens[i] = cache.beginWrite(slots[i]!, page);
      if (checksums[i] !== ZERO_PAGE_CHECKSUM || !isZeroPage(page)) dataIdx.push(i);
    }
    const tiers = new Array<TierName>(n);
    try {
      const commit = (placed: Placement[]): void => {
        store.reserve(n, answerBytes);
        let byIndex: (Placement | undefined)[] = placed;
        if (dataIdx.length < n) {
          byIndex = new Array<Placement | undefined>(n);
          dataIdx.forEach((i, k) => (byIndex[i] = placed[k]));
        }
        for (let i = 0; i < n; i++) {
          const slot = slots[i]!;
          const p = byIndex[i];
          const backing: Backing = p
            ? { tier: tierOfBackend(p.backend.kind), backend: p.backend.id, handle: p.handle, checksum: checksums[i]! }
            : { tier: TierCode.ZERO, backend: 0, handle: 0, checksum: checksums[i]! };
          tiers[i] = tierName(backing.tier);
          if (!cache.isLatest(slot, tokens[i]!)) {
            // A newer write to this slot won; this copy is stale.
            if (p) deletes.add(p.backend.id, p.handle, 'DELETE_REPLACED');
            continue;
          }
          if (onBackend(table.tierOf(slot)))
            deletes.add(table.backendOf(slot), table.handleOf(slot), 'DELETE_REPLACED');
          store.setBacking(slot, backing);
        }
      };
      if (dataIdx.length === 0) commit([]);
      else
        await this.options.policy.place(
          dataIdx.length === n ? pages : dataIdx.map((i) => pages[i]!),
          new Array<string>(dataIdx.length).fill(owner),
          dataIdx.length === n ? slots : dataIdx.map((i) => slots[i]!),
          { allowZswap: true },
          commit,
        );
    } finally {
      for (let i = 0; i < n; i++) store.release(cache.endWrite(slots[i]!, tokens[i]!));
    }
    return tiers;
  }
}
