/**
 * What the coordinator reports: its counters, per-owner swap-out/in counts,
 * Inspect, ListBackends and Stats (checked here, as the API's reads), and the
 * view the metrics endpoint reads on a scrape. Reads only; nothing here
 * changes a slot.
 */
import type { AttachedBackend, BackendRegistry } from './backend-registry';
import type { JournalStats } from './journal';
import { type OwnerPolicies, type OwnerPolicy, checkOwner } from './owner-policy';
import type { SlotStore } from './slot-store';
import { type SlotTable, unwrap } from './slot-table';
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

/** What the metrics endpoint reads on a scrape. */
export interface MetricsView {
  journal: Readonly<JournalStats>;
  /** Per owner the slot table knows. */
  ownerCounters: ReadonlyMap<string, Readonly<OwnerCounters>>;
  /** Summed over owners the slot table has forgotten (reported as owner="(other)"). */
  departedOwners: Readonly<OwnerCounters>;
  swapCachePages: number;
}

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
  /**
   * Pages swapped out and in, per owner the slot table knows (one holding
   * allocated slots). When the table forgets an owner (each process is an
   * owner; processes come and go), its counts move to `departed`: an owner's
   * own counts start again from 0 if it comes back, and the totals (Stats
   * without an owner, vswap_pswpout_total, and the per-owner series summed
   * with owner="(other)") keep every page.
   */
  private readonly ownerCounters = new Map<string, OwnerCounters>();
  /** Counts of owners the table has forgotten. */
  private readonly departed: OwnerCounters = { swapOuts: 0, swapIns: 0 };

  constructor(private readonly options: ReportingOptions) {
    options.table.onOwnerGone((owner) => this.ownerGone(owner));
  }

  countSwapOuts(owner: string, pages: number): void {
    this.options.counters.swap_outs += pages;
    this.ownerCountersOf(owner).swapOuts += pages;
  }

  countSwapIns(owner: string, pages: number): void {
    this.options.counters.swap_ins += pages;
    this.ownerCountersOf(owner).swapIns += pages;
  }

  /** Owners with counts of their own now (tests: they go with their owners). */
  get ownerCount(): number {
    return this.ownerCounters.size;
  }

  /**
   * How many owners each per-owner structure holds (tests: owners that come
   * and go leave nothing behind). Policies are not here: they are set by
   * SetOwnerPolicy and kept for a name until set back to the defaults.
   */
  ownerStateSizes(): { table: number; journalIds: number; counters: number; policies: number } {
    const { table, store, policies } = this.options;
    return {
      table: table.ownerCount(),
      journalIds: store.journalOwnerCount,
      counters: this.ownerCount,
      policies: policies.size,
    };
  }

  /** Inspect: nothing is described unless every slot is the owner's. */
  inspect(owner: string, slots: number[]): SlotDescription[] {
    checkOwner(owner);
    unwrap(this.options.table.check(owner, slots));
    return slots.map((s) => this.describe(s));
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

  /** ListBackends: each backend as an Info poll made now finds it. */
  async listBackends(): Promise<BackendDescription[]> {
    await this.options.registry.pollOnce();
    return this.options.registry.all.map((b) => this.describeBackend(b));
  }

  /** Stats of the whole coordinator (`ownerFilter` empty), or of one owner. */
  async stats(ownerFilter: string): Promise<StatsReport> {
    if (ownerFilter !== '') checkOwner(ownerFilter);
    const owner = ownerFilter === '' ? undefined : ownerFilter;
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
  metricsView(): MetricsView {
    return {
      journal: this.options.store.stats,
      ownerCounters: this.ownerCounters,
      departedOwners: this.departed,
      swapCachePages: this.options.cache.size,
    };
  }

  /**
   * The counts of an owner the table knows; those of one it does not (a
   * Load that released its last slot counts after the release) go straight
   * to `departed`, so no entry outlives its owner.
   */
  private ownerCountersOf(owner: string): OwnerCounters {
    let c = this.ownerCounters.get(owner);
    if (c) return c;
    if (!this.options.table.hasOwner(owner)) return this.departed;
    this.ownerCounters.set(owner, (c = { swapOuts: 0, swapIns: 0 }));
    return c;
  }

  private ownerGone(owner: string): void {
    const c = this.ownerCounters.get(owner);
    if (!c) return;
    this.departed.swapOuts += c.swapOuts;
    this.departed.swapIns += c.swapIns;
    this.ownerCounters.delete(owner);
  }

  private tierCounters(owner?: string): NamedValue[] {
    const by = this.options.table.pagesByTier(owner);
    return TIER_NAMES.slice(1).map((name, i) => ({ name, value: by[i + 1] ?? 0 }));
  }
}
