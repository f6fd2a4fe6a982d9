/**
 * Reconcile: tells a backend which handles the slot table references.
 * Handles it lost turn TIER_LOST (Load answers DATA_LOSS); handles nobody
 * references are deleted by it. New writes to the backend go elsewhere and
 * writes in flight finish first (AttachedBackend.exclusive), so writes and
 * reconciles never wait for each other in a cycle. One reconcile per backend
 * at a time; a second request joins the running one.
 */
import type { Logger } from '../common/logger';
import type { AttachedBackend } from './backend-registry';
import type { SlotStore } from './slot-store';
import type { SlotTable } from './slot-table';
import type { CoordinatorCounters } from './stats';

export interface ReconcilerOptions {
  table: SlotTable;
  store: SlotStore;
  counters: CoordinatorCounters;
  log: Logger;
}

export class Reconciler {
  private readonly running = new Map<AttachedBackend, Promise<void>>();

  constructor(private readonly options: ReconcilerOptions) {}

  /** Resolves once every reconcile running now has finished (failed ones too). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }

  reconcile(b: AttachedBackend): Promise<void> {
    let running = this.running.get(b);
    if (running) return running;
    const { table, store, counters, log } = this.options;
    running = b
      .exclusive(async () => {
        const epoch = b.info?.epoch;
        const slots = store.slotsWithDataOn(b.id);
        const handles = slots.map((s) => table.handleOf(s));
        const res = await b.client.reconcile(handles);
        // The epoch the backend says it reconciled in wins over the Info read before.
        const reconciledIn = res.epoch ?? epoch;
        if (res.missing.length > 0) {
          const missing = new Set(res.missing);
          let lost = 0;
          store.reserve(res.missing.length);
          slots.forEach((s, k) => {
            if (missing.has(handles[k]!) && table.backendOf(s) === b.id) {
              store.markLost(s);
              lost++;
            }
          });
          await store.commit();
          counters.lost_pages += lost;
          log.warn({ backend: b.name, lost }, 'reconcile: backend lost pages; they read as DATA_LOSS');
        }
        counters.reconciles++;
        counters.orphans_deleted += res.deleted;
        b.reconciled(reconciledIn);
        log.info(
          {
            backend: b.name,
            epoch: reconciledIn,
            referenced: handles.length,
            missing: res.missing.length,
            deleted: res.deleted,
          },
          'reconciled',
        );
      })
      .finally(() => this.running.delete(b));
    this.running.set(b, running);
    return running;
  }
}
