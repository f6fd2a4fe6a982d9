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
import { dataLoss, notFound, resourceExhausted } from '../common/errors';
import type { Logger } from '../common/logger';
import type { ReconcileSession } from '../common/reconcile-server';
import { MAX_BATCH, PAGE_SIZE } from '../common/limits';
import { checkBatchSize, checkDistinct, checkPages } from '../common/validate';
import type { Compressor } from './compressor';
import { EntryTable } from './entries';
import { Lru } from './lru';
import type { ObjectStore } from './object-store';

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

export type PutOutcomeName = 'PUT_STORED' | 'PUT_REJECT_COMPRESS_POOR' | 'PUT_REJECT_COMPRESS_FAIL' | 'PUT_REJECT_ALLOC_FAIL' | 'PUT_POOL_LIMIT_HIT';

export interface PutResult {
  handles: number[];
  outcomes: PutOutcomeName[];
  storedSizes: number[];
}

export interface DeleteResult {
  deleted: number;
  missing: number[];
}

export interface ColdEntry {
  handle: number;
  page: Buffer;
}

export type DeleteReasonName = 'DELETE_REASON_UNSPECIFIED' | 'DELETE_FREED' | 'DELETE_WRITTEN_BACK' | 'DELETE_MIGRATED' | 'DELETE_REPLACED';

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
}

export interface ZswapInfo {
  kind: 'zswap';
  store: string;
  capacityPages: number;
  usedPages: number;
  storedBytes: number;
  epoch: string;
  overThreshold: boolean;
  poolLimitBytes: number;
  acceptThresholdPercent: number;
  maxBatch: number;
  volatile: boolean;
  compressor: string;
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
    if (options.maxCompressedBytes > PAGE_SIZE) throw new RangeError(`maxCompressedBytes ${options.maxCompressedBytes} > ${PAGE_SIZE}`);
  }

  /** Opens the pool over a store, taking over the entries a persistent store kept. */
  static async open(options: ZswapOptions): Promise<Zswap> {
    const z = new Zswap(options);
    z.epoch = (await z.store.checkEpoch()).epoch;
    await z.recover();
    z.store.onReconnect(() => {
      // The store may have lost its data while away: find out before the next call.
      z.exclusive(() => z.syncEpoch()).catch((err: unknown) => z.log.warn({ err }, 'epoch check after reconnect failed'));
    });
    return z;
  }

  // ---- data path ----------------------------------------------------------

  put(pages: readonly Buffer[]): Promise<PutResult> {
    checkPages(pages);
    return this.exclusive(() => this.putLocked(pages));
  }

  private async putLocked(pages: readonly Buffer[]): Promise<PutResult> {
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
      const id = this.entries.add(object.length, 0);
      const handle = this.entries.handleOf(id);
      try {
        this.entries.setLocation(id, this.store.add(handle, object));
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
      throw resourceExhausted(`zswap pool limit: ${this.store.heldBytes()} of ${limit} bytes held, no page of the batch could be stored (accepting again below ${this.options.acceptThresholdPercent}%)`);
    }
    try {
      await this.store.commit();
    } catch (err) {
      for (const id of added) this.entries.remove(id);
      throw err;
    }
    for (const id of added) this.lru.pushYoung(id);
    c.stored_incompressible_pages += incompressible;
    c.zswpout += added.length;
    return { handles, outcomes, storedSizes };
  }

  get(handles: readonly number[], touch: boolean): Promise<Buffer[]> {
    checkBatchSize(handles.length, 'handles');
    checkDistinct(handles, 'handle');
    return this.exclusive(async () => {
      const ids = this.lookupAll(handles);
      const out = await this.loadPages(ids);
      if (touch) for (const id of ids) this.lru.touch(id);
      this.counters.zswpin += ids.length;
      return out;
    });
  }

  delete(handles: readonly number[], reason: DeleteReasonName, ignoreMissing: boolean): Promise<DeleteResult> {
    checkBatchSize(handles.length, 'handles');
    checkDistinct(handles, 'handle');
    return this.exclusive(async () => {
      const ids: number[] = [];
      const missing: number[] = [];
      for (const h of handles) {
        const id = this.entries.lookup(h);
        if (id >= 0) ids.push(id);
        else if (ignoreMissing) missing.push(h);
        else throw notFound(`handle ${h} is not stored in zswap (never stored, already deleted, or lost with a restart)`);
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
      const pages = await this.loadPages(ids);
      return ids.map((id, i) => ({ handle: this.entries.handleOf(id), page: pages[i]! }));
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
          if (orphans.length > 0) this.log.info({ deleted: orphans.length }, 'reconcile deleted entries nobody references');
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
    return { counters: list, fragmentation: objects === 0 ? 0 : held / objects };
  }

  async close(): Promise<void> {
    await this.exclusive(() => this.store.close());
  }

  // ---- internals ----------------------------------------------------------

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
      if (id < 0) throw notFound(`handle ${handles[i]} is not stored in zswap (never stored, already deleted, or lost with a restart)`);
      ids[i] = id;
    }
    return ids;
  }

  /** Decompressed pages of entries, as views of one buffer. */
  private async loadPages(ids: readonly number[]): Promise<Buffer[]> {
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
        if (await this.syncEpoch()) throw notFound(`handle ${handles[i]} is not stored in zswap: the ${this.store.kind} store lost its data`);
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
          throw dataLoss(`handle ${handles[i]}: cannot decompress its ${object.length}-byte ${this.compressor.name} object`);
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

  /** When the store lost its data (a new epoch), forget its entries and take what is there now. */
  private async syncEpoch(): Promise<boolean> {
    const check = await this.store.checkEpoch();
    if (!check.changed) return false;
    this.log.warn({ from: this.epoch, to: check.epoch, entries: this.entries.size }, 'the store lost its data: new epoch');
    this.epoch = check.epoch;
    this.entries.clear();
    this.lru.clear();
    this.counters.stored_incompressible_pages = 0;
    await this.recover();
    return true;
  }

  private async recover(): Promise<void> {
    const recovered = await this.store.recover();
    let skipped = 0;
    for (const r of recovered) {
      try {
        const id = this.entries.restore(r.handle, r.length, 0);
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
    if (recovered.length > 0) this.log.info({ entries: recovered.length - skipped, bytes: this.store.heldBytes() }, 'took over the entries the store kept');
  }
}
