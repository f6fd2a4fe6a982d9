import { ORDERS } from './slot-cluster';

/** Tier codes 0..5 (0 unused), so per-tier counters index by TierCode directly. */
export const TIER_SLOTS = 6;

/**
 * Per-owner allocator state: like the kernel's per-CPU clusters, each owner
 * has its own current cluster and nonfull list per size order, so owners never
 * share a cluster and allocation never walks another owner's clusters.
 */
export class SlotOwner {
  // The three arrays share one ArrayBuffer: with 1,000 owners every
  // ArrayBuffer and its backing store count against the per-slot budget.
  private readonly buf = new ArrayBuffer((2 * ORDERS + TIER_SLOTS) * 4);
  /** Current cluster index per order (0 = none). */
  readonly current = new Int32Array(this.buf, 0, ORDERS);
  /** Head of the nonfull list per order, by cluster index (0 = empty). */
  readonly nonfull = new Int32Array(this.buf, ORDERS * 4, ORDERS);
  /** Live slots (swap count > 0) per tier code. */
  readonly tiers = new Uint32Array(this.buf, 2 * ORDERS * 4, TIER_SLOTS);
  /** Live slots (swap count > 0). */
  live = 0;
  /** Clusters it holds; the owner is forgotten when this drops to 0. */
  clusters = 0;

  constructor(
    readonly id: number,
    readonly name: string,
  ) {}
}

/**
 * Owner names (validated by the coordinator) mapped to small integer ids that
 * clusters store. Ids are recycled once an owner holds no cluster, so the id
 * space stays as small as the set of owners holding slots.
 */
export class SlotOwners {
  private readonly byName = new Map<string, SlotOwner>();
  private readonly byId: (SlotOwner | undefined)[] = [];
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
    this.byName.delete(o.name);
    this.byId[o.id] = undefined;
    this.freeIds.push(o.id);
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
    for (const o of this.byName.values()) bytes += OWNER_OVERHEAD_BYTES + 2 * o.name.length;
    return bytes;
  }
}

/**
 * Per-owner cost beyond its name: the SlotOwner object, three typed-array
 * views over one ArrayBuffer (and its backing store) and a Map entry.
 * Estimated from V8's object sizes; the benchmark cross-checks it.
 */
export const OWNER_OVERHEAD_BYTES = 560;
