/**
 * The virtual layer's API semantics: every slot's metadata and swap count
 * live here, the bytes in backends. Each call is validated once up front
 * (nothing changes on bad input), then orchestrated: the slot table changes
 * synchronously, backend I/O runs with the affected slots pinned in the swap
 * cache (write-path.ts, read-path.ts), slot changes go through the SlotStore
 * (table and journal together), and the reply waits for the journal commit.
 * Writeback, swapoff, reconcile and reporting each live in their own file.
 */
import { dataLoss, failedPrecondition, invalidArgument, resourceExhausted } from '../common/errors';
import { MAX_BATCH } from '../common/limits';
import { checkBatchSize, checkDistinct, checkPages } from '../common/validate';
import { type AttachedBackend, BackendRegistry } from './backend-registry';
import { type CallContext, checkCancelled } from './call-context';
import { type CoordinatorOptions, type CoordinatorSettings, addDefaults } from './coordinator-options';
import { DeleteQueue } from './delete-queue';
import { Migrator } from './migrate';
import { DEFAULT_POLICY, type OwnerPolicy, OwnerPolicies, checkOwner } from './owner-policy';
import { TierPolicy } from './placement';
import { ReadPath } from './read-path';
import { Reconciler } from './reconcile';
import { SlotStore } from './slot-store';
import { SlotTable, unwrap } from './slot-table';
import {
  type BackendDescription,
  type MetricsView,
  Reporting,
  type SlotDescription,
  type StatsReport,
  newCounters,
} from './stats';
import { SwapCache } from './swap-cache';
import { Swapoff } from './swapoff';
import { TierCode, type TierName } from './tiers';
import { WritePath } from './write-path';
import { Writeback } from './writeback';

export type { BackendDescription, SlotDescription } from './stats';

export class Coordinator {
  readonly table = new SlotTable();
  readonly registry: BackendRegistry;
  readonly cache: SwapCache;
  readonly policies: OwnerPolicies;
  readonly counters = newCounters();
  /** The only writer of slot backings and the journal. */
  private readonly slotStore: SlotStore;
  /** Backend copies to delete, sent in batches. */
  private readonly deletes: DeleteQueue;
  private readonly writes: WritePath;
  private readonly reads: ReadPath;
  private readonly writebacks: Writeback;
  private readonly swapoffs: Swapoff;
  private readonly reconciler: Reconciler;
  private readonly reporting: Reporting;
  private closed = false;

  private constructor(options: CoordinatorSettings) {
    const log = options.log;
    const batch = options.writebackBatch;
    const { table, counters } = this;
    const cache = (this.cache = new SwapCache(table));
    const reads = (this.reads = new ReadPath({
      table,
      cache,
      backendOf: (id) => this.registry.byIdOf(id),
      counters,
    }));
    const policies = (this.policies = new OwnerPolicies(options.dataDir));
    const registry = (this.registry = new BackendRegistry({
      specs: options.backends,
      log,
      deadlineMs: options.backendDeadlineMs,
      pollMs: options.pollMs,
      connect: options.connect,
      onNeedsReconcile: (b) =>
        void this.reconcile(b).catch((err: unknown) =>
          log.warn({ backend: b.name, err: String(err) }, 'reconcile failed'),
        ),
      onZswapOverThreshold: () => this.kickWriteback(),
    }));
    const deletes = (this.deletes = new DeleteQueue({
      registry,
      log,
      retryMs: options.deleteRetryMs,
      onRetry: () => counters.backend_delete_retries++,
    }));
    const store = (this.slotStore = new SlotStore({
      table,
      registry,
      deletes,
      journal: {
        dir: options.dataDir,
        fsync: options.journalFsync,
        snapshotAfterBytes: options.snapshotAfterBytes,
        log,
      },
      log,
      onBackingChanged: (slot) => reads.backingChanged(slot),
      keepReplayedAnswer: options.keepReplayedAnswer,
    }));
    counters.lost_pages += store.lostAtReplay;
    const policy = new TierPolicy({
      backends: registry,
      table,
      policies,
      deletes,
      log,
      onZswapFull: () => this.kickWriteback(),
    });
    this.writes = new WritePath({ table, cache, store, deletes, policy });
    const migrator = new Migrator({ table, cache, store, deletes, policy, counters, log });
    this.writebacks = new Writeback({ registry, table, cache, policies, migrator, counters, log, batch });
    this.swapoffs = new Swapoff({ registry, table, cache, store, migrator, log, batch });
    this.reconciler = new Reconciler({ table, store, counters, log });
    this.reporting = new Reporting({ table, cache, registry, policies, store, counters });
  }

  /** Replays the journal, reconciles with every reachable backend, starts polling. */
  static async start(options: CoordinatorOptions): Promise<Coordinator> {
    const c = new Coordinator(addDefaults(options));
    await c.registry.pollOnce();
    await c.reconciler.settled();
    c.registry.start();
    return c;
  }

  private checkSwapLimit(owner: string, more: number): void {
    const max = this.policies.get(owner).swapMaxPages;
    if (max > 0 && this.table.usedSlots(owner) + more > max) {
      throw resourceExhausted(
        `owner ${owner} is over its swap limit: ${this.table.usedSlots(owner)} of ${max} slots used, ` +
          `${more} more asked`,
      );
    }
  }

  // ---- the API ----------------------------------------------------------------

  /**
   * Allocates slots and writes pages to them. A call whose caller is gone
   * (cancelled, deadline passed) before the commit point rolls back: the slots
   * are freed and the backend copies deleted, and it answers CANCELLED or
   * DEADLINE_EXCEEDED. After that point it is committed (issue 10, defect 6).
   */
  async swapOut(
    owner: string,
    pages: Buffer[],
    contiguous: boolean,
    ctx: CallContext = {},
  ): Promise<{ slots: number[]; tiers: TierName[] }> {
    checkOwner(owner);
    checkPages(pages);
    this.checkSwapLimit(owner, pages.length);
    // Early: no backend work for a call the journal would refuse.
    this.slotStore.reserve(pages.length, ctx.answer?.bytes);
    checkCancelled(ctx);
    const slots = unwrap(this.table.allocate(owner, pages.length, contiguous));
    ctx.onAllocated?.(slots.length);
    for (const s of slots) this.slotStore.unacked.add(s);
    let tiers: TierName[];
    try {
      tiers = await this.writes.write(owner, slots, pages, ctx.answer?.bytes);
      // The commit point: a caller gone by now would never learn these ids.
      checkCancelled(ctx);
    } catch (err) {
      // Nobody knows these ids yet: give them back (releases follow any records written, in the same commit).
      const freed = this.table.free(owner, slots);
      if (freed.ok) for (const r of freed.value.released) this.slotStore.release(r);
      throw err;
    } finally {
      for (const s of slots) this.slotStore.unacked.delete(s);
    }
    const result = { slots, tiers };
    await this.slotStore.commit(ctx.answer?.record(result));
    this.reporting.countSwapOuts(owner, pages.length);
    return result;
  }

  /** Allocates empty slots; a caller already gone gets CANCELLED/DEADLINE_EXCEEDED and nothing is allocated. */
  async allocate(owner: string, count: number, contiguous: boolean, ctx: CallContext = {}): Promise<number[]> {
    checkOwner(owner);
    if (count === 0) throw invalidArgument('count is 0: allocate 1 to 512 slots');
    if (count > MAX_BATCH) throw invalidArgument(`count ${count} is more than ${MAX_BATCH}`);
    this.checkSwapLimit(owner, count);
    this.slotStore.reserve(count, ctx.answer?.bytes);
    checkCancelled(ctx);
    const slots = unwrap(this.table.allocate(owner, count, contiguous));
    ctx.onAllocated?.(slots.length);
    this.slotStore.record(slots);
    await this.slotStore.commit(ctx.answer?.record(slots));
    return slots;
  }

  async store(owner: string, slots: number[], pages: Buffer[], ctx: CallContext = {}): Promise<TierName[]> {
    checkOwner(owner);
    checkBatchSize(slots.length, 'slots');
    if (slots.length !== pages.length)
      throw invalidArgument(`${slots.length} slots but ${pages.length} pages: one page per slot`);
    checkPages(pages);
    unwrap(this.table.check(owner, slots));
    this.slotStore.reserve(slots.length, ctx.answer?.bytes);
    const tiers = await this.writes.write(owner, slots, pages, ctx.answer?.bytes);
    await this.slotStore.commit(ctx.answer?.record(tiers));
    this.reporting.countSwapOuts(owner, pages.length);
    return tiers;
  }

  async load(
    owner: string,
    slots: number[],
    release: boolean,
    ctx: CallContext = {},
  ): Promise<{ pages: Buffer[]; counts: number[] }> {
    checkOwner(owner);
    checkBatchSize(slots.length, 'slots');
    checkDistinct(slots, 'slot');
    // One check of the whole batch; only when it fails, slot by slot, so the error names the first bad slot in
    // the order of the tier checks below, as it always has.
    const allOk = this.table.check(owner, slots).ok;
    for (const s of slots) {
      if (!allOk) unwrap(this.table.check(owner, [s]));
      const tier = this.table.tierOf(s);
      if (tier === TierCode.EMPTY && !this.cache.page(s))
        throw failedPrecondition(`slot ${s} holds no data (TIER_EMPTY)`);
      if (tier === TierCode.LOST && !this.cache.page(s))
        throw dataLoss(`slot ${s} lost its data: its backend restarted without it`);
    }
    for (const s of slots) this.cache.pin(s);
    let pages: Buffer[];
    let counts: number[];
    try {
      const sums = ctx.answer && new Uint32Array(slots.length);
      pages = await this.reads.read(slots, true, sums);
      if (release) {
        // The answer's pages go to the answer page ring before the change (its journal record refers to them).
        if (sums) await ctx.answer?.keepPages(pages, sums);
        this.slotStore.reserve(slots.length, ctx.answer?.bytes);
        const freed = unwrap(this.table.free(owner, slots));
        counts = freed.counts;
        for (const r of freed.released) this.slotStore.release(r);
        this.slotStore.record(slots);
      } else counts = slots.map((s) => this.table.countOf(s));
    } finally {
      for (const s of slots) this.slotStore.release(this.cache.unpin(s));
    }
    const result = { pages, counts };
    if (release) await this.slotStore.commit(ctx.answer?.record(result));
    this.reporting.countSwapIns(owner, slots.length);
    return result;
  }

  async duplicate(owner: string, slots: number[], ctx: CallContext = {}): Promise<number[]> {
    checkOwner(owner);
    // Bad input is told as what it is, before the journal is asked for room (a full disk is not the caller's mistake).
    unwrap(this.table.check(owner, slots));
    this.slotStore.reserve(slots.length, ctx.answer?.bytes);
    const counts = unwrap(this.table.duplicate(owner, slots));
    this.slotStore.record(slots);
    await this.slotStore.commit(ctx.answer?.record(counts));
    return counts;
  }

  async free(owner: string, slots: number[], ctx: CallContext = {}): Promise<number[]> {
    checkOwner(owner);
    unwrap(this.table.check(owner, slots)); // validate first, as in duplicate()
    this.slotStore.reserve(slots.length, ctx.answer?.bytes);
    const res = unwrap(this.table.free(owner, slots));
    for (const r of res.released) this.slotStore.release(r);
    this.slotStore.record(slots);
    await this.slotStore.commit(ctx.answer?.record(res.counts));
    return res.counts;
  }

  /** Answer records replayed from the journal at start (RequestLogOptions.replayed); taken once. */
  takeReplayedAnswers(): Buffer[] {
    return this.slotStore.takeReplayedAnswers();
  }

  /** The request log's answers a journal snapshot must carry (those not yet in requests.log). */
  keepAnswers(source: () => Iterable<Buffer>): void {
    this.slotStore.keepAnswers(source);
  }

  inspect(owner: string, slots: number[]): SlotDescription[] {
    return this.reporting.inspect(owner, slots);
  }

  describe(slot: number): SlotDescription {
    return this.reporting.describe(slot);
  }

  // ---- writeback, swapoff, reconcile ------------------------------------------------

  /** Starts background writeback if zswap is over its threshold (writeback.ts). */
  kickWriteback(): void {
    if (!this.closed) this.writebacks.kick();
  }

  /**
   * Moves up to maxPages of zswap's coldest pages to the next tier down, as
   * zswap's shrinker does; slot ids stay, descriptors flip to TIER_SWAPFILE.
   */
  async writeback(maxPages: number, ownerFilter: string): Promise<number> {
    if (ownerFilter !== '') checkOwner(ownerFilter);
    return this.writebacks.run(maxPages, ownerFilter);
  }

  /** Migrates every slot off a backend, reporting progress; it then stays 'off' until Swapon (swapoff.ts). */
  async swapoff(
    name: string,
    progress: (moved: number, remaining: number) => Promise<void>,
    ctx: CallContext = {},
  ): Promise<number> {
    const b = this.registry.get(name);
    if (!b) throw failedPrecondition(`unknown backend "${name}"; ListBackends shows the configured ones`);
    return this.swapoffs.run(b, progress, ctx);
  }

  swapon(name: string, priority: number): BackendDescription {
    const b = this.registry.get(name);
    if (!b) throw failedPrecondition(`unknown backend "${name}"; ListBackends shows the configured ones`);
    b.swapon(priority);
    return this.describeBackend(b);
  }

  /** Tells a backend which handles the table references (reconcile.ts). */
  reconcile(b: AttachedBackend): Promise<void> {
    return this.reconciler.reconcile(b);
  }

  // ---- reporting -------------------------------------------------------------------

  describeBackend(b: AttachedBackend): BackendDescription {
    return this.reporting.describeBackend(b);
  }

  async listBackends(): Promise<BackendDescription[]> {
    return this.reporting.listBackends();
  }

  async stats(ownerFilter: string): Promise<StatsReport> {
    return this.reporting.stats(ownerFilter);
  }

  /** What the metrics endpoint reads on a scrape: no backend call, no copy of the table. */
  metricsView(): MetricsView {
    return this.reporting.metricsView();
  }

  /**
   * How many owners each per-owner structure holds (tests: owners that come
   * and go leave nothing behind). Policies are not here: they are set by
   * SetOwnerPolicy and kept for a name until set back to the defaults.
   */
  ownerStateSizes(): { table: number; journalIds: number; counters: number; policies: number } {
    return this.reporting.ownerStateSizes();
  }

  /** Replies once the new policy is on disk (policies.json, written atomically). */
  async setOwnerPolicy(owner: string, update: boolean, policy: OwnerPolicy): Promise<OwnerPolicy> {
    checkOwner(owner);
    if (update) await this.policies.set(owner, policy);
    return { ...DEFAULT_POLICY, ...this.policies.get(owner) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writebacks.close();
    await this.deletes.settled();
    this.deletes.close();
    this.slotStore.close();
    this.registry.close();
  }
}
