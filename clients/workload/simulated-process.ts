/**
 * One simulated process: a page table of `pages` pages, each untouched,
 * resident (in simulated RAM, on the LRU) or swapped (we hold one reference
 * to a slot). Per page it keeps the generation of the contents last written
 * and their checksum, in typed arrays (no object per page). It holds no page
 * contents: they are regenerated from the seed when swapped out.
 */
import type { AccessPattern } from './access-pattern';
import { PageLru } from './page-lru';
import type { Rng } from './prng';

export const PAGE_UNTOUCHED = 0;
export const PAGE_RESIDENT = 1;
export const PAGE_SWAPPED = 2;

export class SimulatedProcess {
  readonly state: Uint8Array;
  /** Slot id of a swapped page (ids fit in 53 bits: a double holds them exactly). */
  readonly slot: Float64Array;
  /** Generation of the contents last written to swap. */
  readonly generation: Uint32Array;
  /** CRC-32 of the contents last written to swap. */
  readonly checksum: Uint32Array;
  readonly lru: PageLru;
  swapped = 0;
  alive = true;

  constructor(
    readonly pid: number,
    /** The first ancestor's pid: page kinds are shared by a family. */
    readonly family: number,
    readonly owner: string,
    readonly pages: number,
    readonly rng: Rng,
    readonly pattern: AccessPattern,
    from?: SimulatedProcess,
  ) {
    if (from) {
      this.state = from.state.slice();
      this.slot = from.slot.slice();
      this.generation = from.generation.slice();
      this.checksum = from.checksum.slice();
      this.lru = from.lru.clone();
      this.swapped = from.swapped;
    } else {
      this.state = new Uint8Array(pages);
      this.slot = new Float64Array(pages);
      this.generation = new Uint32Array(pages);
      this.checksum = new Uint32Array(pages);
      this.lru = new PageLru(pages);
    }
  }

  /** A child sharing every page: resident pages copied, swapped slots shared (the caller duplicated them). */
  fork(pid: number, rng: Rng, pattern: AccessPattern): SimulatedProcess {
    return new SimulatedProcess(pid, this.family, this.owner, this.pages, rng, pattern, this);
  }

  get resident(): number {
    return this.lru.size;
  }

  markResident(page: number): void {
    if (this.state[page] === PAGE_SWAPPED) this.swapped--;
    this.state[page] = PAGE_RESIDENT;
    this.slot[page] = 0;
    this.lru.touch(page);
  }

  markSwapped(page: number, slot: number, generation: number, checksum: number): void {
    if (this.state[page] !== PAGE_SWAPPED) this.swapped++;
    this.state[page] = PAGE_SWAPPED;
    this.slot[page] = slot;
    this.generation[page] = generation;
    this.checksum[page] = checksum;
    this.lru.remove(page);
  }

  /** Forgets a page (its data is gone): the next access starts it afresh. */
  markUntouched(page: number): void {
    if (this.state[page] === PAGE_SWAPPED) this.swapped--;
    this.state[page] = PAGE_UNTOUCHED;
    this.slot[page] = 0;
    this.lru.remove(page);
  }

  /** Pages currently swapped, in page order. */
  swappedPages(): number[] {
    const out: number[] = [];
    for (let p = 0; p < this.pages; p++) if (this.state[p] === PAGE_SWAPPED) out.push(p);
    return out;
  }

  swappedSlots(): number[] {
    return this.swappedPages().map((p) => this.slot[p]!);
  }
}
