/**
 * The coordinator's Prometheus figures, read from its counters and slot table
 * when scraped. Pages swapped out and in keep the kernel's vmstat words
 * (pswpout, pswpin): here they count pages through the VirtualSwap API,
 * whatever tier took them. Per-owner series exist for at most `maxOwners`
 * owners (those holding the most slots); the rest are summed under
 * owner="(other)", a name no owner can have, so a cluster of many tenants
 * cannot blow up the series count. An owner holding no slot has no series:
 * its counts move to owner="(other)" (and start again from 0 if it comes back).
 */
import type { Registry } from 'prom-client';
import { metricFrom } from '../common/metrics';
import type { RunningCoordinator } from './running-coordinator';
import type { BackendDescription } from './stats';
import { TierCode, tierLabel } from './tiers';

export const OTHER_OWNERS = '(other)';

/** Tiers that hold a page (TIER_EMPTY slots hold none), as label values. */
const PAGE_TIERS: readonly [TierCode, string][] = [TierCode.ZERO, TierCode.ZSWAP, TierCode.SWAPFILE, TierCode.LOST].map(
  (t) => [t, tierLabel(t)],
);

type OwnerRow = { owner: string; usedSlots: number; swapOuts: number; swapIns: number };

/**
 * The owners with their own series, and the rest summed as one row, with the
 * counts of owners that hold no slot any more (`departed`), so the series of
 * each counter still sum to its total.
 */
export function boundedOwners(
  rows: readonly OwnerRow[],
  maxOwners: number,
  departed: { swapOuts: number; swapIns: number } = { swapOuts: 0, swapIns: 0 },
): OwnerRow[] {
  const sorted = [...rows].sort((a, b) => b.usedSlots - a.usedSlots || (a.owner < b.owner ? -1 : 1));
  const kept = sorted.slice(0, maxOwners);
  const rest = sorted.slice(maxOwners);
  if (rest.length === 0 && departed.swapOuts === 0 && departed.swapIns === 0) return kept;
  const other = { owner: OTHER_OWNERS, usedSlots: 0, swapOuts: departed.swapOuts, swapIns: departed.swapIns };
  for (const r of rest) {
    other.usedSlots += r.usedSlots;
    other.swapOuts += r.swapOuts;
    other.swapIns += r.swapIns;
  }
  return [...kept, other];
}

export function registerCoordinatorMetrics(
  registry: Registry,
  coordinator: Pick<RunningCoordinator, 'counters' | 'table' | 'registry' | 'reporting'>,
  options: { maxOwners: number },
): void {
  const c = coordinator.counters;
  const table = coordinator.table;
  const reporting = coordinator.reporting;
  metricFrom(
    registry,
    'counter',
    'vswap_pswpout_total',
    'pages swapped out (SwapOut and Store), whatever tier took them',
    () => c.swap_outs,
  );
  metricFrom(registry, 'counter', 'vswap_pswpin_total', 'pages swapped in (Load)', () => c.swap_ins);
  metricFrom(registry, 'gauge', 'vswap_used_slots', 'allocated slots (swap count > 0), with or without data', () =>
    table.usedSlots(),
  );
  metricFrom(
    registry,
    'gauge',
    'vswap_pages',
    'pages held by live slots, by tier (zero: all-zero pages kept as metadata; lost: pages that read as DATA_LOSS)',
    () => {
      const by = table.pagesByTier();
      return PAGE_TIERS.map(([code, tier]) => [{ tier }, by[code] ?? 0] as const);
    },
    ['tier'],
  );
  metricFrom(
    registry,
    'counter',
    'vswap_lost_pages_total',
    'pages marked lost (a volatile backend restarted without them, or a failed checksum while moving)',
    () => c.lost_pages,
  );
  metricFrom(
    registry,
    'counter',
    'vswap_checksum_failures_total',
    'pages that failed their checksum when read back from a backend',
    () => c.checksum_failures,
  );
  metricFrom(
    registry,
    'counter',
    'vswap_reconciles_total',
    'reconciles with a backend (after its start or restart)',
    () => c.reconciles,
  );
  metricFrom(
    registry,
    'counter',
    'vswap_written_back_pages_total',
    'pages moved from zswap to a swapfile by writeback',
    () => c.written_back_pages,
  );
  metricFrom(
    registry,
    'counter',
    'vswap_migrated_pages_total',
    'pages moved between backends by swapoff',
    () => c.migrated_pages,
  );
  metricFrom(
    registry,
    'counter',
    'vswap_orphans_deleted_total',
    'backend copies no slot referenced, deleted by reconcile',
    () => c.orphans_deleted,
  );
  metricFrom(
    registry,
    'gauge',
    'vswap_swap_cache_pages',
    'pages held by the coordinator while their backend write or move is in flight',
    () => reporting.metricsView().swapCachePages,
  );
  metricFrom(
    registry,
    'counter',
    'vswap_journal_commits_total',
    'journal group commits',
    () => reporting.metricsView().journal.commits,
  );
  metricFrom(
    registry,
    'counter',
    'vswap_journal_fsyncs_total',
    'journal fsyncs',
    () => reporting.metricsView().journal.fsyncs,
  );
  metricFrom(
    registry,
    'counter',
    'vswap_journal_fsync_seconds_total',
    'time spent in journal fsyncs (divide by vswap_journal_fsyncs_total for the mean)',
    () => reporting.metricsView().journal.fsyncMicrosTotal / 1e6,
  );
  metricFrom(
    registry,
    'gauge',
    'vswap_journal_fsync_max_seconds',
    'the longest journal fsync since the coordinator started',
    () => reporting.metricsView().journal.fsyncMicrosMax / 1e6,
  );
  metricFrom(
    registry,
    'counter',
    'vswap_journal_snapshots_total',
    'journal snapshots written',
    () => reporting.metricsView().journal.snapshots,
  );
  metricFrom(
    registry,
    'gauge',
    'vswap_journal_log_bytes',
    'bytes in the journal log since the last snapshot',
    () => reporting.metricsView().journal.logBytes,
  );

  // Owners the slot table knows; the counts of owners gone are in (other) (stats.ts, Reporting).
  const owners = (): OwnerRow[] => {
    const { ownerCounters, departedOwners } = reporting.metricsView();
    const rows = table.owners().map((owner) => {
      const oc = ownerCounters.get(owner);
      return { owner, usedSlots: table.usedSlots(owner), swapOuts: oc?.swapOuts ?? 0, swapIns: oc?.swapIns ?? 0 };
    });
    return boundedOwners(rows, options.maxOwners, departedOwners);
  };
  metricFrom(
    registry,
    'gauge',
    'vswap_owner_used_slots',
    `allocated slots per owner (at most ${options.maxOwners} owners, the rest as owner="${OTHER_OWNERS}")`,
    () => owners().map((r) => [{ owner: r.owner }, r.usedSlots] as const),
    ['owner'],
  );
  metricFrom(
    registry,
    'counter',
    'vswap_owner_pswpout_total',
    'pages swapped out per owner (bounded as vswap_owner_used_slots)',
    () => owners().map((r) => [{ owner: r.owner }, r.swapOuts] as const),
    ['owner'],
  );
  metricFrom(
    registry,
    'counter',
    'vswap_owner_pswpin_total',
    'pages swapped in per owner (bounded as vswap_owner_used_slots)',
    () => owners().map((r) => [{ owner: r.owner }, r.swapIns] as const),
    ['owner'],
  );

  const backends = (read: (d: BackendDescription) => number) => () =>
    coordinator.registry.all.map((b) => [{ backend: b.name }, read(reporting.describeBackend(b))] as const);
  metricFrom(
    registry,
    'gauge',
    'vswap_backend_up',
    'whether the coordinator reaches the backend (1) or not (0)',
    backends((d) => (d.reachable ? 1 : 0)),
    ['backend'],
  );
  metricFrom(
    registry,
    'gauge',
    'vswap_backend_used_pages',
    'pages a backend holds for live slots, as its last Info said',
    backends((d) => d.usedPages),
    ['backend'],
  );
  metricFrom(
    registry,
    'gauge',
    'vswap_backend_capacity_pages',
    "a backend's capacity in pages, as its last Info said",
    backends((d) => d.capacityPages),
    ['backend'],
  );
}
