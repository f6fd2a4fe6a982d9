import { CLUSTER_SLOTS } from '../common/limits';
import { BACKEND_BASE, CHECKSUM_BASE, CLUSTER_SHIFT, SHARED_ORDER, type SlotCluster, TIER_MASK } from './slot-cluster';
import { SHARED_OWNER } from './slot-owners';

/**
 * Told one allocated slot of an image: `owner` is the table's owner id (its
 * name is SlotTableImage.ownerNames[owner]), `order` is as
 * SlotTable.orderOf() says it.
 */
export type ImageSlotVisitor = (
  slot: number,
  owner: number,
  order: number,
  count: number,
  tier: number,
  backend: number,
  handle: number,
  checksum: number,
) => void;

/**
 * The slot table at one moment (SlotTable.capture()): copies of the clusters
 * holding allocated slots and of the owner names, so that a journal snapshot
 * can write the table out piece by piece, over many event-loop turns, while
 * the table itself goes on changing. Copying a cluster is one 6.7 KB memcpy;
 * reading the slots back out is the slow part, and that happens later.
 */
export class SlotTableImage {
  constructor(
    /** Copies (SlotCluster.copy()) of the clusters with any allocated slot, in index order. */
    private readonly clusters: readonly SlotCluster[],
    /** Owner names by the table's owner id, as they were at the copy (undefined: no owner had the id). */
    readonly ownerNames: readonly (string | undefined)[],
  ) {}

  get clusterCount(): number {
    return this.clusters.length;
  }

  /** Calls `fn` for each allocated slot (count > 0 or pinned) of the k-th copied cluster, in id order. */
  forEachSlotIn(k: number, fn: ImageSlotVisitor): void {
    const c = this.clusters[k];
    if (c === undefined) return;
    const { counts, words, bytes } = c;
    const shared = c.owner === SHARED_OWNER;
    const order = shared ? SHARED_ORDER : c.order;
    const base = c.index << CLUSTER_SHIFT;
    for (let off = 0; off < CLUSTER_SLOTS; off++) {
      const tier = bytes[off]! & TIER_MASK;
      if (tier === 0) continue;
      fn(
        base + off,
        shared ? c.slotOwners![off]! : c.owner,
        order,
        counts[off]!,
        tier,
        bytes[BACKEND_BASE + off]!,
        c.handle(off),
        words[CHECKSUM_BASE + off]!,
      );
    }
  }
}
