/**
 * The tier policy: where new pages go. zswap first (when in service, under
 * its accept threshold and the owners' zswap limits), then swapfiles by
 * priority with equal priorities round-robin; what a tier rejects goes to the
 * next one, in the same request. Each backend gets one batched Put. It sees
 * backends only as `BackendView`s, so tests run it over in-process fakes.
 */
import { status as Status } from '@grpc/grpc-js';
import { isServiceError, resourceExhausted, unavailable } from '../common/errors';
import type { Logger } from '../common/logger';
import type { BackendView } from './backend-view';
import type { DeleteQueue } from './delete-queue';
import type { OwnerPolicies } from './owner-policy';
import type { SlotTable } from './slot-table';
import { TierCode } from './tiers';

/** Where one page was placed. */
export interface Placement {
  backend: BackendView;
  handle: number;
}

/** The backends as placement sees them (the BackendRegistry). */
export interface PlacementBackends {
  readonly all: readonly BackendView[];
  zswap(): BackendView | undefined;
  /** Swapfiles that may take new pages, in the order to try them. */
  swapfileOrder(exclude?: BackendView): BackendView[];
}

export interface PlacementOptions {
  backends: PlacementBackends;
  table: SlotTable;
  policies: OwnerPolicies;
  deletes: DeleteQueue;
  log: Logger;
  /** zswap refused pages for its pool limit: background writeback should run. */
  onZswapFull: () => void;
}

/** A backend error that means "cannot be reached now" rather than a refusal. */
export function isTransient(err: unknown): boolean {
  return (
    isServiceError(err) &&
    (err.code === Status.UNAVAILABLE || err.code === Status.DEADLINE_EXCEEDED || err.code === Status.CANCELLED)
  );
}

export class TierPolicy {
  constructor(private readonly options: PlacementOptions) {}

  /**
   * Stores pages by the tier policy. Writes stay registered on the backends
   * until `commit` (synchronous) has recorded the handles, so a reconcile
   * cannot delete them in between. On failure every placed copy is deleted
   * again and the error says why: RESOURCE_EXHAUSTED when every tier is full,
   * UNAVAILABLE when a backend could not be reached or is being reconciled.
   */
  async place(
    pages: readonly Buffer[],
    owners: readonly string[],
    slots: readonly number[],
    opts: { allowZswap: boolean; exclude?: BackendView },
    commit: (placed: Placement[]) => void,
  ): Promise<void> {
    const { backends, deletes, log } = this.options;
    const placed: (Placement | undefined)[] = new Array(pages.length);
    const held: BackendView[] = [];
    let remaining: number[] = pages.map((_, i) => i);
    let transient = 0;
    /** Candidates skipped because a reconcile held them: a reason to retry, not a lack of room. */
    let busy = 0;
    /**
     * An active backend out of service for now: unreachable, or reachable but
     * waiting for the reconcile that a Put lost in transit calls for. Pages it
     * could have taken are a reason to retry, not a lack of room.
     */
    let outOfServiceSeen = false;
    try {
      const zs = backends.zswap();
      const candidates: BackendView[] = [];
      if (opts.allowZswap && zs && zs !== opts.exclude && zs.writable && !zs.info?.overThreshold) candidates.push(zs);
      candidates.push(...backends.swapfileOrder(opts.exclude));
      outOfServiceSeen = backends.all.some((b) => b.state === 'active' && !b.writable && b !== opts.exclude);
      for (const b of candidates) {
        if (remaining.length === 0) break;
        let batch = remaining;
        if (b.kind === 'zswap') batch = this.withinZswapLimits(remaining, owners);
        if (batch.length === 0) continue;
        if (!b.tryBeginWrite()) {
          // Reconciling or out of service since the candidates were chosen: try the next one.
          busy++;
          continue;
        }
        held.push(b);
        // Place only in the epoch reconciled: a backend that restarted since refuses (or says so).
        const epoch = b.reconciledEpoch ?? '';
        let res;
        try {
          // The whole request (the common case): its own pages array, not a copy (the client only reads it).
          const whole = batch.length === pages.length;
          res = await b.client.put(
            whole ? (pages as Buffer[]) : batch.map((i) => pages[i]!),
            // zswap keeps each entry's slot (as slot + 1: tag 0 means none) and Coldest returns it,
            // as the kernel's zswap entry knows its swap entry: no handle -> slot index here.
            b.kind === 'zswap' ? { epoch, tags: batch.map((i) => slots[i]! + 1) } : { epoch },
          );
        } catch (err) {
          if (isServiceError(err) && err.code === Status.FAILED_PRECONDITION) {
            // Its epoch changed: nothing was stored; it is reconciled before it takes pages again.
            log.warn(
              { backend: b.name, epoch, err: String(err) },
              'backend refused a put in the reconciled epoch: it restarted; reconciling it',
            );
            b.invalidate();
            busy++;
            continue;
          }
          if (isTransient(err)) transient++;
          // A Put that timed out or lost its connection may still have been stored,
          // under handles nobody here knows: have the next poll reconcile the backend,
          // which deletes what the table does not reference (found by the fault
          // harness, net-blackhole: pages leaked on the backend).
          if (isTransient(err) && !/No connection established/.test(String(err))) b.invalidate();
          else if (!(isServiceError(err) && err.code === Status.RESOURCE_EXHAUSTED))
            log.warn({ backend: b.name, err: String(err) }, 'backend put failed');
          if (b.kind === 'zswap' && isServiceError(err) && err.code === Status.RESOURCE_EXHAUSTED)
            this.options.onZswapFull();
          continue;
        }
        if (res.epoch !== '' && epoch !== '' && res.epoch !== epoch) {
          // Stored in an epoch this table was never reconciled with (a backend that reports
          // but does not check epochs): those handles may collide with lost ones. Drop them.
          log.warn(
            { backend: b.name, epoch, stored: res.epoch },
            'backend stored pages in an epoch not reconciled; discarding them and reconciling it',
          );
          for (const h of res.handles) if (h > 0) deletes.add(b.id, h, 'DELETE_FREED', res.epoch);
          b.invalidate();
          busy++;
          continue;
        }
        const next: number[] = [];
        let poolLimited = false;
        for (let k = 0; k < batch.length; k++) {
          const i = batch[k]!;
          const h = res.handles[k] ?? 0;
          if (h > 0) placed[i] = { backend: b, handle: h };
          else {
            next.push(i);
            if (res.outcomes[k] === 'PUT_POOL_LIMIT_HIT') poolLimited = true;
          }
        }
        if (poolLimited) this.options.onZswapFull();
        if (batch.length === remaining.length) {
          // Every remaining page was sent (batch is remaining, in order): what is left is what this tier refused.
          remaining = next;
        } else {
          const batchSet = new Set(batch);
          remaining = [...remaining.filter((i) => !batchSet.has(i)), ...next].sort((a, b2) => a - b2);
        }
      }
      if (remaining.length > 0) {
        if (busy > 0)
          throw unavailable(
            `backends are being reconciled: ${remaining.length} of ${pages.length} pages not stored; retry later`,
          );
        if (transient > 0 || (outOfServiceSeen && candidates.length === 0))
          throw unavailable(
            `no backend could be reached for ${remaining.length} of ${pages.length} pages; retry later`,
          );
        throw resourceExhausted(`no tier has room for ${remaining.length} of ${pages.length} pages`);
      }
      commit(placed as Placement[]);
    } catch (err) {
      for (const p of placed) if (p) deletes.add(p.backend.id, p.handle, 'DELETE_FREED');
      throw err;
    } finally {
      for (const b of held) b.endWrite();
    }
  }

  /** The pages (by index) whose owners are under their zswap limit. */
  private withinZswapLimits(indices: number[], owners: readonly string[]): number[] {
    const room = new Map<string, number>();
    const out: number[] = [];
    for (const i of indices) {
      const owner = owners[i]!;
      let left = room.get(owner);
      if (left === undefined) {
        const max = this.options.policies.get(owner).zswapMaxPages;
        left = max === 0 ? Infinity : Math.max(0, max - (this.options.table.pagesByTier(owner)[TierCode.ZSWAP] ?? 0));
      }
      if (left > 0) {
        out.push(i);
        left--;
      }
      room.set(owner, left);
    }
    return out;
  }
}
