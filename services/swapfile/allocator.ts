/**
 * The physical slot allocator of one swap device, after the kernel's
 * mm/swapfile.c: the device is cut into clusters of 512 slots (one 2 MiB huge
 * page), each cluster serves one size order at a time (order k = naturally
 * aligned runs of 2^k slots), and clusters move between the lists
 *
 *   free            nothing allocated; any order may claim it
 *   nonfull[order]  some room left, serving `order`
 *   frag[order]     an allocation of `order` failed in it (room, but no
 *                   aligned run); only order 0 looks here again, and a free
 *                   inside it moves it back to nonfull
 *   full            every slot used
 *
 * A current position per order (the kernel's per-CPU cluster) makes the
 * common case O(1) and lays consecutive allocations of one order side by side,
 * so consecutive Put batches land in one contiguous file range.
 *
 * Pure and synchronous: no I/O, no objects per slot. Everything lives in typed
 * arrays (one byte per slot, a few per cluster), so a 1 GiB device (262144
 * slots) costs ~270 KiB.
 */
import { CLUSTER_SLOTS } from '../common/limits';

/**
 * handle = generation * 2^SLOT_BITS + slot + 1: 28 bits of slot (the largest
 * device is 2^28 - 1 slots) and 12 of generation, 40 bits in all (what the
 * coordinator keeps per slot). A slot's generation moves on when it is freed,
 * so a Get or Delete naming a handle of an earlier life of the slot finds
 * nothing, never the page stored there since. The first life of a slot is
 * generation 0 (handle = slot + 1). A stale handle could only match again
 * after its slot was reused 4096 times while the request naming it waited.
 */
export const SLOT_BITS = 28;
export const GEN_BITS = 12;
const SLOT_SPACE = 2 ** SLOT_BITS;
const GEN_MASK = 2 ** GEN_BITS - 1;
/** The largest device: slot + 1 must fit in SLOT_BITS. */
export const MAX_CAPACITY = SLOT_SPACE - 1;
/** Bit of a persisted slot word (see slotWord()) that marks the slot used. */
export const WORD_USED = 0x8000;

/** Orders 0..9: 1 to 512 slots per allocation (order 9 = a whole cluster). */
export const ORDERS = 10;
const CLUSTER_SHIFT = 9;
const CLUSTER_MASK = CLUSTER_SLOTS - 1;

// List ids. A cluster is on exactly one list at a time.
const LIST_FREE = 0;
const LIST_NONFULL = 1; // + order
const LIST_FRAG = 1 + ORDERS; // + order
const LIST_FULL = 1 + 2 * ORDERS;
const LIST_COUNT = 2 + 2 * ORDERS;

// Per-slot states in `slotMap`.
const SLOT_FREE = 0;
const SLOT_USED = 1;
/** Slots of the last cluster past the end of the device (the kernel's SWAP_MAP_BAD). */
const SLOT_BAD = 2;

export interface SwapAllocatorOptions {
  /** Usable slots (pages) of the device, at least 1. */
  capacity: number;
}

export interface ClusterListCounts {
  free: number;
  /** Summed over all orders. */
  nonfull: number;
  frag: number;
  full: number;
}

export type ClusterList = 'free' | 'nonfull' | 'frag' | 'full';

export class SwapAllocator {
  readonly capacity: number;
  readonly clusterCount: number;

  /** One byte per slot of every cluster, bad slots included. */
  private readonly slotMap: Uint8Array;
  /** The same memory read four slots at a time for runs of order >= 2. */
  private readonly slotMap32: Uint32Array;
  /** Per cluster: used + bad slots. */
  private readonly clusterUsed: Uint16Array;
  private readonly clusterOrder: Uint8Array;
  private readonly clusterList: Uint8Array;
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private readonly listHead = new Int32Array(LIST_COUNT);
  private readonly listTail = new Int32Array(LIST_COUNT);
  private readonly listLength = new Int32Array(LIST_COUNT);
  /**
   * Per slot: the generation of the page stored there (used), or the one the
   * next page stored there gets (free). Only ever moves forward (mod 2^12).
   */
  private readonly gen: Uint16Array;
  /** Per order: the slot where the next scan starts, or -1 (no current cluster). */
  private readonly current = new Int32Array(ORDERS);
  private usedSlots = 0;

  constructor(options: SwapAllocatorOptions) {
    const { capacity } = options;
    if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > MAX_CAPACITY)
      throw new RangeError(`capacity ${capacity}: 1 to ${MAX_CAPACITY} slots`);
    this.capacity = capacity;
    this.clusterCount = Math.ceil(capacity / CLUSTER_SLOTS);
    const slots = this.clusterCount * CLUSTER_SLOTS;
    this.slotMap = new Uint8Array(slots);
    this.slotMap32 = new Uint32Array(this.slotMap.buffer, 0, slots / 4);
    this.clusterUsed = new Uint16Array(this.clusterCount);
    this.clusterOrder = new Uint8Array(this.clusterCount);
    this.clusterList = new Uint8Array(this.clusterCount);
    this.prev = new Int32Array(this.clusterCount);
    this.next = new Int32Array(this.clusterCount);
    this.gen = new Uint16Array(capacity);
    this.reset();
  }

  /** Slots in use. */
  get used(): number {
    return this.usedSlots;
  }

  /** Frees everything: the state of a fresh device (generations are kept: old handles stay stale). */
  reset(): void {
    this.slotMap.fill(SLOT_FREE);
    this.slotMap.fill(SLOT_BAD, this.capacity);
    this.clusterUsed.fill(0);
    this.clusterOrder.fill(0);
    this.listHead.fill(-1);
    this.listTail.fill(-1);
    this.listLength.fill(0);
    this.current.fill(-1);
    this.usedSlots = 0;
    for (let c = 0; c < this.clusterCount; c++) this.place(c);
  }

  /**
   * Rebuilds the state from a bitmap of used slots (bit i = slot i, most
   * significant bit first, as Redis SETBIT numbers bits). Partly used clusters
   * come back as order 0 (the order they served is not recorded). Returns how
   * many set bits lie beyond the capacity (ignored).
   */
  restore(bitmap: Uint8Array): number {
    this.reset();
    let beyond = 0;
    for (let byte = 0; byte < bitmap.length; byte++) {
      const bits = bitmap[byte] ?? 0;
      if (bits === 0) continue;
      for (let b = 0; b < 8; b++) {
        if ((bits & (0x80 >> b)) === 0) continue;
        const slot = byte * 8 + b;
        if (slot >= this.capacity) {
          beyond++;
          continue;
        }
        this.slotMap[slot] = SLOT_USED;
        this.usedSlots++;
      }
    }
    this.relist();
    return beyond;
  }

  /** Puts every cluster back on the list its slots call for (after the slot map changed wholesale). */
  private relist(): void {
    this.listHead.fill(-1);
    this.listTail.fill(-1);
    this.listLength.fill(0);
    this.current.fill(-1);
    for (let c = 0; c < this.clusterCount; c++) this.place(c);
  }

  /**
   * Rebuilds the state from persisted slot words (slotWord(): WORD_USED | generation),
   * the format of the stores' maps. Returns how many used slots lie beyond the
   * capacity (ignored).
   */
  restoreWords(words: Uint16Array): number {
    this.reset();
    let beyond = 0;
    for (let slot = 0; slot < words.length; slot++) {
      const w = words[slot]!;
      if (slot >= this.capacity) {
        if ((w & WORD_USED) !== 0) beyond++;
        continue;
      }
      this.gen[slot] = w & GEN_MASK;
      if ((w & WORD_USED) !== 0) {
        this.slotMap[slot] = SLOT_USED;
        this.usedSlots++;
      }
    }
    this.relist();
    return beyond;
  }

  /**
   * After the store went back in time (Redis restarted from an older state or
   * empty): `words` is what it holds now. A slot stays used only where the
   * store still has the very page this allocator knows (used in both, same
   * generation). Every other slot is free, and its generation moves past any
   * this process handed out, so no handle of a lost page is ever given again.
   * Returns the number of slots whose page was lost.
   */
  mergeAfterLoss(words: Uint16Array): number {
    let lost = 0;
    for (let slot = 0; slot < this.capacity; slot++) {
      if (this.slotMap[slot] !== SLOT_USED) continue;
      const w = slot < words.length ? words[slot]! : 0;
      if ((w & WORD_USED) !== 0 && (w & GEN_MASK) === this.gen[slot]) continue;
      this.slotMap[slot] = SLOT_FREE;
      this.gen[slot] = (this.gen[slot]! + 1) & GEN_MASK;
      this.usedSlots--;
      lost++;
    }
    this.relist();
    return lost;
  }

  /** What a store persists for a slot: WORD_USED | generation. */
  slotWord(slot: number): number {
    return (this.slotMap[slot] === SLOT_USED ? WORD_USED : 0) | this.gen[slot]!;
  }

  /** Every slot's word (see slotWord()), e.g. to rewrite a store's map whole. */
  toWords(): Uint16Array {
    const out = new Uint16Array(this.capacity);
    for (let slot = 0; slot < this.capacity; slot++) out[slot] = this.slotWord(slot);
    return out;
  }

  /** The handle of the page in a used slot. */
  handleOf(slot: number): number {
    return this.gen[slot]! * SLOT_SPACE + slot + 1;
  }

  /** The slot a handle names when that slot holds the handle's page now; otherwise -1 (unknown or stale). */
  slotOfHandle(handle: number): number {
    if (!Number.isSafeInteger(handle) || handle <= 0) return -1;
    const low = handle % SLOT_SPACE;
    if (low === 0) return -1;
    const slot = low - 1;
    const g = (handle - low) / SLOT_SPACE;
    if (slot >= this.capacity || this.slotMap[slot] !== SLOT_USED || this.gen[slot] !== g) return -1;
    return slot;
  }

  /** Why a handle names no page here, for error messages. */
  describeMissing(handle: number): string {
    if (!Number.isSafeInteger(handle) || handle <= 0) return 'not a handle';
    const low = handle % SLOT_SPACE;
    const slot = low - 1;
    if (low === 0 || slot >= this.capacity) return 'beyond the device';
    const g = (handle - low) / SLOT_SPACE;
    if (this.slotMap[slot] === SLOT_USED && this.gen[slot] !== g)
      return `stale: slot ${slot} was freed and now holds another page`;
    if (this.slotMap[slot] !== SLOT_USED && this.gen[slot] !== g) return `stale: slot ${slot} was freed`;
    return 'never stored or already deleted';
  }

  /** The used slots as a bitmap in the format restore() reads. */
  toBitmap(): Uint8Array {
    const out = new Uint8Array(Math.ceil(this.capacity / 8));
    for (let slot = 0; slot < this.capacity; slot++) {
      if (this.slotMap[slot] === SLOT_USED) out[slot >> 3]! |= 0x80 >> (slot & 7);
    }
    return out;
  }

  isUsed(slot: number): boolean {
    return Number.isInteger(slot) && slot >= 0 && slot < this.capacity && this.slotMap[slot] === SLOT_USED;
  }

  /**
   * Allocates n slots for one batch: n is cut into power-of-two runs, largest
   * first (100 = 64 + 32 + 4), each run naturally aligned inside a cluster of
   * its order. A run that cannot be had is split in two of the next order
   * down, to single slots at worst. Fills out[0..n) with the slot of each
   * page in order, -1 for the pages that did not fit (always the last ones);
   * returns how many got a slot.
   */
  allocate(n: number, out: Int32Array): number {
    let filled = 0;
    let remaining = n;
    // Orders at or above this one failed during this call: nothing is freed
    // meanwhile, so do not ask again.
    let failedOrder = ORDERS;
    while (remaining > 0) {
      const order = Math.min(31 - Math.clz32(remaining), ORDERS - 1, failedOrder - 1);
      if (order < 0) break;
      const start = this.allocateRun(order);
      if (start < 0) {
        failedOrder = order;
        continue;
      }
      const size = 1 << order;
      for (let k = 0; k < size; k++) out[filled++] = start + k;
      remaining -= size;
    }
    for (let i = filled; i < n; i++) out[i] = -1;
    return filled;
  }

  /** Releases one slot; false (and no change) when it was not in use. */
  free(slot: number): boolean {
    if (!this.isUsed(slot)) return false;
    this.slotMap[slot] = SLOT_FREE;
    // Its handle dies with the page: the next page here gets a new one.
    this.gen[slot] = (this.gen[slot]! + 1) & GEN_MASK;
    this.usedSlots--;
    const c = slot >> CLUSTER_SHIFT;
    const left = --this.clusterUsed[c]!;
    if (left === 0) {
      // Empty again: back to the free list's tail (reused last, as the kernel does).
      this.clusterOrder[c] = 0;
      this.move(c, LIST_FREE);
    } else if (this.clusterList[c] !== LIST_NONFULL + this.clusterOrder[c]!) {
      // Full or frag: the freed slot may complete an aligned run again.
      this.move(c, LIST_NONFULL + this.clusterOrder[c]!);
    }
    return true;
  }

  /** Calls fn for every used slot, in slot order. */
  forEachUsed(fn: (slot: number) => void): void {
    for (let slot = 0; slot < this.capacity; slot++) if (this.slotMap[slot] === SLOT_USED) fn(slot);
  }

  listCounts(): ClusterListCounts {
    let nonfull = 0;
    let frag = 0;
    for (let o = 0; o < ORDERS; o++) {
      nonfull += this.listLength[LIST_NONFULL + o]!;
      frag += this.listLength[LIST_FRAG + o]!;
    }
    return { free: this.listLength[LIST_FREE]!, nonfull, frag, full: this.listLength[LIST_FULL]! };
  }

  /** Which list a cluster is on, and the order it serves (0 when free). */
  clusterState(cluster: number): { list: ClusterList; order: number; used: number } {
    const l = this.clusterList[cluster]!;
    const list: ClusterList = l === LIST_FREE ? 'free' : l === LIST_FULL ? 'full' : l < LIST_FRAG ? 'nonfull' : 'frag';
    return { list, order: this.clusterOrder[cluster]!, used: this.clusterUsed[cluster]! };
  }

  /** Slots of the clusters that hold anything, per used slot (1.0 = packed). */
  fragmentation(): number {
    if (this.usedSlots === 0) return 1;
    const held = (this.clusterCount - this.listLength[LIST_FREE]!) * CLUSTER_SLOTS;
    return held / this.usedSlots;
  }

  // ---- allocation -------------------------------------------------------

  /** One naturally aligned run of 2^order slots, or -1. */
  private allocateRun(order: number): number {
    // 1. The current cluster of this order.
    const cur = this.current[order]!;
    if (cur >= 0) {
      this.current[order] = -1;
      const c = cur >> CLUSTER_SHIFT;
      if (this.usable(c, order)) {
        const s = this.scan(c, this.clusterList[c] === LIST_FREE ? 0 : cur & CLUSTER_MASK, order);
        if (s >= 0) return s;
      }
    }
    // 2. Clusters already serving this order. One that fails goes to frag.
    const nonfull = LIST_NONFULL + order;
    while (this.listHead[nonfull]! >= 0) {
      const c = this.listHead[nonfull]!;
      const s = this.scan(c, 0, order);
      if (s >= 0) return s;
      this.move(c, LIST_FRAG + order);
    }
    // 3. A free cluster takes this order.
    const free = this.listHead[LIST_FREE]!;
    if (free >= 0) {
      const s = this.scan(free, 0, order);
      if (s >= 0) return s;
    }
    if (order !== 0) return -1;
    // 4. Single slots fit anywhere with room: fragmented clusters first, then
    //    steal from the clusters of the other orders (the kernel does the same).
    for (let o = 0; o < ORDERS; o++) {
      const s = this.takeFromList(LIST_FRAG + o);
      if (s >= 0) return s;
    }
    for (let o = 1; o < ORDERS; o++) {
      const s = this.takeFromList(LIST_NONFULL + o);
      if (s >= 0) return s;
    }
    return -1;
  }

  private takeFromList(list: number): number {
    const c = this.listHead[list]!;
    if (c < 0) return -1;
    // Clusters on nonfull/frag lists always have a free slot.
    return this.scan(c, 0, 0);
  }

  /** May an allocation of `order` continue in cluster c? */
  private usable(c: number, order: number): boolean {
    const list = this.clusterList[c]!;
    if (list === LIST_FULL) return false;
    if (list === LIST_FREE || order === 0) return true;
    return this.clusterOrder[c] === order;
  }

  /** First aligned free run of 2^order slots in cluster c at or after `from`. */
  private scan(c: number, from: number, order: number): number {
    const size = 1 << order;
    const base = c << CLUSTER_SHIFT;
    let off = (from + size - 1) & ~(size - 1);
    for (; off + size <= CLUSTER_SLOTS; off += size) {
      if (this.runFree(base + off, size)) {
        this.take(c, base + off, order);
        const nextOff = off + size;
        this.current[order] = nextOff < CLUSTER_SLOTS ? base + nextOff : -1;
        return base + off;
      }
    }
    return -1;
  }

  private runFree(start: number, size: number): boolean {
    if (size >= 4) {
      // Aligned runs of 4+ slots: compare four slot bytes at a time.
      const end = (start + size) >> 2;
      for (let i = start >> 2; i < end; i++) if (this.slotMap32[i] !== 0) return false;
      return true;
    }
    for (let i = start; i < start + size; i++) if (this.slotMap[i] !== SLOT_FREE) return false;
    return true;
  }

  private take(c: number, start: number, order: number): void {
    const size = 1 << order;
    if (this.clusterList[c] === LIST_FREE) {
      this.clusterOrder[c] = order;
      this.move(c, LIST_NONFULL + order);
    }
    this.slotMap.fill(SLOT_USED, start, start + size);
    this.usedSlots += size;
    this.clusterUsed[c]! += size;
    if (this.clusterUsed[c] === CLUSTER_SLOTS) this.move(c, LIST_FULL);
  }

  // ---- lists --------------------------------------------------------------

  /** Puts cluster c on the list its counts call for (used by reset/restore). */
  private place(c: number): void {
    const base = c << CLUSTER_SHIFT;
    let used = 0;
    for (let i = base; i < base + CLUSTER_SLOTS; i++) if (this.slotMap[i] !== SLOT_FREE) used++;
    this.clusterUsed[c] = used;
    this.clusterOrder[c] = 0;
    const list = used === 0 ? LIST_FREE : used === CLUSTER_SLOTS ? LIST_FULL : LIST_NONFULL;
    this.append(list, c);
  }

  private move(c: number, list: number): void {
    this.unlink(c);
    this.append(list, c);
  }

  private append(list: number, c: number): void {
    const tail = this.listTail[list]!;
    this.prev[c] = tail;
    this.next[c] = -1;
    if (tail >= 0) this.next[tail] = c;
    else this.listHead[list] = c;
    this.listTail[list] = c;
    this.listLength[list]!++;
    this.clusterList[c] = list;
  }

  private unlink(c: number): void {
    const list = this.clusterList[c]!;
    const p = this.prev[c]!;
    const n = this.next[c]!;
    if (p >= 0) this.next[p] = n;
    else this.listHead[list] = n;
    if (n >= 0) this.prev[n] = p;
    else this.listTail[list] = p;
    this.listLength[list]!--;
  }
}
