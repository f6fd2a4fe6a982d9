/**
 * zswap entries (the kernel's struct zswap_entry) as a struct of typed arrays
 * indexed by entry id: compressed length, where the object lives, when it was
 * stored. Handles given to the coordinator encode (generation, id), so a
 * handle that was deleted never names the entry that later reuses its id.
 *
 * handle = generation * 2^ID_BITS + id, generation >= 1, so a handle is never
 * 0 (the "not stored" value) and stays below 2^40 (what the coordinator keeps).
 */
import { randomInt } from 'node:crypto';
import { grown, grownSize } from '../common/typed-arrays';

export const ID_BITS = 28;
const ID_SPACE = 2 ** ID_BITS;
// Handles stay below 2^40: the coordinator keeps 40 bits of handle per slot.
const GEN_LIMIT = 2 ** (40 - ID_BITS); // exclusive

export class EntryTable {
  /** Object length in bytes; 0 = entry id free. PAGE_SIZE = stored uncompressed. */
  private len: Uint16Array;
  private gen: Uint32Array;
  /** Store-specific location (memory: pool object id). */
  private loc: Float64Array;
  /** Store sequence number at creation (reconcile spares entries newer than its start). */
  private born: Float64Array;
  /** The opaque tag given with the Put (the coordinator's slot id), 0 when none; returned by Coldest. */
  private tag: Float64Array;
  private freeIds: Int32Array;
  private freeTop = 0;
  private highWater = 0;
  private count = 0;
  private seq = 0;
  /**
   * Generation given to ids first used by this process: random, so that a
   * restarted volatile store does not hand out the handles of its previous life.
   */
  private readonly genBase: number;

  constructor(initialCapacity = 1024) {
    this.len = new Uint16Array(initialCapacity);
    this.gen = new Uint32Array(initialCapacity);
    this.loc = new Float64Array(initialCapacity);
    this.born = new Float64Array(initialCapacity);
    this.tag = new Float64Array(initialCapacity);
    this.freeIds = new Int32Array(initialCapacity);
    this.genBase = randomInt(1, GEN_LIMIT);
  }

  get size(): number {
    return this.count;
  }
  /** Entry ids in use are below this. */
  get idLimit(): number {
    return this.highWater;
  }
  /** The sequence number the next stored entry gets. */
  get nextSeq(): number {
    return this.seq;
  }

  /** The entry id a handle names, or -1 when no live entry has that handle. */
  lookup(handle: number): number {
    if (!Number.isSafeInteger(handle) || handle <= 0) return -1;
    const id = handle % ID_SPACE;
    const g = (handle - id) / ID_SPACE;
    if (id >= this.highWater || this.len[id] === 0 || this.gen[id] !== g) return -1;
    return id;
  }

  handleOf(id: number): number {
    return this.gen[id]! * ID_SPACE + id;
  }
  lengthOf(id: number): number {
    return this.len[id]!;
  }
  locationOf(id: number): number {
    return this.loc[id]!;
  }
  bornAt(id: number): number {
    return this.born[id]!;
  }
  tagOf(id: number): number {
    return this.tag[id]!;
  }
  isLive(id: number): boolean {
    return this.len[id]! !== 0;
  }

  /** Takes a free entry id; its handle is handleOf(id) afterwards. */
  add(len: number, loc: number, tag = 0): number {
    let id: number;
    if (this.freeTop > 0) {
      id = this.freeIds[--this.freeTop]!;
    } else {
      if (this.highWater >= ID_SPACE) throw new Error(`more than ${ID_SPACE} entries`);
      id = this.highWater++;
      this.ensure(this.highWater);
      this.gen[id] = this.genBase;
    }
    this.len[id] = len;
    this.loc[id] = loc;
    this.tag[id] = tag;
    this.born[id] = this.seq++;
    this.count++;
    return id;
  }

  setLocation(id: number, loc: number): void {
    this.loc[id] = loc;
  }

  /** Re-creates an entry under a handle from a persistent store (start-up). */
  restore(handle: number, len: number, loc: number, tag = 0): number {
    const id = handle % ID_SPACE;
    const g = (handle - id) / ID_SPACE;
    if (!Number.isSafeInteger(handle) || g < 1 || g >= GEN_LIMIT)
      throw new Error(`handle ${handle} was not made by zswap`);
    this.ensure(id + 1);
    if (this.len[id] !== 0) throw new Error(`handle ${handle} is stored twice`);
    this.highWater = Math.max(this.highWater, id + 1);
    this.len[id] = len;
    this.gen[id] = g;
    this.loc[id] = loc;
    this.tag[id] = tag;
    this.born[id] = this.seq++;
    this.count++;
    return id;
  }

  /** After restore(): every id below the high water mark not in use is free. */
  rebuildFreeList(): void {
    this.freeTop = 0;
    this.ensureFree(this.highWater);
    for (let id = this.highWater - 1; id >= 0; id--) {
      if (this.len[id] === 0) {
        if (this.gen[id] === 0) this.gen[id] = this.genBase;
        this.freeIds[this.freeTop++] = id;
      }
    }
  }

  /** Releases an entry: its handle becomes unknown for good. */
  remove(id: number): void {
    this.len[id] = 0;
    this.loc[id] = 0;
    this.tag[id] = 0;
    const g = this.gen[id]! + 1;
    this.gen[id] = g >= GEN_LIMIT ? 1 : g;
    this.ensureFree(this.freeTop + 1);
    this.freeIds[this.freeTop++] = id;
    this.count--;
  }

  clear(): void {
    // Generations keep counting so that no old handle comes back to life.
    for (let id = 0; id < this.highWater; id++) {
      if (this.len[id] !== 0) this.remove(id);
    }
  }

  private ensure(capacity: number): void {
    if (capacity <= this.len.length) return;
    const size = grownSize(this.len.length, capacity);
    this.len = grown(this.len, size);
    this.gen = grown(this.gen, size);
    this.loc = grown(this.loc, size);
    this.born = grown(this.born, size);
    this.tag = grown(this.tag, size);
  }

  private ensureFree(capacity: number): void {
    if (capacity <= this.freeIds.length) return;
    this.freeIds = grown(this.freeIds, grownSize(this.freeIds.length, capacity));
  }
}
