/**
 * A coordinator from start to close: its parts assembled over the data
 * directory (coordinator-parts.ts), every reachable backend reconciled before
 * the first call is taken, then polled; close() stops the parts in the order
 * that loses nothing. What the process (main.ts) and tests hold: the data
 * path, the operator's calls and the reports, all over the same parts.
 */
import { Admin } from './admin';
import type { BackendRegistry } from './backend-registry';
import { Coordinator } from './coordinator';
import { type CoordinatorOptions, addDefaults } from './coordinator-options';
import { assembleParts } from './coordinator-parts';
import type { SlotTable } from './slot-table';
import type { CoordinatorCounters, Reporting } from './stats';
import type { SwapCache } from './swap-cache';

export interface RunningCoordinator {
  /** SwapOut, Allocate, Store, Load, Duplicate, Free (coordinator.ts). */
  readonly coordinator: Coordinator;
  /** Writeback, Swapoff, Swapon, SetOwnerPolicy, reconcile (admin.ts). */
  readonly admin: Admin;
  /** Inspect, ListBackends, Stats and the metrics view (stats.ts). */
  readonly reporting: Reporting;
  /** Read by the auth gate (each principal's live slots), metrics and tests; changed only by the parts. */
  readonly table: SlotTable;
  readonly registry: BackendRegistry;
  readonly cache: SwapCache;
  readonly counters: CoordinatorCounters;
  /** Answer records replayed from the journal at start (RequestLogOptions.replayed); taken once. */
  takeReplayedAnswers(): Buffer[];
  /** The request log's answers a journal snapshot must carry (those not yet in requests.log). */
  keepAnswers(source: () => Iterable<Buffer>): void;
  /** Waits for background writeback and queued backend deletes, then closes the journal and the backend clients. */
  close(): Promise<void>;
}

/** Replays the journal, reconciles with every reachable backend, starts polling. */
export async function startCoordinator(options: CoordinatorOptions): Promise<RunningCoordinator> {
  const parts = assembleParts(addDefaults(options));
  const { table, registry, cache, counters, reporting, store, writeback, deletes } = parts;
  await registry.pollOnce();
  await parts.reconciler.settled();
  registry.start();
  /** Set by the first close(); later ones return at once. */
  let closed = false;
  return {
    coordinator: new Coordinator(parts),
    admin: new Admin(parts),
    reporting,
    table,
    registry,
    cache,
    counters,
    takeReplayedAnswers: () => store.takeReplayedAnswers(),
    keepAnswers: (source) => store.keepAnswers(source),
    async close() {
      if (closed) return;
      closed = true;
      await writeback.close();
      await deletes.settled();
      deletes.close();
      store.close();
      registry.close();
    },
  };
}
