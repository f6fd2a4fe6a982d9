/**
 * The coordinator's parts, each built once and wired to the others here:
 * who calls whom is decided in this file and nowhere else. Parts are built in
 * the order they need each other. Three calls point back to parts built later
 * (the registry's poll hooks start a reconcile or a writeback, the read path
 * looks backends up): they are closures that first run after assembly, at
 * start-up's first poll or the first read.
 */
import { BackendRegistry } from './backend-registry';
import type { CoordinatorSettings } from './coordinator-options';
import { DeleteQueue } from './delete-queue';
import { Migrator } from './migrate';
import { OwnerPolicies } from './owner-policy';
import { TierPolicy } from './placement';
import { ReadPath } from './read-path';
import { Reconciler } from './reconcile';
import { SlotStore } from './slot-store';
import { SlotTable } from './slot-table';
import { type CoordinatorCounters, Reporting, newCounters } from './stats';
import { SwapCache } from './swap-cache';
import { Swapoff } from './swapoff';
import { WritePath } from './write-path';
import { Writeback } from './writeback';

export interface CoordinatorParts {
  /** Every slot's metadata and swap count; a slot's backing changes only through `store`. */
  readonly table: SlotTable;
  /** Pages whose write or migration is in flight, and the pins that keep a slot from being released. */
  readonly cache: SwapCache;
  readonly registry: BackendRegistry;
  readonly policies: OwnerPolicies;
  /** Only grow; Stats and metrics read them. */
  readonly counters: CoordinatorCounters;
  /** The only writer of slot backings and the journal. */
  readonly store: SlotStore;
  /** Backend copies to delete, sent in batches. */
  readonly deletes: DeleteQueue;
  readonly writes: WritePath;
  readonly reads: ReadPath;
  /** Background writeback (zswap over its threshold) and Writeback(n). */
  readonly writeback: Writeback;
  readonly swapoff: Swapoff;
  readonly reconciler: Reconciler;
  /** Counts what the API did, and answers the reads (Inspect, ListBackends, Stats, metrics). */
  readonly reporting: Reporting;
}

/** Builds every part over the data directory (the journal is replayed into the table here); nothing is polled yet. */
export function assembleParts(settings: CoordinatorSettings): CoordinatorParts {
  const { log } = settings;
  const table = new SlotTable();
  const counters = newCounters();
  const cache = new SwapCache(table);
  const reads = new ReadPath({ table, cache, backendOf: (id) => registry.byIdOf(id), counters });
  const policies = new OwnerPolicies(settings.dataDir);
  const registry = new BackendRegistry({
    specs: settings.backends,
    log,
    deadlineMs: settings.backendDeadlineMs,
    pollMs: settings.pollMs,
    connect: settings.connect,
    onNeedsReconcile: (b) =>
      void reconciler
        .reconcile(b)
        .catch((err: unknown) => log.warn({ backend: b.name, err: String(err) }, 'reconcile failed')),
    // Writeback.kick() does nothing once closed, so a poll racing close() starts no round.
    onZswapOverThreshold: () => writeback.kick(),
  });
  const deletes = new DeleteQueue({
    registry,
    log,
    retryMs: settings.deleteRetryMs,
    onRetry: () => counters.backend_delete_retries++,
  });
  const store = new SlotStore({
    table,
    registry,
    deletes,
    journal: {
      dir: settings.dataDir,
      fsync: settings.journalFsync,
      snapshotAfterBytes: settings.snapshotAfterBytes,
      log,
    },
    log,
    onBackingChanged: (slot) => reads.backingChanged(slot),
    keepReplayedAnswer: settings.keepReplayedAnswer,
  });
  counters.lost_pages += store.lostAtReplay;
  const policy = new TierPolicy({
    backends: registry,
    table,
    policies,
    deletes,
    log,
    onZswapFull: () => writeback.kick(),
  });
  const writes = new WritePath({ table, cache, store, deletes, policy });
  const migrator = new Migrator({ table, cache, store, deletes, policy, counters, log });
  const batch = settings.writebackBatch;
  const writeback = new Writeback({ registry, table, cache, policies, migrator, counters, log, batch });
  const swapoff = new Swapoff({ registry, table, cache, store, migrator, log, batch });
  const reconciler = new Reconciler({ table, store, counters, log });
  const reporting = new Reporting({ table, cache, registry, policies, store, counters });
  return {
    table,
    cache,
    registry,
    policies,
    counters,
    store,
    deletes,
    writes,
    reads,
    writeback,
    swapoff,
    reconciler,
    reporting,
  };
}
