/**
 * Where zswap's compressed objects live. The zswap core keeps every entry's
 * metadata (length, LRU position) itself; a store only holds bytes, found by
 * handle (and, for the memory store, by the location it returned).
 *
 * Calls come one batch at a time (the core serialises them), so a store can
 * stage a batch with add() and make it durable with one commit().
 */
import type { ZswapStoreKind } from './config';

export interface RecoveredEntry {
  handle: number;
  length: number;
  /** The opaque tag stored with the entry (0 when none). */
  tag: number;
}

/** 'lost': the write landed, but the store had lost data before it (check the epoch). */
export type CommitResult = 'ok' | 'lost';

export interface EpochCheck {
  epoch: string;
  /** True when the store lost its data since the previous check. */
  changed: boolean;
}

export interface ObjectStore {
  readonly kind: ZswapStoreKind;
  /** True when the store loses its data with its process. */
  readonly volatile: boolean;
  /** Objects read that did not open under their handle (an encrypting store; each answered DATA_LOSS). */
  readonly unsealFailures?: number;
  /** pool_total_size: slab memory (memory) or bytes of the stored values (redis). */
  heldBytes(): number;
  /** Bytes of the stored objects (compressed lengths). */
  objectBytes(): number;
  /** How much heldBytes() grows if an object of `length` bytes is added now. */
  growthFor(length: number): number;
  /**
   * Stores (memory) or stages (redis) a copy of `data` for `handle`, with its
   * tag (a persistent store keeps it for recover()); returns its location.
   * Throws when memory cannot be allocated (reject_alloc_fail).
   */
  add(handle: number, data: Uint8Array, tag: number): number;
  /** Makes every add() since the last commit durable; on failure undoes them and throws. */
  commit(): Promise<CommitResult> | CommitResult;
  /** The objects, or null where the store no longer has one. Views are valid until the next call. */
  read(
    handles: readonly number[],
    locations: readonly number[],
    lengths: readonly number[],
  ): Promise<(Uint8Array | null)[]> | (Uint8Array | null)[];
  /** Drops objects; on failure nothing is dropped and it throws. */
  remove(handles: readonly number[], locations: readonly number[], lengths: readonly number[]): Promise<void> | void;
  /** The store's epoch, and whether it changed (data lost) since the last call. */
  checkEpoch(): Promise<EpochCheck> | EpochCheck;
  /** Entries a persistent store still holds (at start, or after checkEpoch said changed). */
  recover(): Promise<RecoveredEntry[]> | RecoveredEntry[];
  /** Called after the store reconnected (redis): the core re-checks the epoch. */
  onReconnect(listener: () => void): void;
  close(): Promise<void>;
}
