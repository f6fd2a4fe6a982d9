/**
 * The swap cache: pages the coordinator holds while their backend write or
 * migration is in flight, served to Load from here so that no request sees a
 * half-moved page. Also the swap-cache pin (SWAP_HAS_CACHE): a pinned slot
 * keeps its backing even when its swap count reaches 0, and is released when
 * the last pin goes.
 */
import type { Released, SlotTable } from './slot-table';

export class SwapCache {
  /** slot -> page held while a write to a backend is in flight. */
  private readonly pages = new Map<number, Buffer>();
  /** slot -> the latest write's token; an older write finishing is stale. */
  private readonly writers = new Map<number, number>();
  /** slot -> number of pins (the table holds one pin bit for all of them). */
  private readonly pins = new Map<number, number>();
  private nextToken = 1;

  constructor(private readonly table: SlotTable) {}

  get size(): number {
    return this.pages.size;
  }

  page(slot: number): Buffer | undefined {
    return this.pages.get(slot);
  }

  hasWriter(slot: number): boolean {
    return this.writers.has(slot);
  }

  pin(slot: number): void {
    const n = this.pins.get(slot) ?? 0;
    if (n === 0) this.table.pin(slot);
    this.pins.set(slot, n + 1);
  }

  /** Drops one pin; returns the backing to release when the slot died meanwhile. */
  unpin(slot: number): Released | undefined {
    const n = this.pins.get(slot) ?? 0;
    if (n > 1) {
      this.pins.set(slot, n - 1);
      return undefined;
    }
    this.pins.delete(slot);
    return this.table.unpin(slot);
  }

  /** Starts a write of `page` to `slot`: pins it and makes it the latest writer. */
  beginWrite(slot: number, page: Buffer): number {
    const token = this.nextToken++;
    this.pin(slot);
    this.writers.set(slot, token);
    this.pages.set(slot, page);
    return token;
  }

  /** True when `token` is still the latest write of `slot`. */
  isLatest(slot: number, token: number): boolean {
    return this.writers.get(slot) === token;
  }

  /** Ends a write; the page leaves the cache if no newer write replaced it. */
  endWrite(slot: number, token: number): Released | undefined {
    if (this.writers.get(slot) === token) {
      this.writers.delete(slot);
      this.pages.delete(slot);
    }
    return this.unpin(slot);
  }
}
