/**
 * Writeback, as zswap's shrinker: zswap's coldest pages move down to the
 * swapfiles and their slots flip TIER_ZSWAP -> TIER_SWAPFILE (slot ids stay).
 * In the background when zswap reports it is over its accept threshold, or on
 * demand (Writeback(n)). Entries of owners with writeback off get a second
 * chance instead.
 */
import { MAX_BATCH } from '../common/limits';
import type { Logger } from '../common/logger';
import type { BackendRegistry } from './backend-registry';
import type { Migrator } from './migrate';
import type { OwnerPolicies } from './owner-policy';
import type { SlotTable } from './slot-table';
import type { CoordinatorCounters } from './stats';
import type { SwapCache } from './swap-cache';

/** Background writeback rounds in a row that may leave the pool no smaller. */
const WRITEBACK_MAX_STALLED_ROUNDS = 8;
const WRITEBACK_COOLDOWN_MS = 5000;

export interface WritebackOptions {
  registry: BackendRegistry;
  table: SlotTable;
  cache: SwapCache;
  policies: OwnerPolicies;
  migrator: Migrator;
  counters: CoordinatorCounters;
  log: Logger;
  /** Pages per round. */
  batch: number;
}

export class Writeback {
  private running: Promise<void> | undefined;
  /** No background writeback before this time (after rounds that did not shrink the pool). */
  private cooldownUntil = 0;
  private closed = false;

  constructor(private readonly options: WritebackOptions) {}

  /**
   * Starts background writeback when zswap is over its threshold (once at a
   * time), like zswap's shrink worker: cold pages go down a tier until the
   * pool is below its accept threshold. If rounds stop shrinking the pool
   * (its memory is held by fragments, not pages), it gives up for a while
   * instead of writing back everything, as the kernel's worker gives up
   * after repeated failures.
   */
  kick(): void {
    if (this.running || this.closed || Date.now() < this.cooldownUntil) return;
    const { registry, counters, log } = this.options;
    this.running = (async () => {
      let lowest = Infinity;
      let stalled = 0;
      for (let round = 0; round < 10_000 && !this.closed; round++) {
        const zs = registry.zswap();
        if (!zs?.reachable || registry.swapfileOrder().length === 0) return;
        const info = await zs.client.info(2000);
        zs.answered(info);
        if (!info.overThreshold) return;
        if (info.storedBytes < lowest) {
          lowest = info.storedBytes;
          stalled = 0;
        } else if (++stalled >= WRITEBACK_MAX_STALLED_ROUNDS) {
          counters.writeback_stalls++;
          this.cooldownUntil = Date.now() + WRITEBACK_COOLDOWN_MS;
          log.warn(
            { poolBytes: info.storedBytes, limit: info.poolLimitBytes },
            'writeback does not shrink the zswap pool; pausing background writeback',
          );
          return;
        }
        const moved = await this.run(this.options.batch, '');
        if (moved === 0) return;
      }
    })()
      .catch((err: unknown) => log.warn({ err: String(err) }, 'background writeback failed'))
      .finally(() => (this.running = undefined));
  }

  /**
   * Moves up to maxPages of zswap's coldest pages (of `ownerFilter` only, when
   * not empty) to the next tier down. Returns the pages moved.
   */
  async run(maxPages: number, ownerFilter: string): Promise<number> {
    const { registry, table, cache, policies, counters } = this.options;
    const zs = registry.zswap();
    if (!zs || !zs.reachable) return 0;
    let written = 0;
    let idleRounds = 0;
    while (written < maxPages && idleRounds < 3) {
      if (registry.swapfileOrder(zs).length === 0) break;
      const want = Math.min(this.options.batch, maxPages - written, MAX_BATCH);
      const { entries } = await zs.client.coldest(want);
      if (entries.length === 0) break;
      const slots: number[] = [];
      const handles: number[] = [];
      const pages: Buffer[] = [];
      const skipped: number[] = [];
      for (const e of entries) {
        // The tag is the slot + 1; the checks below make a stale or missing tag harmless.
        const slot = e.tag > 0 ? e.tag - 1 : undefined;
        const eligible =
          slot !== undefined &&
          table.backendOf(slot) === zs.id &&
          table.handleOf(slot) === e.handle &&
          !cache.hasWriter(slot) &&
          (ownerFilter === '' || table.ownerOf(slot) === ownerFilter) &&
          policies.get(table.ownerOf(slot) ?? '').zswapWriteback;
        if (eligible) {
          slots.push(slot);
          handles.push(e.handle);
          pages.push(e.page);
        } else skipped.push(e.handle);
      }
      // Give skipped entries a second chance so the next Coldest moves on.
      if (skipped.length > 0) {
        counters.writeback_skipped += skipped.length;
        await zs.client.get(skipped, true).catch(() => undefined);
      }
      if (slots.length === 0) {
        idleRounds++;
        continue;
      }
      idleRounds = 0;
      written += await this.options.migrator.migrate(zs, slots, handles, pages, {
        allowZswap: false,
        reason: 'DELETE_WRITTEN_BACK',
      });
    }
    counters.written_back_pages += written;
    return written;
  }

  /** No new background rounds; resolves once the running one has finished. */
  async close(): Promise<void> {
    this.closed = true;
    await this.running;
  }
}
