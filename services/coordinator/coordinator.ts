/**
 * The virtual layer's data path: SwapOut, Allocate, Store, Load, Duplicate and
 * Free. Every slot's metadata and swap count live in the slot table, the bytes
 * in backends. Each call is validated once up front (nothing changes on bad
 * input), then orchestrated: the slot table changes synchronously, backend I/O
 * runs with the affected slots pinned in the swap cache (write-path.ts,
 * read-path.ts), slot changes go through the SlotStore (table and journal
 * together), the reply waits for the journal commit, and the pages are
 * counted. The parts are wired in coordinator-parts.ts; the operator's calls
 * are admin.ts, the reads (Inspect, Stats, ...) stats.ts.
 */
import { dataLoss, failedPrecondition, invalidArgument, resourceExhausted } from '../common/errors';
import { MAX_BATCH } from '../common/limits';
import { checkBatchSize, checkDistinct, checkPages } from '../common/validate';
import { type CallContext, checkCancelled } from './call-context';
import type { CoordinatorParts } from './coordinator-parts';
import { type OwnerPolicies, checkOwner } from './owner-policy';
import type { ReadPath } from './read-path';
import type { SlotStore } from './slot-store';
import { type SlotTable, unwrap } from './slot-table';
import type { Reporting } from './stats';
import type { SwapCache } from './swap-cache';
import { TierCode, type TierName } from './tiers';
import type { WritePath } from './write-path';

export class Coordinator {
  private readonly table: SlotTable;
  private readonly cache: SwapCache;
  private readonly policies: OwnerPolicies;
  /** The only writer of slot backings and the journal. */
  private readonly slotStore: SlotStore;
  private readonly writes: WritePath;
  private readonly reads: ReadPath;
  /** Counts the pages each call swapped out or in. */
  private readonly reporting: Reporting;

  constructor(
    parts: Pick<CoordinatorParts, 'table' | 'cache' | 'policies' | 'store' | 'writes' | 'reads' | 'reporting'>,
  ) {
    this.table = parts.table;
    this.cache = parts.cache;
    this.policies = parts.policies;
    this.slotStore = parts.store;
    this.writes = parts.writes;
    this.reads = parts.reads;
    this.reporting = parts.reporting;
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
      tiers = await this.writes.write(owner, slots, pages, ctx.answer?.bytes, ctx.pageSums);
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
    const tiers = await this.writes.write(owner, slots, pages, ctx.answer?.bytes, ctx.pageSums);
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
}
