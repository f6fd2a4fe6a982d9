import { ORDERS } from './slot-cluster';

/** Tier codes 0..5 (0 unused), so per-tier counters index by TierCode directly. */
export const TIER_SLOTS = 6;

/** Read-only stand-in for the lists of an owner that never held a cluster of its own. */
const NO_LISTS = new Int32Array(2 * ORDERS);

/**
 * Per-owner allocator state: like the kernel's per-CPU clusters, each owner
 * has its own current cluster and nonfull list per size order, so owners never
 * share a cluster and allocation never walks another owner's clusters. The
 * exception is small owners: their first SHARE_LIMIT order-0 slots come from
 * clusters shared by all small owners (the SHARED_OWNER's), so an owner of one
 * slot costs this record, not a 512-slot cluster.
 */
export class SlotOwner {
  /**
   * Current cluster index per order [0, ORDERS), then head of the nonfull
   * list per order [ORDERS, 2 * ORDERS), by cluster index (0 = none). The
   * shared NO_LISTS (all 0, never written) until the owner takes a cluster.
   */
  lists: Int32Array = NO_LISTS;
  /** Live slots (swap count > 0) per tier code; a plain array (an owner of one slot must stay small). */
  readonly tiers: number[] = [0, 0, 0, 0, 0, 0];
  /** Live slots (swap count > 0). */
  live = 0;
  /** Clusters it holds. */
  clusters = 0;
  /** Allocated slots (live or pinned) it holds in shared clusters. The owner is forgotten when both are 0. */
  shared = 0;

  constructor(
    readonly id: number,
    readonly name: string,
  ) {}

  /** Gives the owner lists of its own (before it takes its first cluster). */
  ensureLists(): void {
    if (this.lists === NO_LISTS) this.lists = new Int32Array(2 * ORDERS);
  }
}

/** The owner id of the clusters small owners share; no named owner has it. */
export const SHARED_OWNER = 0;
/** An owner's order-0 slots come from shared clusters while it holds no cluster and at most this many slots. */
export const SHARE_LIMIT = 16;

/**
 * Owner names (validated by the coordinator) mapped to small integer ids that
 * clusters store. Ids are recycled once an owner holds no cluster, so the id
 * space stays as small as the set of owners holding slots.
 */
export class SlotOwners {
  /** `onRemove`: told each owner name forgotten (it holds no allocated slot any more). */
  constructor(private readonly onRemove: (name: string) => void = () => {}) {}

  private readonly byName = new Map<string, SlotOwner>();
  /** Id SHARED_OWNER is the holder of the shared clusters (not in byName: no owner has its name). */
  readonly shared = new SlotOwner(SHARED_OWNER, '');
  private readonly byId: (SlotOwner | undefined)[] = [this.shared];
  private readonly freeIds: number[] = [];

  get(name: string): SlotOwner | undefined {
    return this.byName.get(name);
  }

  getOrCreate(name: string): SlotOwner {
    let o = this.byName.get(name);
    if (o === undefined) {
      const id = this.freeIds.length > 0 ? this.freeIds.pop()! : this.byId.length;
      o = new SlotOwner(id, name);
      this.byName.set(name, o);
      this.byId[id] = o;
    }
    return o;
  }

  /** The owner with this id; ids stored in a live cluster always resolve. */
  byIndex(id: number): SlotOwner {
    const o = this.byId[id];
    if (o === undefined) throw new Error(`slot table: no owner with id ${id}`);
    return o;
  }

  remove(o: SlotOwner): void {
    if (o.id === SHARED_OWNER) return;
    this.byName.delete(o.name);
    this.byId[o.id] = undefined;
    this.freeIds.push(o.id);
    this.onRemove(o.name);
  }

  /** Each owner's name at its id (undefined where no owner has the id; '' for SHARED_OWNER): a copy. */
  namesById(): (string | undefined)[] {
    return this.byId.map((o) => o?.name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  all(): IterableIterator<SlotOwner> {
    return this.byName.values();
  }

  get size(): number {
    return this.byName.size;
  }

  /** Honest estimate of what the owner records hold, in bytes. */
  memoryBytes(): number {
    let bytes = (this.byId.length + this.freeIds.length) * 8;
    for (const o of this.byName.values()) {
      bytes += OWNER_OVERHEAD_BYTES + o.name.length;
      if (o.clusters > 0) bytes += OWNER_LISTS_BYTES;
    }
    return bytes;
  }
}

/**
 * Per-owner cost beyond its name: the SlotOwner object, its tier counters
 * and a Map entry. Estimated from V8's object sizes; the benchmark
 * cross-checks it.
 */
export const OWNER_OVERHEAD_BYTES = 240;
/** An owner's own lists (a typed array and its backing store), once it holds a cluster. */
export const OWNER_LISTS_BYTES = 300;
