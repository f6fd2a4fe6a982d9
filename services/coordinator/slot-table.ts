import { status } from '@grpc/grpc-js';
import { VswapError } from '../common/errors';
import { CLUSTER_SLOTS, MAX_BATCH } from '../common/limits';
import {
  BACKEND_BASE,
  CHECKSUM_BASE,
  CLUSTER_SHIFT,
  CLUSTER_STORAGE_BYTES,
  LIST_CURRENT,
  LIST_FULL,
  LIST_NONE,
  LIST_NONFULL,
  OFFSET_MASK,
  ORDERS,
  PIN_BIT,
  SHARED_ORDER,
  SLOT_OWNERS_BYTES,
  SlotCluster,
  TIER_MASK,
} from './slot-cluster';
import { SHARED_OWNER, SHARE_LIMIT, SlotOwner, SlotOwners, TIER_SLOTS } from './slot-owners';
import { SlotTableImage } from './slot-table-image';
import { TierCode } from './tiers';

/**
 * The coordinator's slot table: the swap table of the virtual layer. Pure
 * logic, no I/O. Every slot's swap count, owner and backing live here, in
 * typed arrays per 512-slot cluster (see slot-cluster.ts); owners get their own
 * clusters per size order, except that an owner's first few order-0 slots come
 * from clusters shared by small owners (see slot-owners.ts).
 *
 * A slot is *allocated* from allocate() until it is released: when its swap
 * count reaches 0 and the swap cache does not pin it, or by releaseSlot(). It
 * is *live* while its swap count is above 0. Slot ids never change while the
 * slot is allocated; a released id may be handed out again later.
 */

export { TierCode } from './tiers';

/** Told an owner's live slots changed by `delta` (now `live`). */
export type LiveListener = (owner: string, delta: number, live: number) => void;
export type SlotError = { code: status; message: string };
export type Result<T> = { ok: true; value: T } | { ok: false; error: SlotError };

/** The table's answer as the API's: its value, or its error thrown as the VswapError the caller is answered with. */
export function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw new VswapError(r.error.code, r.error.message);
  return r.value;
}
export interface Backing {
  tier: TierCode;
  /** Backend id, 1..255 (0 = none). */
  backend: number;
  /** The backend's handle, below 2^40 (0 = none). */
  handle: number;
  /** Checksum of the page, uint32. */
  checksum: number;
}
/** A released slot and the backing it had: backend 0 means there is nothing to delete. */
export interface Released {
  slot: number;
  tier: TierCode;
  backend: number;
  handle: number;
}
export interface SlotTableOptions {
  /** Highest swap count a slot may reach (Duplicate beyond it is RESOURCE_EXHAUSTED). Default and maximum 65535. */
  maxSwapCount?: number;
}

export const DEFAULT_MAX_SWAP_COUNT = 65535;
/** Cluster indices stay below this, so every slot id is a uint32 (fast shifts, no float maths). */
const MAX_CLUSTERS = 1 << (32 - CLUSTER_SHIFT);
/** Empty clusters kept for reuse (the kernel's free list), so churn does not allocate. */
const FREE_POOL_MAX = 32;
/**
 * JS overhead per cluster beyond its typed-array storage: the SlotCluster
 * object, its ArrayBuffer and backing-store record, three typed-array views,
 * and its entry in the cluster index. Estimated from V8's layouts; the
 * benchmark prints the process's own figure next to it.
 */
export const CLUSTER_OVERHEAD_BYTES = 480;

const OK_VOID: Result<void> = Object.freeze({ ok: true, value: undefined }) as Result<void>;

function fail<T>(code: status, message: string): Result<T> {
  return { ok: false, error: { code, message } };
}

/** Handles are kept in 40 bits (Uint32 + Uint8 per slot). */
export const MAX_HANDLE = 2 ** 40;

function checkBacking(b: Backing): void {
  if (!Number.isInteger(b.tier) || b.tier < TierCode.EMPTY || b.tier > TierCode.LOST)
    throw new Error(`bad tier code ${b.tier}`);
  if (!Number.isInteger(b.backend) || b.backend < 0 || b.backend > 255)
    throw new Error(`bad backend id ${b.backend}: 0..255`);
  if (!Number.isInteger(b.handle) || b.handle < 0 || b.handle >= MAX_HANDLE)
    throw new Error(`bad backend handle ${b.handle}: 0 to 2^40-1`);
  if (b.checksum >>> 0 !== b.checksum) throw new Error(`bad checksum ${b.checksum}: a uint32`);
}

export class SlotTable {
  readonly maxSwapCount: number;
  /** Clusters by index; index 0 is never used so slot 0 is never valid. */
  private readonly clusters: (SlotCluster | undefined)[] = [undefined];
  /** Indices of dropped clusters, reused first (lazily skipping any restoreSlot took back). */
  private readonly freeIndices: number[] = [];
  /** Empty clusters whose storage is kept for reuse. */
  private readonly pool: SlotCluster[] = [];
  private fullHead = 0;
  private liveClusters = 0;
  /** Told each owner the table forgets (see onOwnerGone). */
  private readonly goneListeners: ((owner: string) => void)[] = [];
  /** Told each change of an owner's live slots (see onLiveChange). */
  private readonly liveListeners: LiveListener[] = [];
  private readonly registry = new SlotOwners((name) => {
    for (const l of this.goneListeners) l(name);
  });
  private live = 0;
  private readonly tierTotals = new Float64Array(TIER_SLOTS);
  /** Clusters (pooled ones too) carrying per-slot owner ids: those that have been shared. */
  private ownerArrays = 0;

  constructor(options: SlotTableOptions = {}) {
    const max = options.maxSwapCount ?? DEFAULT_MAX_SWAP_COUNT;
    if (!Number.isInteger(max) || max < 1 || max > DEFAULT_MAX_SWAP_COUNT) {
      throw new Error(`maxSwapCount must be an integer from 1 to ${DEFAULT_MAX_SWAP_COUNT}, got ${max}`);
    }
    this.maxSwapCount = max;
  }

  // ---- lifetime -------------------------------------------------------------

  /**
   * Allocates count (1..512) slots with swap count 1 and tier EMPTY. Without
   * contiguous: single slots from the owner's order-0 clusters, possibly
   * spanning clusters. With contiguous: one naturally aligned run (first id a
   * multiple of 2^order, order = ceil(log2(count))) inside one cluster of that
   * order.
   */
  allocate(owner: string, count: number, contiguous: boolean): Result<number[]> {
    if (!Number.isInteger(count) || count < 1 || count > CLUSTER_SLOTS) {
      return fail(status.INVALID_ARGUMENT, `count must be from 1 to ${CLUSTER_SLOTS}, got ${count}`);
    }
    // At most two new clusters per call (a run, or a spill into one more).
    if (this.freeIndices.length === 0 && this.clusters.length + 2 > MAX_CLUSTERS) {
      return fail(status.RESOURCE_EXHAUSTED, `the slot table is out of cluster ids (${MAX_CLUSTERS - 1} clusters)`);
    }
    const o = this.registry.getOrCreate(owner);
    const out: number[] = [];
    if (contiguous && count > 1) {
      const order = 32 - Math.clz32(count - 1);
      const c = this.currentCluster(o, order);
      const first = c.findFreeUnit();
      for (let i = 0; i < count; i++) this.initSlot(c, first + i);
      const base = c.index << CLUSTER_SHIFT;
      for (let i = 0; i < count; i++) out.push(base + first + i);
    } else if (o.clusters === 0 && o.shared + count <= SHARE_LIMIT) {
      // A small owner: from the shared clusters, each slot marked with its owner.
      this.takeOrder0(this.registry.shared, count, out, o.id);
      o.shared += count;
    } else {
      this.takeOrder0(o, count, out, SHARED_OWNER);
    }
    o.live += count;
    o.tiers[TierCode.EMPTY]! += count;
    this.live += count;
    this.tierTotals[TierCode.EMPTY]! += count;
    if (this.liveListeners.length > 0) this.liveChanged(o, count);
    return { ok: true, value: out };
  }

  /**
   * Batch-wide validation, in this order: batch empty or > 512 ->
   * INVALID_ARGUMENT; same slot twice -> INVALID_ARGUMENT; then per slot in
   * request order: 0/unallocated/count==0 -> NOT_FOUND, other owner ->
   * PERMISSION_DENIED.
   */
  check(owner: string, slots: readonly number[]): Result<void> {
    const err = this.validate(owner, slots);
    return err === undefined ? OK_VOID : { ok: false, error: err };
  }

  /**
   * swap_duplicate: +1 on every slot; returns the counts after. All or
   * nothing: check() first, then any slot already at maxSwapCount makes it
   * RESOURCE_EXHAUSTED.
   */
  duplicate(owner: string, slots: readonly number[]): Result<number[]> {
    const err = this.validate(owner, slots);
    if (err !== undefined) return { ok: false, error: err };
    const max = this.maxSwapCount;
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i]!;
      if (this.clusters[s >>> CLUSTER_SHIFT]!.counts[s & OFFSET_MASK]! >= max) {
        return fail(status.RESOURCE_EXHAUSTED, `slot ${s} is already at the maximum swap count ${max}`);
      }
    }
    const counts = new Array<number>(slots.length);
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i]!;
      const c = this.clusters[s >>> CLUSTER_SHIFT]!;
      counts[i] = ++c.counts[s & OFFSET_MASK]!;
    }
    return { ok: true, value: counts };
  }

  /**
   * swap_free: -1 on every slot; returns the counts after and every slot
   * released by the call (count 0 and not pinned) with the backing it had.
   * All or nothing; a slot already freed is NOT_FOUND.
   */
  free(owner: string, slots: readonly number[]): Result<{ counts: number[]; released: Released[] }> {
    const err = this.validate(owner, slots);
    if (err !== undefined) return { ok: false, error: err };
    const counts = new Array<number>(slots.length);
    const released: Released[] = [];
    // Validated: every slot is the owner's (held here: the owner may be forgotten by the last release).
    const o = this.registry.get(owner)!;
    let died = 0;
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i]!;
      const c = this.clusters[s >>> CLUSTER_SHIFT]!;
      const off = s & OFFSET_MASK;
      const n = c.counts[off]! - 1;
      c.counts[off] = n;
      counts[i] = n;
      if (n === 0) {
        died++;
        this.leaveLive(c, off);
        if ((c.bytes[off]! & PIN_BIT) === 0) released.push(this.release(c, off));
      }
    }
    if (died > 0 && this.liveListeners.length > 0) this.liveChanged(o, -died);
    return { ok: true, value: { counts, released } };
  }

  /** Pins a slot in the swap cache (SWAP_HAS_CACHE): it stays allocated at count 0 until unpin(). */
  pin(slot: number): void {
    const c = this.allocatedCluster(slot);
    if (c === undefined) throw new Error(`pin: slot ${slot} is not allocated`);
    c.bytes[slot & OFFSET_MASK]! |= PIN_BIT;
  }

  /** Drops the swap-cache pin; returns the released slot's backing if its count was already 0. */
  unpin(slot: number): Released | undefined {
    const c = this.allocatedCluster(slot);
    if (c === undefined) return undefined;
    const off = slot & OFFSET_MASK;
    const b = c.bytes[off]!;
    if ((b & PIN_BIT) === 0) return undefined;
    c.bytes[off] = b & ~PIN_BIT;
    return c.counts[off] === 0 ? this.release(c, off) : undefined;
  }

  isPinned(slot: number): boolean {
    const c = this.allocatedCluster(slot);
    return c !== undefined && (c.bytes[slot & OFFSET_MASK]! & PIN_BIT) !== 0;
  }

  // ---- per-slot reads: 0/undefined for a slot that is not allocated ------------
  // (A pinned slot at count 0 is not live but still has its backing: reads show it.)

  /** Allocated with swap count > 0. */
  isLive(slot: number): boolean {
    const c = this.allocatedCluster(slot);
    return c !== undefined && c.counts[slot & OFFSET_MASK]! > 0;
  }

  countOf(slot: number): number {
    const c = this.allocatedCluster(slot);
    return c === undefined ? 0 : c.counts[slot & OFFSET_MASK]!;
  }

  /** The slot's tier, or 0 (TIER_UNSPECIFIED) when it is not allocated. */
  tierOf(slot: number): TierCode {
    const c = this.allocatedCluster(slot);
    return (c === undefined ? 0 : c.bytes[slot & OFFSET_MASK]! & TIER_MASK) as TierCode;
  }

  backendOf(slot: number): number {
    const c = this.allocatedCluster(slot);
    return c === undefined ? 0 : c.bytes[BACKEND_BASE + (slot & OFFSET_MASK)]!;
  }

  handleOf(slot: number): number {
    const c = this.allocatedCluster(slot);
    return c === undefined ? 0 : c.handle(slot & OFFSET_MASK);
  }

  checksumOf(slot: number): number {
    const c = this.allocatedCluster(slot);
    return c === undefined ? 0 : c.words[CHECKSUM_BASE + (slot & OFFSET_MASK)]!;
  }

  ownerOf(slot: number): string | undefined {
    const c = this.allocatedCluster(slot);
    return c === undefined ? undefined : this.registry.byIndex(this.ownerIdAt(c, slot & OFFSET_MASK)).name;
  }

  /** The size order of the cluster holding slot (SHARED_ORDER for a shared one), or -1 when no cluster does. */
  orderOf(slot: number): number {
    const c = this.clusterAt(slot);
    return c === undefined ? -1 : c.owner === SHARED_OWNER ? SHARED_ORDER : c.order;
  }

  /** Records where the slot's data is. The slot must be allocated; throws otherwise (a programming error). */
  setBacking(slot: number, backing: Backing): void {
    const c = this.allocatedCluster(slot);
    if (c === undefined) throw new Error(`setBacking: slot ${slot} is not allocated`);
    checkBacking(backing);
    const off = slot & OFFSET_MASK;
    const old = c.bytes[off]!;
    if (c.counts[off]! > 0) this.moveTier(c, off, old & TIER_MASK, backing.tier);
    c.bytes[off] = (old & PIN_BIT) | backing.tier;
    c.bytes[BACKEND_BASE + off] = backing.backend;
    c.setHandle(off, backing.handle);
    c.words[CHECKSUM_BASE + off] = backing.checksum;
  }

  // ---- scans and stats ----------------------------------------------------------

  /** All allocated slots whose backend is backend (for swapoff / reconcile), optionally of one tier. */
  slotsOnBackend(backend: number, tier?: TierCode): number[] {
    const out: number[] = [];
    for (const c of this.clusters) {
      if (c === undefined) continue;
      const bytes = c.bytes;
      const base = c.index << CLUSTER_SHIFT;
      for (let off = 0; off < CLUSTER_SLOTS; off++) {
        const t = bytes[off]! & TIER_MASK;
        if (t !== 0 && bytes[BACKEND_BASE + off] === backend && (tier === undefined || t === tier))
          out.push(base + off);
      }
    }
    return out;
  }

  /** Calls fn for every allocated slot (count > 0 or pinned), cluster by cluster, in id order. */
  forEachSlot(fn: (slot: number) => void): void {
    for (let i = 1; i < this.clusters.length; i++) {
      const c = this.clusters[i];
      if (c === undefined) continue;
      const base = c.index << CLUSTER_SHIFT;
      for (let off = 0; off < CLUSTER_SLOTS; off++) {
        // fn may release slots (even this cluster): re-read the cluster each time.
        if (this.clusters[i] !== c) break;
        if ((c.bytes[off]! & TIER_MASK) !== 0) fn(base + off);
      }
    }
  }

  /**
   * A copy of every allocated slot as it is now (see SlotTableImage), for a
   * journal snapshot written out while the table goes on changing. Costs a
   * memcpy per cluster in use.
   */
  capture(): SlotTableImage {
    const copies: SlotCluster[] = [];
    for (let i = 1; i < this.clusters.length; i++) {
      const c = this.clusters[i];
      if (c !== undefined) copies.push(c.copy());
    }
    return new SlotTableImage(copies, this.registry.namesById());
  }

  /** Live slots (count > 0) of one owner, or of all owners. */
  usedSlots(owner?: string): number {
    if (owner === undefined) return this.live;
    return this.registry.get(owner)?.live ?? 0;
  }

  /** Live slots per tier, indexed by TierCode (index 0 is always 0), for one owner or all. */
  pagesByTier(owner?: string): number[] {
    if (owner === undefined) return Array.from(this.tierTotals);
    const o = this.registry.get(owner);
    return o === undefined ? new Array<number>(TIER_SLOTS).fill(0) : o.tiers.slice();
  }

  /**
   * Whether the table knows the owner: it holds at least one allocated slot
   * (live, or pinned by the swap cache at count 0).
   */
  hasOwner(owner: string): boolean {
    return this.registry.get(owner) !== undefined;
  }

  /**
   * Calls `listener` with each owner the table forgets: its last allocated
   * slot was released (hasOwner() is false from then on). Per-owner state
   * kept elsewhere is dropped there, so owners that come and go (each process
   * is one) cost nothing once gone. Called synchronously, in the middle of
   * the release: the listener must not change the table.
   */
  onOwnerGone(listener: (owner: string) => void): void {
    this.goneListeners.push(listener);
  }

  /**
   * Calls `listener` after each change of an owner's live slots (swap count
   * > 0): `delta` slots more (or fewer), `live` after it. Allocate and Free
   * call it once per call, replay once per slot. Called synchronously: the
   * listener must not change the table.
   */
  onLiveChange(listener: LiveListener): void {
    this.liveListeners.push(listener);
  }

  /** Owners holding at least one allocated slot. */
  owners(): string[] {
    return this.registry.names();
  }

  /** How many owners hold clusters (owners().length without the copy). */
  ownerCount(): number {
    return this.registry.size;
  }

  /** Clusters in use (each holds at least one allocated slot). */
  clusterCount(): number {
    return this.liveClusters;
  }

  /** Bytes this table holds: cluster storage and objects (pooled ones too), indices, owners. */
  memoryBytes(): number {
    const clusters = (this.liveClusters + this.pool.length) * (CLUSTER_STORAGE_BYTES + CLUSTER_OVERHEAD_BYTES);
    const slotOwners = this.ownerArrays * (SLOT_OWNERS_BYTES + CLUSTER_OVERHEAD_BYTES / 3);
    const indices = (this.clusters.length + this.freeIndices.length) * 8;
    return clusters + slotOwners + indices + this.registry.memoryBytes() + 256;
  }

  // ---- journal replay / snapshot restore -----------------------------------------

  /**
   * Puts a slot back at its exact id with these fields, creating its cluster
   * (with that owner and order, or shared for SHARED_ORDER) if needed.
   * Replaying the same slot again overwrites it. Throws if the slot's cluster
   * exists with another owner or order, or the slot with another owner (the
   * journal and the table disagree: a programming error).
   */
  restoreSlot(slot: number, owner: string, order: number, count: number, backing: Backing): void {
    if (slot >>> 0 !== slot || slot >>> CLUSTER_SHIFT === 0) throw new Error(`restoreSlot: bad slot id ${slot}`);
    if (!Number.isInteger(order) || order < 0 || order > SHARED_ORDER)
      throw new Error(`restoreSlot: bad order ${order}`);
    if (!Number.isInteger(count) || count < 1 || count > this.maxSwapCount)
      throw new Error(`restoreSlot: bad swap count ${count}`);
    checkBacking(backing);
    const shared = order === SHARED_ORDER;
    const ci = slot >>> CLUSTER_SHIFT;
    const off = slot & OFFSET_MASK;
    let c = this.clusters[ci];
    if (c !== undefined) {
      const held = c.owner === SHARED_OWNER ? 'shared' : `of owner ${this.registry.byIndex(c.owner).name}`;
      if (shared !== (c.owner === SHARED_OWNER) || (!shared && this.registry.byIndex(c.owner).name !== owner))
        throw new Error(`restoreSlot: slot ${slot} is in a cluster ${held}, not ${shared ? 'shared' : `of ${owner}`}`);
      if (!shared && c.order !== order)
        throw new Error(`restoreSlot: slot ${slot} is in a cluster of order ${c.order}, not ${order}`);
      if (shared && c.isAllocated(off) && this.registry.byIndex(c.slotOwners![off]!).name !== owner)
        throw new Error(`restoreSlot: slot ${slot} is allocated to another owner, not ${owner}`);
    }
    const o = this.registry.getOrCreate(owner);
    /** Whose lists the cluster is on. */
    const lo = shared ? this.registry.shared : o;
    if (c === undefined) {
      while (this.clusters.length <= ci) {
        if (this.clusters.length < ci) this.freeIndices.push(this.clusters.length);
        this.clusters.push(undefined);
      }
      c = this.takeCluster(lo, shared ? 0 : order, ci);
    }
    let wasLive = false;
    if (c.isAllocated(off)) {
      wasLive = c.counts[off]! > 0;
      if (wasLive) this.leaveLive(c, off);
    } else {
      c.mark(off);
      if (shared) {
        c.slotOwners![off] = o.id;
        o.shared++;
      }
    }
    c.counts[off] = count;
    c.bytes[off] = (c.bytes[off]! & PIN_BIT) | backing.tier;
    c.bytes[BACKEND_BASE + off] = backing.backend;
    c.setHandle(off, backing.handle);
    c.words[CHECKSUM_BASE + off] = backing.checksum;
    o.live++;
    o.tiers[backing.tier]!++;
    this.live++;
    this.tierTotals[backing.tier]!++;
    if (!wasLive && this.liveListeners.length > 0) this.liveChanged(o, 1);
    // Keep it on the list its fill calls for; the owner's current cluster stays current.
    if (c.list === LIST_NONE) {
      if (c.freeUnits > 0) this.pushNonfull(lo, c);
      else this.pushFull(c);
    } else if (c.list === LIST_NONFULL && c.freeUnits === 0) {
      this.unlink(lo, c);
      this.pushFull(c);
    }
  }

  /** For replay: releases a slot whatever its count or pin (it was freed). Not allocated: no-op. */
  releaseSlot(slot: number): void {
    const c = this.allocatedCluster(slot);
    if (c === undefined) return;
    const off = slot & OFFSET_MASK;
    if (c.counts[off]! > 0) {
      const o = this.registry.byIndex(this.ownerIdAt(c, off));
      this.leaveLive(c, off);
      this.release(c, off);
      if (this.liveListeners.length > 0) this.liveChanged(o, -1);
    } else this.release(c, off);
  }

  // ---- internals ------------------------------------------------------------------

  /** The cluster slot falls in, if any (slot must be a uint32 integer). */
  private clusterAt(slot: number): SlotCluster | undefined {
    if (slot >>> 0 !== slot) return undefined;
    const ci = slot >>> CLUSTER_SHIFT;
    return ci < this.clusters.length ? this.clusters[ci] : undefined;
  }

  /** The cluster of an allocated slot, or undefined if slot is not allocated. */
  private allocatedCluster(slot: number): SlotCluster | undefined {
    const c = this.clusterAt(slot);
    return c !== undefined && (c.bytes[slot & OFFSET_MASK]! & TIER_MASK) !== 0 ? c : undefined;
  }

  /** The whole validation of a batch; undefined when it passes. Changes nothing. */
  private validate(owner: string, slots: readonly number[]): SlotError | undefined {
    const n = slots.length;
    if (n === 0) return { code: status.INVALID_ARGUMENT, message: `no slots given: a batch holds 1 to ${MAX_BATCH}` };
    if (n > MAX_BATCH)
      return { code: status.INVALID_ARGUMENT, message: `${n} slots in one request: at most ${MAX_BATCH}` };
    const dup = findDuplicate(slots);
    if (dup !== undefined)
      return { code: status.INVALID_ARGUMENT, message: `slot ${dup} appears twice in one request` };
    const ownerId = this.registry.get(owner)?.id ?? -1;
    for (let i = 0; i < n; i++) {
      const s = slots[i]!;
      const c = this.clusterAt(s);
      if (c === undefined || c.counts[s & OFFSET_MASK] === 0) {
        return { code: status.NOT_FOUND, message: notAllocatedMessage(s) };
      }
      if (this.ownerIdAt(c, s & OFFSET_MASK) !== ownerId)
        return { code: status.PERMISSION_DENIED, message: otherOwnerMessage(s) };
    }
    return undefined;
  }

  /** The id of the owner of slot `off` of cluster c (allocated). */
  private ownerIdAt(c: SlotCluster, off: number): number {
    return c.owner === SHARED_OWNER ? c.slotOwners![off]! : c.owner;
  }

  /**
   * Takes `count` order-0 slots from lo's clusters (spanning clusters when one
   * fills), appending their ids to out. For the shared clusters (lo is the
   * shared holder), each slot is marked with its owner `slotOwner`.
   */
  private takeOrder0(lo: SlotOwner, count: number, out: number[], slotOwner: number): void {
    let remaining = count;
    while (remaining > 0) {
      const c = this.currentCluster(lo, 0);
      const start = out.length;
      const taken = c.takeSlots(remaining, out);
      const counts = c.counts;
      const bytes = c.bytes;
      for (let i = start; i < out.length; i++) {
        const off = out[i]! & OFFSET_MASK;
        counts[off] = 1;
        bytes[off] = TierCode.EMPTY;
      }
      if (lo.id === SHARED_OWNER) {
        const owners = c.slotOwners!;
        for (let i = start; i < out.length; i++) owners[out[i]! & OFFSET_MASK] = slotOwner;
      }
      remaining -= taken;
    }
  }

  /** A slot of cluster c, free until now, joins with swap count 1 and tier EMPTY. */
  private initSlot(c: SlotCluster, off: number): void {
    c.mark(off);
    c.counts[off] = 1;
    c.bytes[off] = TierCode.EMPTY;
  }

  private liveChanged(o: SlotOwner, delta: number): void {
    for (const l of this.liveListeners) l(o.name, delta, o.live);
  }

  /** Bookkeeping when a slot's swap count leaves > 0 (to 0, or overwritten by replay). */
  private leaveLive(c: SlotCluster, off: number): void {
    const o = this.registry.byIndex(this.ownerIdAt(c, off));
    const t = c.bytes[off]! & TIER_MASK;
    o.live--;
    o.tiers[t]!--;
    this.live--;
    this.tierTotals[t]!--;
  }

  private moveTier(c: SlotCluster, off: number, from: number, to: number): void {
    if (from === to) return;
    const o = this.registry.byIndex(this.ownerIdAt(c, off));
    o.tiers[from]!--;
    o.tiers[to]!++;
    this.tierTotals[from]!--;
    this.tierTotals[to]!++;
  }

  /** Releases an allocated slot: clears its fields and relists (or drops) its cluster. */
  private release(c: SlotCluster, off: number): Released {
    const slot = (c.index << CLUSTER_SHIFT) + off;
    const r: Released = {
      slot,
      tier: (c.bytes[off]! & TIER_MASK) as TierCode,
      backend: c.bytes[BACKEND_BASE + off]!,
      handle: c.handle(off),
    };
    c.counts[off] = 0;
    c.bytes[off] = 0;
    c.bytes[BACKEND_BASE + off] = 0;
    c.setHandle(off, 0);
    c.words[CHECKSUM_BASE + off] = 0;
    c.unmark(off);
    if (c.owner === SHARED_OWNER) {
      const so = this.registry.byIndex(c.slotOwners![off]!);
      c.slotOwners![off] = 0;
      if (--so.shared === 0 && so.clusters === 0) this.registry.remove(so);
    }
    if (c.used === 0) {
      this.dropCluster(c);
    } else if (c.list === LIST_FULL && c.freeUnits > 0) {
      this.unlink(this.registry.byIndex(c.owner), c);
      this.pushNonfull(this.registry.byIndex(c.owner), c);
    }
    return r;
  }

  /**
   * The owner's cluster to allocate order-`order` units from: its current one
   * while it has room (a full one moves to the full list), else the head of
   * its nonfull list, else a new cluster.
   */
  private currentCluster(o: SlotOwner, order: number): SlotCluster {
    let ci = o.lists[order]!;
    if (ci !== 0) {
      const c = this.clusters[ci]!;
      if (c.freeUnits > 0) return c;
      o.lists[order] = 0;
      c.list = LIST_NONE;
      this.pushFull(c);
    }
    ci = o.lists[ORDERS + order]!;
    let c: SlotCluster;
    if (ci !== 0) {
      c = this.clusters[ci]!;
      this.unlink(o, c);
    } else {
      c = this.takeCluster(o, order, this.nextIndex());
    }
    c.list = LIST_CURRENT;
    o.lists[order] = c.index;
    return c;
  }

  /** A free cluster index: a recycled one if any, else a new one at the end. */
  private nextIndex(): number {
    while (this.freeIndices.length > 0) {
      const i = this.freeIndices.pop()!;
      if (this.clusters[i] === undefined) return i;
    }
    this.clusters.push(undefined);
    return this.clusters.length - 1;
  }

  /** Puts an empty cluster (pooled or new) into service at index ci for owner o. */
  private takeCluster(o: SlotOwner, order: number, ci: number): SlotCluster {
    const c = this.pool.pop() ?? new SlotCluster();
    c.reset(ci, o.id, order);
    if (o.id === SHARED_OWNER && c.slotOwners === undefined) {
      c.slotOwners = new Uint32Array(CLUSTER_SLOTS);
      this.ownerArrays++;
    }
    o.ensureLists();
    this.clusters[ci] = c;
    this.liveClusters++;
    o.clusters++;
    return c;
  }

  /** A cluster with no allocated slot left is dropped: index recycled, storage pooled. */
  private dropCluster(c: SlotCluster): void {
    const o = this.registry.byIndex(c.owner);
    if (c.list === LIST_CURRENT) o.lists[c.order] = 0;
    else if (c.list !== LIST_NONE) this.unlink(o, c);
    c.list = LIST_NONE;
    this.clusters[c.index] = undefined;
    this.freeIndices.push(c.index);
    this.liveClusters--;
    // Its storage is all zero again (release clears every field), so it can be reused as is.
    if (this.pool.length < FREE_POOL_MAX) this.pool.push(c);
    else if (c.slotOwners !== undefined) this.ownerArrays--;
    if (--o.clusters === 0 && o.shared === 0) this.registry.remove(o);
  }

  private pushNonfull(o: SlotOwner, c: SlotCluster): void {
    const head = o.lists[ORDERS + c.order]!;
    c.list = LIST_NONFULL;
    c.prev = 0;
    c.next = head;
    if (head !== 0) this.clusters[head]!.prev = c.index;
    o.lists[ORDERS + c.order] = c.index;
  }

  private pushFull(c: SlotCluster): void {
    c.list = LIST_FULL;
    c.prev = 0;
    c.next = this.fullHead;
    if (this.fullHead !== 0) this.clusters[this.fullHead]!.prev = c.index;
    this.fullHead = c.index;
  }

  /** Takes c off its nonfull or full list. */
  private unlink(o: SlotOwner, c: SlotCluster): void {
    if (c.prev !== 0) this.clusters[c.prev]!.next = c.next;
    else if (c.list === LIST_FULL) this.fullHead = c.next;
    else o.lists[ORDERS + c.order] = c.next;
    if (c.next !== 0) this.clusters[c.next]!.prev = c.prev;
    c.prev = 0;
    c.next = 0;
    c.list = LIST_NONE;
  }
}

/** The first slot that appears twice, if any. Small batches avoid allocating a Set. */
function findDuplicate(slots: readonly number[]): number | undefined {
  const n = slots.length;
  if (n <= 32) {
    for (let i = 1; i < n; i++) {
      const s = slots[i]!;
      for (let j = 0; j < i; j++) if (slots[j] === s) return s;
    }
    return undefined;
  }
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) {
    const s = slots[i]!;
    if (seen.has(s)) return s;
    seen.add(s);
  }
  return undefined;
}

/** NOT_FOUND's message for a slot that is not allocated. */
export function notAllocatedMessage(slot: number): string {
  return `slot ${slot} is not allocated`;
}

/** PERMISSION_DENIED's message for a slot of another owner (the gate reads the slot back: slotOfOtherOwner). */
export function otherOwnerMessage(slot: number): string {
  return `slot ${slot} belongs to another owner`;
}

/** The slot named by otherOwnerMessage(), or undefined for any other message. */
export function slotOfOtherOwner(message: string): number | undefined {
  const m = /^slot (\d+) belongs to another owner$/.exec(message);
  return m ? Number(m[1]) : undefined;
}
