/**
 * zswap as a store of its own (mm/zswap.c without the swap cache): compresses
 * each page into the pool, rejects or stores-as-is pages that do not compress,
 * enforces the pool limit with the accept-threshold hysteresis, keeps an LRU
 * with a second-chance bit for writeback, and counts with the kernel's names.
 *
 * It never learns which virtual slot a handle belongs to. Every operation runs
 * alone (a FIFO lock): a batch either happens or, on a bad request or a failed
 * store, changes nothing.
 */
import {
  dataLoss,
  failedPrecondition,
  invalidArgument,
  notFound,
  resourceExhausted,
  unavailable,
} from '../common/errors';
import type { Logger } from '../common/logger';
import type { ReconcileSession } from '../common/reconcile-server';
import { MAX_BATCH, PAGE_SIZE } from '../common/limits';
import { checkBatchSize, checkDistinct, checkPages } from '../common/validate';
import type { Compressor } from './compressor';
import { EntryTable } from './entries';
import { Lru } from './lru';
import type { ObjectStore } from './object-store';
import type { BackendInfoBase } from '../common/backend-info';
import type { DeleteReason__Output } from '../../proto/generated/vswap/v1/DeleteReason';
import type { PutOutcome__Output } from '../../proto/generated/vswap/v1/PutOutcome';

export interface ZswapOptions {
  compressor: Compressor;
  store: ObjectStore;
  /** Pool limit in bytes (zswap's max_pool_percent, as bytes). */
  poolLimitBytes: number;
  /** 1..100: after hitting the limit, refuse stores until below this share of it. */
  acceptThresholdPercent: number;
  /** A page whose object is not smaller than this is "poor" (<= PAGE_SIZE). */
  maxCompressedBytes: number;
  /** Store poor pages uncompressed instead of rejecting them. */
  storeIncompressible: boolean;
  log: Logger;
}

/** The outcomes zswap gives (the generated proto enum's, less the swapfile's PUT_NO_SPACE). */
export type PutOutcomeName = Exclude<PutOutcome__Output, 'PUT_OUTCOME_UNSPECIFIED' | 'PUT_NO_SPACE'>;

export interface PutResult {
  handles: number[];
  outcomes: PutOutcomeName[];
  storedSizes: number[];
  /** The epoch the handles belong to. */
  epoch: string;
}

export interface DeleteResult {
  deleted: number;
  missing: number[];
}

export interface ColdEntry {
  handle: number;
  page: Buffer;
  /** The tag given with the Put, 0 when none. */
  tag: number;
}

export type DeleteReasonName = DeleteReason__Output;

/** The kernel's zswap counters (debugfs and vmstat names). */
export interface ZswapCounters {
  pool_limit_hit: number;
  reject_compress_poor: number;
  reject_compress_fail: number;
  reject_alloc_fail: number;
  decompress_fail: number;
  written_back_pages: number;
  /** Gauge, like the kernel's: incompressible pages stored right now. */
  stored_incompressible_pages: number;
  /** Events: pages stored / pages read. */
  zswpout: number;
  zswpin: number;
  /** Not the kernel's: times the store was found to have lost data (Redis restarted or rolled back). */
  epoch_changes: number;
}

export interface ZswapInfo extends BackendInfoBase {
  kind: 'zswap';
  store: string;
}

export class Zswap {
  private readonly entries = new EntryTable();
  private readonly lru = new Lru();
  private readonly counters: ZswapCounters = {
    pool_limit_hit: 0,
    reject_compress_poor: 0,
    reject_compress_fail: 0,
    reject_alloc_fail: 0,
    decompress_fail: 0,
    written_back_pages: 0,
    stored_incompressible_pages: 0,
    zswpout: 0,
    zswpin: 0,
    epoch_changes: 0,
  };
  /** zswap_pool_reached_full: refusing stores until below the accept threshold. */
  private full = false;
  private epoch = '';
  private lock: Promise<unknown> = Promise.resolve();
  private readonly store: ObjectStore;
  private readonly compressor: Compressor;
  private readonly log: Logger;
  private readonly acceptBytes: number;

  private constructor(private readonly options: ZswapOptions) {
    this.store = options.store;
    this.compressor = options.compressor;
    this.log = options.log;
    this.acceptBytes = Math.floor((options.poolLimitBytes * options.acceptThresholdPercent) / 100);
    if (options.maxCompressedBytes > PAGE_SIZE)
      throw new RangeError(`maxCompressedBytes ${options.maxCompressedBytes} > ${PAGE_SIZE}`);
  }

  /** Opens the pool over a store, taking over the entries a persistent store kept. */
  static async open(options: ZswapOptions): Promise<Zswap> {
    const z = new Zswap(options);
    z.epoch = (await z.store.checkEpoch()).epoch;
    await z.recover();
    z.store.onReconnect(() => {
      // The store may have lost its data while away: find out before the next call.
      z.exclusive(() => z.syncEpoch()).catch((err: unknown) =>
        z.log.warn({ err }, 'epoch check after reconnect failed'),
      );
    });
    return z;
  }

  // ---- data path ----------------------------------------------------------

  /**
   * Stores pages, each with its tag (tags: one per page or none). `epoch`:
   * '' = unchecked; otherwise FAILED_PRECONDITION unless it is the current
   * epoch (the caller reconciled in it), storing nothing.
   */
  put(pages: readonly Buffer[], tags: readonly number[] = [], epoch = ''): Promise<PutResult> {
    checkPages(pages);
    if (tags.length !== 0 && tags.length !== pages.length)
      throw invalidArgument(`${tags.length} tags for ${pages.length} pages: give one tag per page or none`);
    return this.exclusive(async () => {
      this.checkEpoch(epoch, 'Put');
      return this.putLocked(pages, tags, epoch);
    });
  }

  private async putLocked(pages: readonly Buffer[], tags: readonly number[], askedEpoch: string): Promise<PutResult> {
    const n = pages.length;
    const handles = new Array<number>(n).fill(0);
    const outcomes = new Array<PutOutcomeName>(n);
    const storedSizes = new Array<number>(n).fill(0);
    const limit = this.options.poolLimitBytes;
    const added: number[] = [];
    let limitHits = 0;
    let poor = 0;
    let compressFail = 0;
    let allocFail = 0;
    let incompressible = 0;
    for (let i = 0; i < n; i++) {
      const page = pages[i]!;
      if (this.full) {
        if (this.store.heldBytes() < this.acceptBytes) {
          this.full = false;
        } else {
          outcomes[i] = 'PUT_POOL_LIMIT_HIT';
          limitHits++;
          continue;
        }
      }
      let object: Uint8Array;
      try {
        object = this.compressor.compress(page);
      } catch (err) {
        this.log.warn({ err }, 'compression failed');
        outcomes[i] = 'PUT_REJECT_COMPRESS_FAIL';
        compressFail++;
        continue;
      }
      if (object.length >= this.options.maxCompressedBytes) {
        if (!this.options.storeIncompressible) {
          outcomes[i] = 'PUT_REJECT_COMPRESS_POOR';
          poor++;
          continue;
        }
        // Kept as is (length PAGE_SIZE marks it): keeps the page in LRU order.
        object = page;
      }
      if (this.store.heldBytes() + this.store.growthFor(object.length) > limit) {
        this.full = true;
        outcomes[i] = 'PUT_POOL_LIMIT_HIT';
        limitHits++;
        continue;
      }
      const tag = tags.length === 0 ? 0 : tags[i]!;
      const id = this.entries.add(object.length, 0, tag);
      const handle = this.entries.handleOf(id);
      try {
        this.entries.setLocation(id, this.store.add(handle, object, tag));
      } catch (err) {
        this.log.warn({ err }, 'pool allocation failed');
        this.entries.remove(id);
        outcomes[i] = 'PUT_REJECT_ALLOC_FAIL';
        allocFail++;
        continue;
      }
      if (object.length === PAGE_SIZE) incompressible++;
      added.push(id);
      handles[i] = handle;
      outcomes[i] = 'PUT_STORED';
      storedSizes[i] = object.length;
    }
    const c = this.counters;
    c.pool_limit_hit += limitHits;
    c.reject_compress_poor += poor;
    c.reject_compress_fail += compressFail;
    c.reject_alloc_fail += allocFail;
    if (added.length === 0 && limitHits > 0) {
      throw resourceExhausted(
        `zswap pool limit: ${this.store.heldBytes()} of ${limit} bytes held, ` +
          'no page of the batch could be stored (accepting again below ' +
          `${this.options.acceptThresholdPercent}%)`,
      );
    }
    let committed;
    try {
      committed = await this.store.commit();
    } catch (err) {
      for (const id of added) this.entries.remove(id);
      throw err;
    }
    if (committed === 'lost') {
      // The store lost data before this write: the entries went into a state
      // we do not know. Forget them (the merge drops their objects), take the
      // new epoch, and let the caller reconcile or retry.
      for (const id of added) this.entries.remove(id);
      await this.syncEpoch();
      this.checkEpoch(askedEpoch, 'Put');
      throw unavailable(
        `the ${this.store.kind} store lost data while this Put was in flight (new epoch ${this.epoch}): retry`,
      );
    }
    for (const id of added) this.lru.pushYoung(id);
    c.stored_incompressible_pages += incompressible;
    c.zswpout += added.length;
    return { handles, outcomes, storedSizes, epoch: this.epoch };
  }

  get(handles: readonly number[], touch: boolean, epoch = ''): Promise<Buffer[]> {
    checkBatchSize(handles.length, 'handles');
    checkDistinct(handles, 'handle');
    return this.exclusive(async () => {
      this.checkEpoch(epoch, 'Get');
      const ids = this.lookupAll(handles);
      const out = await this.loadPages(ids, epoch);
      if (touch) for (const id of ids) this.lru.touch(id);
      this.counters.zswpin += ids.length;
      return out;
    });
  }

  delete(
    handles: readonly number[],
    reason: DeleteReasonName,
    ignoreMissing: boolean,
    epoch = '',
  ): Promise<DeleteResult> {
    checkBatchSize(handles.length, 'handles');
    checkDistinct(handles, 'handle');
    return this.exclusive(async () => {
      this.checkEpoch(epoch, 'Delete');
      const ids: number[] = [];
      const missing: number[] = [];
      for (const h of handles) {
        const id = this.entries.lookup(h);
        if (id >= 0) ids.push(id);
        else if (ignoreMissing) missing.push(h);
        else
          throw notFound(`handle ${h} is not stored in zswap (never stored, already deleted, or lost with a restart)`);
      }
      await this.removeEntries(ids);
      if (reason === 'DELETE_WRITTEN_BACK') this.counters.written_back_pages += ids.length;
      return { deleted: ids.length, missing };
    });
  }

  /** Writeback candidates, oldest first, with second chance (see Lru.coldest). */
  coldest(maxEntries: number): Promise<ColdEntry[]> {
    checkBatchSize(maxEntries, 'entries asked for');
    return this.exclusive(async () => {
      const ids: number[] = [];
      this.lru.coldest(maxEntries, ids);
      if (ids.length === 0) return [];
      const pages = await this.loadPages(ids, '');
      return ids.map((id, i) => ({ handle: this.entries.handleOf(id), page: pages[i]!, tag: this.entries.tagOf(id) }));
    });
  }

  async beginReconcile(): Promise<ReconcileSession> {
    const { since, named, epoch } = await this.exclusive(async () => {
      await this.syncEpoch();
      return { since: this.entries.nextSeq, named: new Uint8Array(this.entries.idLimit), epoch: this.epoch };
    });
    let abandoned = false;
    return {
      epoch,
      abandon: () => {
        abandoned = true;
      },
      check: (handles) =>
        this.exclusive(() => {
          const missing: number[] = [];
          for (const h of handles) {
            const id = this.entries.lookup(h);
            if (id < 0) missing.push(h);
            else if (id < named.length) named[id] = 1;
          }
          return missing;
        }),
      finish: () =>
        this.exclusive(async () => {
          // The store lost data during the session: its marks name another life.
          if (abandoned || this.epoch !== epoch) return 0;
          // Entries stored after the session began were never the coordinator's to name.
          const orphans: number[] = [];
          for (let id = 0; id < named.length; id++) {
            if (named[id] === 0 && this.entries.isLive(id) && this.entries.bornAt(id) < since) orphans.push(id);
          }
          for (let i = 0; i < orphans.length; i += MAX_BATCH) await this.removeEntries(orphans.slice(i, i + MAX_BATCH));
          if (orphans.length > 0)
            this.log.info({ deleted: orphans.length }, 'reconcile deleted entries nobody references');
          return orphans.length;
        }),
    };
  }

  // ---- introspection ------------------------------------------------------

  info(): Promise<ZswapInfo> {
    return this.exclusive(async () => {
      await this.syncEpoch();
      return {
        kind: 'zswap' as const,
        store: this.store.kind,
        capacityPages: Math.floor(this.options.poolLimitBytes / PAGE_SIZE),
        usedPages: this.entries.size,
        storedBytes: this.store.heldBytes(),
        epoch: this.epoch,
        overThreshold: this.full,
        poolLimitBytes: this.options.poolLimitBytes,
        acceptThresholdPercent: this.options.acceptThresholdPercent,
        maxBatch: MAX_BATCH,
        volatile: this.store.volatile,
        compressor: this.compressor.name,
      };
    });
  }

  stats(): { counters: { name: string; value: number }[]; fragmentation: number } {
    const held = this.store.heldBytes();
    const objects = this.store.objectBytes();
    const list: { name: string; value: number }[] = [
      { name: 'stored_pages', value: this.entries.size },
      { name: 'pool_total_size', value: held },
    ];
    for (const [name, value] of Object.entries(this.counters)) list.push({ name, value });
    list.push({ name: 'unseal_fail', value: this.store.unsealFailures ?? 0 });
    return { counters: list, fragmentation: objects === 0 ? 0 : held / objects };
  }

  async close(): Promise<void> {
    await this.exclusive(() => this.store.close());
  }

  // ---- internals ----------------------------------------------------------

  /** '' = unchecked; any other epoch than the current one is FAILED_PRECONDITION. */
  private checkEpoch(asked: string, what: string): void {
    if (asked !== '' && asked !== this.epoch) {
      throw failedPrecondition(
        `${what} names epoch ${asked}, but this zswap is in epoch ` +
          `${this.epoch} (its store lost data since): reconcile first`,
      );
    }
  }

  /** Runs fn after every call before it has finished (FIFO). */
  private exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private lookupAll(handles: readonly number[]): number[] {
    const ids = new Array<number>(handles.length);
    for (let i = 0; i < handles.length; i++) {
      const id = this.entries.lookup(handles[i]!);
      if (id < 0)
        throw notFound(
          `handle ${handles[i]} is not stored in zswap (never stored, already deleted, or lost with a restart)`,
        );
      ids[i] = id;
    }
    return ids;
  }

  /** Decompressed pages of entries, as views of one buffer. */
  private async loadPages(ids: readonly number[], askedEpoch: string): Promise<Buffer[]> {
    const handles = ids.map((id) => this.entries.handleOf(id));
    const locations = ids.map((id) => this.entries.locationOf(id));
    const lengths = ids.map((id) => this.entries.lengthOf(id));
    const objects = await this.store.read(handles, locations, lengths);
    const buf = Buffer.allocUnsafe(ids.length * PAGE_SIZE);
    const pages = new Array<Buffer>(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const page = buf.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE);
      const object = objects[i];
      if (!object || object.length !== lengths[i]) {
        // Either the store lost everything (a new epoch: the handle is simply
        // unknown now) or this one object is gone or damaged.
        if (await this.syncEpoch()) {
          this.checkEpoch(askedEpoch, 'Get');
          if (this.entries.lookup(handles[i]!) < 0)
            throw notFound(`handle ${handles[i]} is not stored in zswap: the ${this.store.kind} store lost its data`);
          throw unavailable(`the ${this.store.kind} store lost data during this read (new epoch ${this.epoch}): retry`);
        }
        throw dataLoss(`handle ${handles[i]}: the ${this.store.kind} store no longer holds its object`);
      }
      if (object.length === PAGE_SIZE) {
        page.set(object);
      } else {
        try {
          this.compressor.decompress(object, page);
        } catch (err) {
          this.counters.decompress_fail++;
          this.log.error({ err, handle: handles[i] }, 'decompression failed');
          throw dataLoss(
            `handle ${handles[i]}: cannot decompress its ${object.length}-byte ${this.compressor.name} object`,
          );
        }
      }
      pages[i] = page;
    }
    return pages;
  }

  private async removeEntries(ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return;
    await this.store.remove(
      ids.map((id) => this.entries.handleOf(id)),
      ids.map((id) => this.entries.locationOf(id)),
      ids.map((id) => this.entries.lengthOf(id)),
    );
    for (const id of ids) {
      if (this.entries.lengthOf(id) === PAGE_SIZE) this.counters.stored_incompressible_pages--;
      this.lru.remove(id);
      this.entries.remove(id);
    }
    if (this.full && this.store.heldBytes() < this.acceptBytes) this.full = false;
  }

  /**
   * When the store lost data (a new epoch: Redis restarted empty or from an
   * older AOF/RDB), keep only the entries it still holds under the very
   * handle and length this process gave out; forget the rest (their handles
   * die: generations move on, so no lost entry's handle is given again) and
   * drop the objects the store holds that this process no longer knows.
   */
  private async syncEpoch(): Promise<boolean> {
    const check = await this.store.checkEpoch();
    if (!check.changed) return false;
    const before = this.entries.size;
    this.epoch = check.epoch;
    this.counters.epoch_changes++;
    const recovered = await this.store.recover();
    const keep = new Uint8Array(this.entries.idLimit);
    const stale: { handle: number; length: number }[] = [];
    for (const r of recovered) {
      const id = this.entries.lookup(r.handle);
      if (id >= 0 && this.entries.lengthOf(id) === r.length) keep[id] = 1;
      else stale.push(r);
    }
    for (let id = 0; id < keep.length; id++) {
      if (keep[id] === 1 || !this.entries.isLive(id)) continue;
      if (this.entries.lengthOf(id) === PAGE_SIZE) this.counters.stored_incompressible_pages--;
      this.lru.remove(id);
      this.entries.remove(id);
    }
    for (let i = 0; i < stale.length; i += MAX_BATCH) {
      const batch = stale.slice(i, i + MAX_BATCH);
      await this.store.remove(
        batch.map((r) => r.handle),
        batch.map(() => 0),
        batch.map((r) => r.length),
      );
    }
    this.full = this.store.heldBytes() >= this.options.poolLimitBytes;
    this.log.warn(
      { to: check.epoch, before, kept: this.entries.size, dropped: stale.length },
      'the store lost data: new epoch, kept what it still holds',
    );
    return true;
  }

  private async recover(): Promise<void> {
    const recovered = await this.store.recover();
    let skipped = 0;
    for (const r of recovered) {
      try {
        const id = this.entries.restore(r.handle, r.length, 0, r.tag);
        this.lru.pushYoung(id);
        if (r.length === PAGE_SIZE) this.counters.stored_incompressible_pages++;
      } catch (err) {
        skipped++;
        this.log.warn({ err, handle: r.handle }, 'ignoring an object zswap did not store');
      }
    }
    this.entries.rebuildFreeList();
    // A store taken over at (or above) its limit starts out refusing, as if it had just filled up.
    this.full = this.store.heldBytes() >= this.options.poolLimitBytes;
    if (recovered.length > 0)
      this.log.info(
        { entries: recovered.length - skipped, bytes: this.store.heldBytes() },
        'took over the entries the store kept',
      );
  }
}
