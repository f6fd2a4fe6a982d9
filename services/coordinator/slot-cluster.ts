import { CLUSTER_SLOTS } from '../common/limits';

/**
 * One virtual cluster of CLUSTER_SLOTS (512) slots: the unit the slot table
 * allocates from, owned by one owner and serving one size order at a time,
 * as in the kernel's swap allocator. Per-slot fields live in typed arrays over
 * a single ArrayBuffer (struct of arrays), so a cluster costs a handful of JS
 * objects whatever its fill, and a slot costs 12 bytes plus one bitmap bit.
 */

/** Size orders 0 (single pages) .. 9 (512 contiguous slots, one 2 MiB folio). */
export const ORDERS = 10;
/**
 * What orderOf() (and so the journal) says for a slot of a shared cluster:
 * order 0, but shared by small owners (see slot-owners.ts), each slot
 * carrying its owner.
 */
export const SHARED_ORDER = ORDERS;
/** Bytes of a shared cluster's per-slot owner ids. */
export const SLOT_OWNERS_BYTES = CLUSTER_SLOTS * 4;
/** log2(CLUSTER_SLOTS): slot id = cluster index << CLUSTER_SHIFT | offset. */
export const CLUSTER_SHIFT = 9;
export const OFFSET_MASK = CLUSTER_SLOTS - 1;

/** Low bits of the tier byte: the tier code (1..5); 0 means "not allocated". */
export const TIER_MASK = 0x07;
/** Tier byte bit: the swap cache holds the slot (SWAP_HAS_CACHE). */
export const PIN_BIT = 0x08;

/** Which allocator list a cluster is on (mm/swapfile.c's lists, per owner). */
export const LIST_NONE = 0;
/** The owner's current cluster for its order (the kernel's per-CPU cluster). */
export const LIST_CURRENT = 1;
/** On its owner's nonfull list for its order: some free naturally aligned unit. */
export const LIST_NONFULL = 2;
/** On the table's full list: no free unit of its order left. */
export const LIST_FULL = 3;

const BITMAP_WORDS = CLUSTER_SLOTS / 32;
/** words[] layout: handle [0,512), checksum [512,1024), allocation bitmap [1024,1040). */
export const CHECKSUM_BASE = CLUSTER_SLOTS;
const BITMAP_BASE = 2 * CLUSTER_SLOTS;
/** bytes[] layout: tier|pin [0,512), backend [512,1024), handle bits 32..39 [1024,1536). */
export const BACKEND_BASE = CLUSTER_SLOTS;
const HANDLE_HIGH_BASE = 2 * CLUSTER_SLOTS;

const COUNTS_BYTES = CLUSTER_SLOTS * 2;
const WORDS_BYTES = (2 * CLUSTER_SLOTS + BITMAP_WORDS) * 4;
/** Handles are 40 bits (backends hand out handles below 2^40): the top 8 live in bytes[]. */
const BYTES_BYTES = 3 * CLUSTER_SLOTS;
/** Bytes of typed-array storage per cluster: 512 * (2 + 4 + 4 + 1 + 1 + 1) + 64 = 6720. */
export const CLUSTER_STORAGE_BYTES = COUNTS_BYTES + WORDS_BYTES + BYTES_BYTES;

/** Index of the lowest set bit of a non-zero 32-bit value. */
function lowestBit(x: number): number {
  return 31 - Math.clz32(x & -x);
}

export class SlotCluster {
  /** Index in the table (>= 1); its slots are index * 512 + offset. */
  index = 0;
  /** Owner id (see SlotOwners). */
  owner = -1;
  /** Size order it serves: allocations are naturally aligned runs of 2^order. */
  order = 0;
  /** Allocated slots (swap count > 0 or pinned by the swap cache). */
  used = 0;
  /** Naturally aligned units of 2^order slots with no allocated slot in them. */
  freeUnits = 0;
  /** Unit to start the next search at, so a scan over a filling cluster is amortised O(1). */
  hint = 0;
  list = LIST_NONE;
  /** Neighbours on its list, by cluster index (0 = none): intrusive, no list nodes. */
  prev = 0;
  next = 0;

  /**
   * Swap count per slot [0,512), then bits 32..47 of each slot's handle
   * [512,1024) (the low 32 are in words). One view for both: every typed-array
   * view costs ~100 B of heap per cluster.
   */
  readonly counts: Uint16Array;
  /** handle (low 32 bits) per slot, then checksum per slot, then the allocation bitmap. */
  readonly words: Uint32Array;
  /** tier code | PIN_BIT per slot, then backend id per slot (0 = none). */
  readonly bytes: Uint8Array;
  /**
   * Owner id per slot, for a cluster shared by small owners (owner is
   * SHARED_OWNER); 0 where no slot is allocated. Undefined for a cluster that
   * has never been shared (its owner field says whose every slot is).
   */
  slotOwners: Uint32Array | undefined;

  constructor() {
    const buf = new ArrayBuffer(CLUSTER_STORAGE_BYTES);
    this.counts = new Uint16Array(buf, 0, CLUSTER_SLOTS);
    this.words = new Uint32Array(buf, COUNTS_BYTES, 2 * CLUSTER_SLOTS + BITMAP_WORDS);
    this.bytes = new Uint8Array(buf, COUNTS_BYTES + WORDS_BYTES, 3 * CLUSTER_SLOTS);
    this.slotOwners = undefined;
  }

  /**
   * A copy of the cluster's slots (storage, owner ids, index, owner, order),
   * not on any list: what a journal snapshot writes out while the table
   * goes on changing.
   */
  copy(): SlotCluster {
    const c = new SlotCluster();
    new Uint8Array(c.counts.buffer).set(new Uint8Array(this.counts.buffer));
    c.index = this.index;
    c.owner = this.owner;
    c.order = this.order;
    c.used = this.used;
    c.slotOwners = this.slotOwners?.slice();
    return c;
  }

  /** Takes the cluster (storage all zero: every slot released) into service. */
  reset(index: number, owner: number, order: number): void {
    this.index = index;
    this.owner = owner;
    this.order = order;
    this.used = 0;
    this.freeUnits = CLUSTER_SLOTS >>> order;
    this.hint = 0;
    this.list = LIST_NONE;
    this.prev = 0;
    this.next = 0;
  }

  isAllocated(off: number): boolean {
    return ((this.words[BITMAP_BASE + (off >>> 5)]! >>> (off & 31)) & 1) === 1;
  }

  /** True if no slot of unit u (2^order slots from u << order) is allocated. */
  private unitFree(u: number): boolean {
    const order = this.order;
    const first = u << order;
    if (order <= 5) {
      const mask = order === 5 ? -1 : ((1 << (1 << order)) - 1) << (first & 31);
      return (this.words[BITMAP_BASE + (first >>> 5)]! & mask) === 0;
    }
    const w0 = BITMAP_BASE + (first >>> 5);
    const nWords = 1 << (order - 5);
    for (let w = 0; w < nWords; w++) if (this.words[w0 + w] !== 0) return false;
    return true;
  }

  handle(off: number): number {
    return this.bytes[HANDLE_HIGH_BASE + off]! * 0x1_0000_0000 + this.words[off]!;
  }

  setHandle(off: number, handle: number): void {
    this.words[off] = handle % 0x1_0000_0000;
    this.bytes[HANDLE_HIGH_BASE + off] = Math.floor(handle / 0x1_0000_0000);
  }

  /** Marks slot off allocated (it must be free) and keeps used/freeUnits right. */
  mark(off: number): void {
    if (this.unitFree(off >>> this.order)) this.freeUnits--;
    this.words[BITMAP_BASE + (off >>> 5)]! |= 1 << (off & 31);
    this.used++;
  }

  /** Marks slot off free (it must be allocated); a unit left with no slot becomes free. */
  unmark(off: number): void {
    this.words[BITMAP_BASE + (off >>> 5)]! &= ~(1 << (off & 31));
    this.used--;
    if (this.unitFree(off >>> this.order)) this.freeUnits++;
  }

  /**
   * First offset of a free naturally aligned unit of 2^order slots, marking
   * nothing. Only called with freeUnits > 0, so the search always succeeds; it
   * starts at the hint and wraps, which keeps filling a cluster linear overall.
   */
  findFreeUnit(): number {
    const units = CLUSTER_SLOTS >>> this.order;
    let u = this.hint;
    for (let i = 0; i < units; i++) {
      if (this.unitFree(u)) {
        this.hint = u + 1 === units ? 0 : u + 1;
        return u << this.order;
      }
      u = u + 1 === units ? 0 : u + 1;
    }
    throw new Error(`slot cluster ${this.index}: freeUnits=${this.freeUnits} but no free unit of order ${this.order}`);
  }

  /**
   * Order-0 fast path: marks up to n free slots, appending their ids to out,
   * scanning the bitmap a word (32 slots) at a time. Returns how many it took.
   */
  takeSlots(n: number, out: number[]): number {
    const base = this.index << 9;
    const words = this.words;
    let taken = 0;
    let w = this.hint >>> 5;
    for (let i = 0; i < BITMAP_WORDS && taken < n; i++) {
      let word = words[BITMAP_BASE + w]!;
      while (word !== 0xffffffff && taken < n) {
        const bit = lowestBit(~word);
        word = (word | (1 << bit)) >>> 0;
        out.push(base + (w << 5) + bit);
        taken++;
      }
      words[BITMAP_BASE + w] = word;
      if (taken < n) w = w + 1 === BITMAP_WORDS ? 0 : w + 1;
    }
    this.hint = w << 5;
    this.used += taken;
    this.freeUnits -= taken;
    return taken;
  }
}
