/**
 * The compressed pool's memory, after zsmalloc: objects are kept in size
 * classes (every CLASS_STEP bytes up to a page), each class owning slabs: large
 * Buffers carved into equal objects. A page never gets a Buffer of its own;
 * a stored object is (slab, index) and costs a few typed-array slots.
 *
 * Accounting is honest: `heldBytes` is the memory of the slabs actually held
 * (zswap's pool_total_size), `objectBytes` the bytes of the objects in them;
 * their ratio is the fragmentation. A slab that empties is released unless it
 * is the last room its class has (one spare per class at most, so a class that
 * sees a store right after a delete does not allocate again).
 */
import { PAGE_SIZE } from '../common/limits';
import { grown } from '../common/typed-arrays';

/** Size classes every 64 bytes: 64, 128, ..., 4096 (64 classes). */
export const CLASS_STEP = 64;
export const CLASS_COUNT = PAGE_SIZE / CLASS_STEP;
/**
 * Bytes per slab, rounded down to a whole number of objects of the class:
 * 16 KiB, the size of zsmalloc's largest zspage (4 pages). Each class in use
 * holds at least one partly filled slab, so slabs this small keep a small or
 * fragmented pool from being mostly empty slab memory.
 */
export const SLAB_TARGET_BYTES = 16 * 1024;
/** Object index bits in an object id: a slab holds at most 256 objects. */
const OBJ_PER_SLAB_MAX = SLAB_TARGET_BYTES / CLASS_STEP;

export interface PoolOptions {
  /** Slab allocator; default Buffer.allocUnsafeSlow. Tests inject failures. */
  allocSlab?: (bytes: number) => Buffer;
}

/** An object id: slab * 256 + index. Fits a double exactly. */
export type ObjectId = number;

export class ZsPool {
  private readonly allocSlab: (bytes: number) => Buffer;
  // Per slab (slab id = index; ids are reused after release).
  private slabs: (Buffer | undefined)[] = [];
  private slabClass = new Uint8Array(64);
  private slabFree = new Uint16Array(64); // free objects in the slab
  /** Per slab: a stack of its free object indexes (lazily sized per class). */
  private freeStacks: (Uint16Array | undefined)[] = [];
  private releasedSlabIds: number[] = [];
  // Per class: slabs that have at least one free object.
  private readonly partial: Set<number>[] = [];
  private readonly classSlabCount = new Uint32Array(CLASS_COUNT);
  private held = 0;
  private objects = 0;
  private objectCount = 0;

  constructor(options: PoolOptions = {}) {
    this.allocSlab = options.allocSlab ?? ((n) => Buffer.allocUnsafeSlow(n));
    for (let c = 0; c < CLASS_COUNT; c++) this.partial.push(new Set());
  }

  /** Size class of an object of `len` bytes (1..PAGE_SIZE). */
  static classOf(len: number): number {
    return Math.ceil(len / CLASS_STEP) - 1;
  }
  static classSize(cls: number): number {
    return (cls + 1) * CLASS_STEP;
  }
  static objectsPerSlab(cls: number): number {
    return Math.floor(SLAB_TARGET_BYTES / ZsPool.classSize(cls));
  }
  static slabBytes(cls: number): number {
    return ZsPool.objectsPerSlab(cls) * ZsPool.classSize(cls);
  }

  /** Bytes of slabs held (pool_total_size). */
  get heldBytes(): number {
    return this.held;
  }
  /** Bytes of the objects stored (their compressed lengths). */
  get objectBytes(): number {
    return this.objects;
  }
  get objectCountTotal(): number {
    return this.objectCount;
  }
  /** Slabs held by a class (for tests and stats). */
  slabCount(cls: number): number {
    return this.classSlabCount[cls] ?? 0;
  }
  /** held / object bytes; 0 while nothing is stored. */
  get fragmentation(): number {
    return this.objects === 0 ? 0 : this.held / this.objects;
  }

  /** How much heldBytes grows if an object of `len` bytes is stored now. */
  growthFor(len: number): number {
    const cls = ZsPool.classOf(len);
    return (this.partial[cls]?.size ?? 0) > 0 ? 0 : ZsPool.slabBytes(cls);
  }

  /**
   * Stores a copy of `data` (1..PAGE_SIZE bytes); returns its object id.
   * Throws when a new slab cannot be allocated (reject_alloc_fail).
   */
  store(data: Uint8Array): ObjectId {
    const len = data.length;
    if (len < 1 || len > PAGE_SIZE) throw new RangeError(`object of ${len} bytes: 1 to ${PAGE_SIZE}`);
    const cls = ZsPool.classOf(len);
    const partial = this.partial[cls]!;
    let slab: number;
    if (partial.size > 0) {
      slab = partial.values().next().value as number;
    } else {
      slab = this.newSlab(cls);
    }
    const stack = this.freeStacks[slab]!;
    const free = this.slabFree[slab]! - 1;
    this.slabFree[slab] = free;
    const index = stack[free]!;
    if (free === 0) partial.delete(slab);
    const size = ZsPool.classSize(cls);
    this.slabs[slab]!.set(data, index * size);
    this.objects += len;
    this.objectCount++;
    return slab * OBJ_PER_SLAB_MAX + index;
  }

  /** A view of a stored object (valid until it is freed). */
  view(id: ObjectId, len: number): Buffer {
    const slab = Math.floor(id / OBJ_PER_SLAB_MAX);
    const index = id - slab * OBJ_PER_SLAB_MAX;
    const buf = this.slabs[slab];
    if (!buf) throw new Error(`object ${id} is in released slab ${slab}`);
    const off = index * ZsPool.classSize(this.slabClass[slab]!);
    return buf.subarray(off, off + len);
  }

  /** Frees an object stored with `len` bytes. */
  free(id: ObjectId, len: number): void {
    const slab = Math.floor(id / OBJ_PER_SLAB_MAX);
    const index = id - slab * OBJ_PER_SLAB_MAX;
    const cls = this.slabClass[slab]!;
    const per = ZsPool.objectsPerSlab(cls);
    const stack = this.freeStacks[slab]!;
    const free = this.slabFree[slab]!;
    stack[free] = index;
    this.slabFree[slab] = free + 1;
    this.objects -= len;
    this.objectCount--;
    const partial = this.partial[cls]!;
    if (free + 1 < per) {
      partial.add(slab);
      return;
    }
    // The slab is empty: keep it only if it is the class's last free room.
    partial.delete(slab);
    if (partial.size > 0) this.releaseSlab(slab, cls);
    else partial.add(slab);
  }

  private newSlab(cls: number): number {
    const bytes = ZsPool.slabBytes(cls);
    const buf = this.allocSlab(bytes); // may throw: the caller counts reject_alloc_fail
    const per = ZsPool.objectsPerSlab(cls);
    const id = this.releasedSlabIds.pop() ?? this.slabs.length;
    if (id >= this.slabClass.length) {
      this.slabClass = grown(this.slabClass, this.slabClass.length * 2);
      this.slabFree = grown(this.slabFree, this.slabFree.length * 2);
    }
    this.slabs[id] = buf;
    this.slabClass[id] = cls;
    // Free stack in reverse, so that objects are handed out from offset 0 up.
    let stack = this.freeStacks[id];
    if (!stack || stack.length < per) stack = new Uint16Array(per);
    for (let i = 0; i < per; i++) stack[i] = per - 1 - i;
    this.freeStacks[id] = stack;
    this.slabFree[id] = per;
    this.partial[cls]!.add(id);
    this.classSlabCount[cls]! += 1;
    this.held += bytes;
    return id;
  }

  private releaseSlab(slab: number, cls: number): void {
    this.slabs[slab] = undefined;
    this.freeStacks[slab] = undefined;
    this.slabFree[slab] = 0;
    this.releasedSlabIds.push(slab);
    this.classSlabCount[cls]! -= 1;
    this.held -= ZsPool.slabBytes(cls);
  }

  /** Drops every slab (the store was reset). */
  clear(): void {
    this.slabs = [];
    this.freeStacks = [];
    this.releasedSlabIds = [];
    this.slabClass.fill(0);
    this.slabFree.fill(0);
    for (const p of this.partial) p.clear();
    this.classSlabCount.fill(0);
    this.held = 0;
    this.objects = 0;
    this.objectCount = 0;
  }
}
