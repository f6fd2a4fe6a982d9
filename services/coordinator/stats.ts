/**
 * What the coordinator reports: its counters, per-owner swap-out/in counts,
 * Inspect's slot descriptions, ListBackends' rows, Stats, and the view the
 * metrics endpoint reads on a scrape. Reads only; nothing here changes a slot.
 */
import type { AttachedBackend, BackendRegistry } from './backend-registry';
import type { JournalStats } from './journal';
import type { OwnerPolicies, OwnerPolicy } from './owner-policy';
import type { SlotStore } from './slot-store';
import type { SlotTable } from './slot-table';
import type { SwapCache } from './swap-cache';
import { TIER_NAMES, TierCode, type TierName, onBackend, tierName } from './tiers';

/** The coordinator's counters (Stats and metrics read them; every field only grows). */
export interface CoordinatorCounters {
  swap_outs: number;
  swap_ins: number;
  written_back_pages: number;
  writeback_skipped: number;
  writeback_stalls: number;
  migrated_pages: number;
  lost_pages: number;
  checksum_failures: number;
  reconciles: number;
  orphans_deleted: number;
  backend_delete_retries: number;
}

export function newCounters(): CoordinatorCounters {
  return {
    swap_outs: 0,
    swap_ins: 0,
    written_back_pages: 0,
    writeback_skipped: 0,
    writeback_stalls: 0,
    migrated_pages: 0,
    lost_pages: 0,
    checksum_failures: 0,
    reconciles: 0,
    orphans_deleted: 0,
    backend_delete_retries: 0,
  };
}

export interface OwnerCounters {
  swapOuts: number;
  swapIns: number;
}

export interface SlotDescription {
  slot: number;
  count: number;
  tier: TierName;
  backend: string;
  owner: string;
  handle: number;
  checksum: number;
  inSwapCache: boolean;
}

export interface BackendDescription {
  name: string;
  kind: string;
  store: string;
  address: string;
  priority: number;
  state: string;
  capacityPages: number;
  usedPages: number;
  storedBytes: number;
  reachable: boolean;
  epoch: string;
}

type NamedValue = { name: string; value: number };

export interface StatsReport {
  usedSlots: number;
  pagesByTier: NamedValue[];
  swapOuts: number;
  swapIns: number;
  slotTableBytes: number;
  maxSwapCount: number;
  zswap: NamedValue[];
  owners: {
    owner: string;
    usedSlots: number;
    pagesByTier: NamedValue[];
    swapOuts: number;
    swapIns: number;
    policy: OwnerPolicy & { owner: string };
  }[];
  counters: NamedValue[];
  journal: JournalStats;
}

export interface ReportingOptions {
  table: SlotTable;
  cache: SwapCache;
  registry: BackendRegistry;
  policies: OwnerPolicies;
  store: SlotStore;
  counters: CoordinatorCounters;
}

export class Reporting {
  /** Pages swapped out and in, per owner (kept after the owner's last slot goes). */
  private readonly ownerCounters = new Map<string, OwnerCounters>();

  constructor(private readonly options: ReportingOptions) {}

  countSwapOuts(owner: string, pages: number): void {
    this.options.counters.swap_outs += pages;
    this.ownerCountersOf(owner).swapOuts += pages;
  }

  countSwapIns(owner: string, pages: number): void {
    this.options.counters.swap_ins += pages;
    this.ownerCountersOf(owner).swapIns += pages;
  }

  describe(slot: number): SlotDescription {
    const t = this.options.table;
    const tier = t.tierOf(slot);
    const hasBackend = onBackend(tier);
    return {
      slot,
      count: t.countOf(slot),
      tier: tierName(tier),
      backend: hasBackend ? this.options.registry.nameOf(t.backendOf(slot)) : '',
      owner: t.ownerOf(slot) ?? '',
      handle: hasBackend ? t.handleOf(slot) : 0,
      checksum: tier === TierCode.EMPTY || tier === TierCode.LOST ? 0 : t.checksumOf(slot),
      inSwapCache: this.options.cache.page(slot) !== undefined,
    };
  }

  describeBackend(b: AttachedBackend): BackendDescription {
    return {
      name: b.name,
      kind: b.kind ?? '',
      store: b.store,
      address: b.address,
      priority: b.priority,
      state: b.state,
      capacityPages: b.info?.capacityPages ?? 0,
      usedPages: b.info?.usedPages ?? 0,
      storedBytes: b.info?.storedBytes ?? 0,
      reachable: b.reachable,
      epoch: b.info?.epoch ?? '',
    };
  }

  /** Stats of the whole coordinator, or of one owner (already checked). */
  async stats(owner: string | undefined): Promise<StatsReport> {
    const { table, registry, policies, counters, store, cache } = this.options;
    let zswap: NamedValue[] = [];
    const zs = registry.zswap();
    if (zs?.reachable) {
      try {
        zswap = (await zs.client.stats()).counters.map((c) => ({ name: c.name, value: c.value }));
      } catch {
        zswap = [];
      }
    }
    const owners = (owner ? [owner] : table.owners()).map((o) => {
      const c = this.ownerCounters.get(o) ?? { swapOuts: 0, swapIns: 0 };
      return {
        owner: o,
        usedSlots: table.usedSlots(o),
        pagesByTier: this.tierCounters(o),
        swapOuts: c.swapOuts,
        swapIns: c.swapIns,
        policy: { owner: o, ...policies.get(o) },
      };
    });
    const oc = owner ? this.ownerCounters.get(owner) : undefined;
    return {
      usedSlots: table.usedSlots(owner),
      pagesByTier: this.tierCounters(owner),
      swapOuts: owner ? (oc?.swapOuts ?? 0) : counters.swap_outs,
      swapIns: owner ? (oc?.swapIns ?? 0) : counters.swap_ins,
      slotTableBytes: table.memoryBytes(),
      maxSwapCount: table.maxSwapCount,
      zswap,
      owners,
      counters: [
        ...Object.entries(counters).map(([name, value]: [string, number]) => ({ name, value })),
        { name: 'swap_cache_pages', value: cache.size },
        { name: 'journal_commits', value: store.stats.commits },
        { name: 'journal_fsyncs', value: store.stats.fsyncs },
        { name: 'journal_snapshots', value: store.stats.snapshots },
      ],
      journal: { ...store.stats },
    };
  }

  /** What the metrics endpoint reads on a scrape: no backend call, no copy of the table. */
  metricsView(): {
    journal: Readonly<JournalStats>;
    ownerCounters: ReadonlyMap<string, Readonly<OwnerCounters>>;
    swapCachePages: number;
  } {
    return {
      journal: this.options.store.stats,
      ownerCounters: this.ownerCounters,
      swapCachePages: this.options.cache.size,
    };
  }

  private ownerCountersOf(owner: string): OwnerCounters {
    let c = this.ownerCounters.get(owner);
    if (!c) this.ownerCounters.set(owner, (c = { swapOuts: 0, swapIns: 0 }));
    return c;
  }

  private tierCounters(owner?: string): NamedValue[] {
    const by = this.options.table.pagesByTier(owner);
    return TIER_NAMES.slice(1).map((name, i) => ({ name, value: by[i + 1] ?? 0 }));
  }
}
