/**
 * Where a swapfile service keeps its pages and its allocation map. The
 * allocator decides which slot a page goes to; a store writes the bytes there
 * and records which slots are in use, so that both survive a restart.
 */

/** A store's answer when it finds that it lost its data (a volatile Redis restarted). */
export type StoreResult<T> = { ok: true; value: T } | { ok: false; error: 'data-lost' };

/** Where a store reads what to persist for a slot: the allocator's slot word (WORD_USED | generation). */
export interface SlotWords {
  slotWord(slot: number): number;
  /** The handle of the page in a used slot (an encrypting store binds each page to it). */
  handleOf(slot: number): number;
}

/** Slot words as persisted: 2 bytes per slot, big-endian (Redis BITFIELD u16 #slot numbering). */
export function decodeWords(bytes: Uint8Array): Uint16Array {
  const n = bytes.length >> 1;
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) out[i] = (bytes[2 * i]! << 8) | bytes[2 * i + 1]!;
  return out;
}

export function encodeWords(words: Uint16Array, from = 0, to = words.length): Buffer {
  const out = Buffer.allocUnsafe((to - from) * 2);
  for (let i = from; i < to; i++) out.writeUInt16BE(words[i]!, (i - from) * 2);
  return out;
}

export interface PageStore {
  readonly kind: 'file' | 'redis';
  /** Changes whenever the store may have lost data. */
  readonly epoch: string;
  /** True when a crash of the store loses what it holds. */
  readonly volatile: boolean;
  /** Slot words found at open (see SlotWords): which slots are used, and their generations. */
  readonly restoredWords: Uint16Array;
  /** fdatasync rounds so far (0 for stores without). */
  readonly fsyncs: number;
  /** Values read that did not open under their handle (an encrypting store; each answered DATA_LOSS). */
  readonly unsealFailures?: number;

  /**
   * Writes pages[i] to slot slots[i] for i < n where slots[i] >= 0, and
   * persists those slots' words. Resolves once the configured durability is reached.
   */
  write(slots: Int32Array, pages: readonly Buffer[], n: number, words: SlotWords): Promise<StoreResult<void>>;
  /**
   * Reads the pages of slots[0..n), in order. null for a page the store does
   * not have. Throws DATA_LOSS for a page it holds but cannot vouch for (an
   * encrypting store: a value that does not open under its handle).
   */
  read(slots: Int32Array, n: number, words: SlotWords): Promise<StoreResult<(Buffer | null)[]>>;
  /** Persists the (free) words of slots[0..n) and discards their bytes where the store can. */
  release(slots: Int32Array, n: number, words: SlotWords): Promise<StoreResult<void>>;
  /** Verifies the store still holds its data (Redis: the epoch key). */
  check(): Promise<StoreResult<void>>;
  /** Durability point: everything written so far is synced. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
