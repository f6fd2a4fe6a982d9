/**
 * zswap's LRU with a second-chance referenced bit, as an intrusive doubly
 * linked list over typed arrays indexed by entry id (no node objects).
 * The head is the oldest entry, the tail the youngest.
 */
import { grown, grownSize } from '../common/typed-arrays';

const NIL = -1;

export class Lru {
  private prev: Int32Array;
  private next: Int32Array;
  private referenced: Uint8Array;
  private linked: Uint8Array;
  private head = NIL;
  private tail = NIL;
  private count = 0;

  constructor(initialCapacity = 1024) {
    this.prev = new Int32Array(initialCapacity);
    this.next = new Int32Array(initialCapacity);
    this.referenced = new Uint8Array(initialCapacity);
    this.linked = new Uint8Array(initialCapacity);
  }

  get size(): number {
    return this.count;
  }

  has(id: number): boolean {
    return this.linked[id] === 1;
  }

  isReferenced(id: number): boolean {
    return this.referenced[id] === 1;
  }

  /** Adds an entry at the young end, unreferenced (a fresh store). */
  pushYoung(id: number): void {
    this.ensure(id + 1);
    this.linked[id] = 1;
    this.referenced[id] = 0;
    this.linkTail(id);
    this.count++;
  }

  remove(id: number): void {
    if (this.linked[id] !== 1) return;
    this.unlink(id);
    this.linked[id] = 0;
    this.referenced[id] = 0;
    this.count--;
  }

  /** An access (a load with touch): the entry earns a second chance. */
  touch(id: number): void {
    if (this.linked[id] === 1) this.referenced[id] = 1;
  }

  /**
   * Writeback candidates, oldest first, into `out`; returns how many. An entry
   * whose referenced bit is set has the bit cleared and moves to the young end
   * instead (it may come round again in the same walk, now unreferenced).
   * Entries stay linked: they leave only through remove().
   */
  coldest(max: number, out: number[]): number {
    let found = 0;
    let cursor = this.head;
    // Every entry is visited at most twice: once referenced, once not.
    let budget = this.count * 2;
    while (cursor !== NIL && found < max && budget-- > 0) {
      const id = cursor;
      cursor = this.next[id]!;
      if (this.referenced[id] === 1) {
        this.referenced[id] = 0;
        if (this.tail === id) {
          cursor = id; // already the youngest: look at it again, unreferenced now
        } else {
          this.unlink(id);
          this.linkTail(id);
        }
        continue;
      }
      out.push(id);
      found++;
    }
    return found;
  }

  /** Ids from oldest to youngest (tests and debugging). */
  order(): number[] {
    const ids: number[] = [];
    for (let id = this.head; id !== NIL; id = this.next[id]!) ids.push(id);
    return ids;
  }

  clear(): void {
    this.linked.fill(0);
    this.referenced.fill(0);
    this.head = NIL;
    this.tail = NIL;
    this.count = 0;
  }

  private linkTail(id: number): void {
    this.prev[id] = this.tail;
    this.next[id] = NIL;
    if (this.tail !== NIL) this.next[this.tail] = id;
    else this.head = id;
    this.tail = id;
  }

  private unlink(id: number): void {
    const p = this.prev[id]!;
    const n = this.next[id]!;
    if (p !== NIL) this.next[p] = n;
    else this.head = n;
    if (n !== NIL) this.prev[n] = p;
    else this.tail = p;
  }

  private ensure(capacity: number): void {
    if (capacity <= this.prev.length) return;
    const size = grownSize(this.prev.length, capacity);
    this.prev = grown(this.prev, size);
    this.next = grown(this.next, size);
    this.referenced = grown(this.referenced, size);
    this.linked = grown(this.linked, size);
  }
}
