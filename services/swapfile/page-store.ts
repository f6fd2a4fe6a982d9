/**
 * Where a swapfile service keeps its pages and its allocation map. The
 * allocator decides which slot a page goes to; a store writes the bytes there
 * and records which slots are in use, so that both survive a restart.
 */

/** A store's answer when it finds that it lost its data (a volatile Redis restarted). */
export type StoreResult<T> = { ok: true; value: T } | { ok: false; error: 'data-lost' };

export interface PageStore {
  readonly kind: 'file' | 'redis';
  /** Changes whenever the store may have lost data. */
  readonly epoch: string;
  /** True when a crash of the store loses what it holds. */
  readonly volatile: boolean;
  /** Used slots found at open (bit i = slot i, most significant bit first). */
  readonly restoredMap: Uint8Array;
  /** fdatasync rounds so far (0 for stores without). */
  readonly fsyncs: number;

  /**
   * Writes pages[i] to slot slots[i] for i < n where slots[i] >= 0, and marks
   * those slots used. Resolves once the configured durability is reached.
   */
  write(slots: Int32Array, pages: readonly Buffer[], n: number): Promise<StoreResult<void>>;
  /** Reads the pages of slots[0..n), in order. null for a page the store does not have. */
  read(slots: Int32Array, n: number): Promise<StoreResult<(Buffer | null)[]>>;
  /** Marks slots[0..n) free (and discards their bytes where the store can). */
  release(slots: Int32Array, n: number): Promise<StoreResult<void>>;
  /** Verifies the store still holds its data (Redis: the epoch key). */
  check(): Promise<StoreResult<void>>;
  /** Durability point: everything written so far is synced. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
