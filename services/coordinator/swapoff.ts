/**
 * Swapoff of one backend: refused up front when the other backends lack room;
 * otherwise the backend drains (no new stores) and every slot on it moves by
 * the tier policy in batches, with progress reported. Like the kernel's
 * swapoff, an interrupted drain (the caller went away, a backend failed) puts
 * the backend back in the state it had, keeps the pages already moved where
 * they are, and leaves nothing pinned. A Swapon during the drain wins: the
 * drain stops (ABORTED) and the backend stays in service.
 */
import { status as Status } from '@grpc/grpc-js';
import { VswapError, failedPrecondition, unavailable } from '../common/errors';
import { PAGE_SIZE } from '../common/limits';
import type { Logger } from '../common/logger';
import type { AttachedBackend, BackendRegistry } from './backend-registry';
import { type CallContext, checkCancelled } from './call-context';
import type { Migrator } from './migrate';
import { isTransient } from './placement';
import type { SlotStore } from './slot-store';
import type { SlotTable } from './slot-table';
import type { SwapCache } from './swap-cache';

export interface SwapoffOptions {
  registry: BackendRegistry;
  table: SlotTable;
  cache: SwapCache;
  store: SlotStore;
  migrator: Migrator;
  log: Logger;
  /** Pages moved per round. */
  batch: number;
}

export class Swapoff {
  constructor(private readonly options: SwapoffOptions) {}

  /** Drains `b` (a configured backend); the backend then stays 'off' until Swapon. Returns the pages moved. */
  async run(
    b: AttachedBackend,
    progress: (moved: number, remaining: number) => Promise<void>,
    ctx: CallContext,
  ): Promise<number> {
    const { registry, table, cache, store, log } = this.options;
    const name = b.name;
    if (b.state === 'off') return 0;
    if (b.state === 'draining') throw failedPrecondition(`swapoff ${name}: a swapoff of it is already running`);
    await registry.pollOnce();
    checkCancelled(ctx);
    if (b.state !== 'active') throw failedPrecondition(`swapoff ${name}: it is ${b.state} now`);
    const todo = store.slotsWithDataOn(b.id).length;
    if (todo > 0 && !b.reachable)
      throw unavailable(`backend ${name} cannot be reached: its ${todo} pages cannot be read now`);
    const room = this.roomElsewhere(b);
    if (todo > room)
      throw failedPrecondition(`swapoff ${name}: ${todo} pages to move but the other backends have room for ${room}`);
    const drain = b.startDrain();
    b.reserveForDrain(todo);
    log.info({ backend: name, pages: todo }, 'swapoff: draining');
    let moved = 0;
    try {
      for (let stuck = 0; ;) {
        checkCancelled(ctx);
        if (!drain.current())
          throw new VswapError(
            Status.ABORTED,
            `swapoff ${name}: a Swapon put it back in service after ${moved} pages moved`,
          );
        const slots = store.slotsWithDataOn(b.id);
        if (slots.length === 0) break;
        const batch = slots.filter((s) => !cache.hasWriter(s)).slice(0, this.options.batch);
        if (batch.length === 0) {
          if (++stuck > 200) throw unavailable(`swapoff ${name}: slots stay busy; try again`);
          await new Promise((r) => setTimeout(r, 10));
          continue;
        }
        const handles = batch.map((s) => table.handleOf(s));
        if (b.knownEpoch === undefined)
          throw unavailable(`swapoff ${name}: the backend has not been reconciled since the coordinator started`);
        let res;
        try {
          res = await b.client.get(handles, false, b.knownEpoch);
        } catch (err) {
          // A slot may have been freed or re-stored meanwhile; only give up on a real failure.
          if (batch.some((s, k) => table.backendOf(s) !== b.id || table.handleOf(s) !== handles[k])) continue;
          throw isTransient(err) ? unavailable(`swapoff ${name}: backend cannot be reached`) : err;
        }
        const n = await this.options.migrator.migrate(b, batch, handles, res.pages, {
          allowZswap: true,
          reason: 'DELETE_MIGRATED',
        });
        moved += n;
        b.reserveForDrain(Math.max(0, todo - moved));
        await progress(moved, store.slotsWithDataOn(b.id).length);
      }
    } catch (err) {
      b.reserveForDrain(0);
      if (drain.finish('restore'))
        log.warn({ backend: name, moved, err: String(err) }, `swapoff: interrupted; backend back to ${drain.before}`);
      throw err;
    }
    b.reserveForDrain(0);
    if (!drain.finish('off'))
      throw new VswapError(
        Status.ABORTED,
        `swapoff ${name}: a Swapon put it back in service after ${moved} pages moved`,
      );
    log.info({ backend: name, moved }, 'swapoff: done, backend off');
    return moved;
  }

  /**
   * Free room, in pages, on the backends other than `b` that could take its
   * pages, less what running swapoffs of other backends have counted on.
   */
  private roomElsewhere(b: AttachedBackend): number {
    let room = 0;
    let reserved = 0;
    for (const o of this.options.registry.all) {
      if (o === b) continue;
      reserved += o.reservedByDrain;
      if (!o.writable || !o.info) continue;
      if (o.kind === 'swapfile') room += Math.max(0, o.info.capacityPages - o.info.usedPages);
      else if (o.kind === 'zswap') {
        const limit = (o.info.poolLimitBytes * (o.info.acceptThresholdPercent || 100)) / 100;
        const perPage = o.info.usedPages > 0 ? Math.max(1, o.info.storedBytes / o.info.usedPages) : PAGE_SIZE;
        room += Math.max(0, Math.floor((limit - o.info.storedBytes) / perPage));
      }
    }
    return Math.max(0, room - reserved);
  }
}
