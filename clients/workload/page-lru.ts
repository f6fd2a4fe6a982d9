/**
 * The resident pages of one simulated process, least recently used first:
 * an intrusive doubly linked list over typed arrays indexed by page number
 * (no object per page). touch/insert/remove/popLeastRecent are O(1).
 */
const NONE = -1;

export class PageLru {
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private readonly member: Uint8Array;
  /** Least recently used. */
  private head = NONE;
  /** Most recently used. */
  private tail = NONE;
  private count = 0;

  constructor(readonly capacityPages: number) {
    this.prev = new Int32Array(capacityPages).fill(NONE);
    this.next = new Int32Array(capacityPages).fill(NONE);
    this.member = new Uint8Array(capacityPages);
  }

  get size(): number {
    return this.count;
  }

  has(page: number): boolean {
    return this.member[page] === 1;
  }

  /** Adds a page as the most recently used (or moves it there). */
  touch(page: number): void {
    if (this.member[page] === 1) {
      if (this.tail === page) return;
      this.unlink(page);
    }
    this.linkTail(page);
  }

  /** Adds a page as the least recently used (a page whose eviction failed goes back first in line). */
  insertLeastRecent(page: number): void {
    if (this.member[page] === 1) this.unlink(page);
    this.member[page] = 1;
    this.count++;
    this.prev[page] = NONE;
    this.next[page] = this.head;
    if (this.head !== NONE) this.prev[this.head] = page;
    else this.tail = page;
    this.head = page;
  }

  remove(page: number): boolean {
    if (this.member[page] !== 1) return false;
    this.unlink(page);
    return true;
  }

  /** Removes and returns the least recently used page, or -1 when empty. */
  popLeastRecent(): number {
    const p = this.head;
    if (p !== NONE) this.unlink(p);
    return p;
  }

  /** Pages from least to most recently used (tests, forks). */
  *pages(): IterableIterator<number> {
    for (let p = this.head; p !== NONE; p = this.next[p]!) yield p;
  }

  /** A copy with the same order (a forked child's resident set). */
  clone(): PageLru {
    const c = new PageLru(this.capacityPages);
    for (const p of this.pages()) c.touch(p);
    return c;
  }

  private linkTail(page: number): void {
    this.member[page] = 1;
    this.count++;
    this.prev[page] = this.tail;
    this.next[page] = NONE;
    if (this.tail !== NONE) this.next[this.tail] = page;
    else this.head = page;
    this.tail = page;
  }

  private unlink(page: number): void {
    const p = this.prev[page]!;
    const n = this.next[page]!;
    if (p !== NONE) this.next[p] = n;
    else this.head = n;
    if (n !== NONE) this.prev[n] = p;
    else this.tail = p;
    this.prev[page] = NONE;
    this.next[page] = NONE;
    this.member[page] = 0;
    this.count--;
  }
}
