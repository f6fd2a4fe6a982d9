/**
 * vswap.v1.Backend for a swap device: the allocator decides where each page
 * goes, the store (file or Redis) holds it. Handle = physical slot + 1, so 0
 * is never a handle.
 *
 * Allocation state changes synchronously with validation (no await in
 * between), so concurrent calls always see a consistent map; stores issue
 * their I/O in call order (one file descriptor, one Redis connection), so a
 * Delete that frees a slot always lands before a later Put that reuses it.
 *
 * Coldest answers an empty list: a swap device has no LRU to write back from
 * (it is the bottom tier).
 */
import * as grpc from '@grpc/grpc-js';
import type { BackendHandlers } from '../../proto/generated/vswap/v1/Backend';
import type { PutRequest__Output } from '../../proto/generated/vswap/v1/PutRequest';
import type { PutResponse } from '../../proto/generated/vswap/v1/PutResponse';
import type { GetRequest__Output } from '../../proto/generated/vswap/v1/GetRequest';
import type { GetResponse } from '../../proto/generated/vswap/v1/GetResponse';
import type { DeleteRequest__Output } from '../../proto/generated/vswap/v1/DeleteRequest';
import type { DeleteResponse } from '../../proto/generated/vswap/v1/DeleteResponse';
import type { InfoResponse } from '../../proto/generated/vswap/v1/InfoResponse';
import type { BackendStatsResponse } from '../../proto/generated/vswap/v1/BackendStatsResponse';
import type { ReconcileRequest__Output } from '../../proto/generated/vswap/v1/ReconcileRequest';
import type { ReconcileResponse } from '../../proto/generated/vswap/v1/ReconcileResponse';
import type { PutOutcome } from '../../proto/generated/vswap/v1/PutOutcome';
import { dataLoss, notFound, resourceExhausted, toServiceError, unavailable } from '../common/errors';
import { MAX_BATCH, PAGE_SIZE } from '../common/limits';
import type { Logger } from '../common/logger';
import { unary } from '../common/server';
import { checkBatchSize, checkDistinct, checkPages } from '../common/validate';
import { SwapAllocator } from './allocator';
import type { PageStore } from './page-store';

export interface SwapfileCounters {
  swpout: number;
  swpin: number;
  deleted_pages: number;
  no_space: number;
  /** Times the store was found to have lost its data (Redis restarted). */
  epoch_changes: number;
}

export class SwapfileBackend {
  readonly allocator: SwapAllocator;
  readonly counters: SwapfileCounters = { swpout: 0, swpin: 0, deleted_pages: 0, no_space: 0, epoch_changes: 0 };
  private store!: PageStore;
  /** Bumped whenever the allocation state is replaced (the store lost its data). */
  private generation = 0;
  /** Puts between allocation and reply: Reconcile must not sweep their slots. */
  private putsInFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    capacity: number,
    private readonly log: Logger,
  ) {
    this.allocator = new SwapAllocator({ capacity });
  }

  /** Takes the store and the allocation state it recorded. */
  attach(store: PageStore): void {
    this.store = store;
    const beyond = this.allocator.restore(store.restoredMap);
    if (beyond > 0) this.log.warn({ beyond }, 'the store records used slots beyond the capacity: ignored');
  }

  /** For the Redis store: it lost its data; start over from what it has now. */
  onEpochChange(epoch: string, map: Uint8Array): void {
    this.generation++;
    this.counters.epoch_changes++;
    this.allocator.restore(map);
    this.log.warn({ epoch, used: this.allocator.used }, 'allocation state replaced after the store changed epoch');
  }

  // ---- handlers -------------------------------------------------------------

  async put(req: PutRequest__Output): Promise<PutResponse> {
    checkPages(req.pages);
    const n = req.pages.length;
    const slots = new Int32Array(n);
    for (let attempt = 0; attempt < 2; attempt++) {
      const stored = this.allocator.allocate(n, slots);
      if (stored === 0) {
        this.counters.no_space += n;
        throw resourceExhausted(`swap device full: ${this.allocator.used} of ${this.allocator.capacity} slots used`);
      }
      const generation = this.generation;
      this.putsInFlight++;
      let ok: boolean;
      try {
        ok = (await this.store.write(slots, req.pages, n)).ok;
      } catch (err) {
        if (generation === this.generation) this.undoPut(slots, n);
        throw err;
      } finally {
        this.putsInFlight--;
        if (this.putsInFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      }
      // The store lost its data under us: the slots we took went with the old
      // state, so allocate again in the new one (once).
      if (!ok || generation !== this.generation) {
        if (ok) throw unavailable('the store lost its data while this Put was in flight: retry');
        continue;
      }
      this.counters.swpout += stored;
      this.counters.no_space += n - stored;
      const handles = new Array<number>(n);
      const outcomes = new Array<PutOutcome>(n);
      const sizes = new Array<number>(n);
      for (let i = 0; i < n; i++) {
        const s = slots[i]!;
        handles[i] = s < 0 ? 0 : s + 1;
        outcomes[i] = s < 0 ? 'PUT_NO_SPACE' : 'PUT_STORED';
        sizes[i] = s < 0 ? 0 : PAGE_SIZE;
      }
      return { handles, outcomes, storedSizes: sizes };
    }
    throw unavailable('the store lost its data twice during one Put: retry');
  }

  async get(req: GetRequest__Output): Promise<GetResponse> {
    const slots = this.slotsOf(req.handles);
    const n = slots.length;
    const generation = this.generation;
    const res = await this.store.read(slots, n);
    if (!res.ok || generation !== this.generation) {
      throw dataLoss(`the ${this.store.kind} store lost its data (new epoch ${this.store.epoch}): handle ${req.handles[0]} is gone`);
    }
    const pages = res.value;
    for (let i = 0; i < n; i++) {
      if (pages[i] == null) throw dataLoss(`handle ${req.handles[i]} is allocated but its page is missing from the ${this.store.kind} store`);
    }
    this.counters.swpin += n;
    return { pages: pages as Buffer[] };
  }

  async delete(req: DeleteRequest__Output): Promise<DeleteResponse> {
    checkBatchSize(req.handles.length, 'handles');
    checkDistinct(req.handles, 'handle');
    const missing: number[] = [];
    const slots = new Int32Array(req.handles.length);
    let k = 0;
    // Check every handle before freeing any: a bad one changes nothing.
    for (const h of req.handles) {
      if (this.allocator.isUsed(h - 1)) slots[k++] = h - 1;
      else if (req.ignoreMissing) missing.push(h);
      else throw notFound(`handle ${h} is not stored on this swap device`);
    }
    for (let i = 0; i < k; i++) this.allocator.free(slots[i]!);
    this.counters.deleted_pages += k;
    // A store that lost its data lost these pages too: they are freed either way.
    await this.store.release(slots, k);
    return { deleted: k, missing };
  }

  async info(): Promise<InfoResponse> {
    await this.store.check();
    const used = this.allocator.used;
    return {
      kind: 'swapfile',
      store: this.store.kind,
      capacityPages: this.allocator.capacity,
      usedPages: used,
      storedBytes: used * PAGE_SIZE,
      epoch: this.store.epoch,
      overThreshold: false,
      poolLimitBytes: this.allocator.capacity * PAGE_SIZE,
      acceptThresholdPercent: 0,
      maxBatch: MAX_BATCH,
      volatile: this.store.volatile,
      compressor: '',
    };
  }

  stats(): BackendStatsResponse {
    const lists = this.allocator.listCounts();
    const c = this.counters;
    const counters: [string, number][] = [
      ['stored_pages', this.allocator.used],
      ['swpout', c.swpout],
      ['swpin', c.swpin],
      ['deleted_pages', c.deleted_pages],
      ['no_space', c.no_space],
      ['clusters_free', lists.free],
      ['clusters_nonfull', lists.nonfull],
      ['clusters_frag', lists.frag],
      ['clusters_full', lists.full],
      ['fsyncs', this.store.fsyncs],
      ['epoch_changes', c.epoch_changes],
    ];
    return { counters: counters.map(([name, value]) => ({ name, value })), fragmentation: this.allocator.fragmentation() };
  }

  /** Get's and Delete's checks: batch size, distinct, each handle stored here. */
  private slotsOf(handles: readonly number[]): Int32Array {
    checkBatchSize(handles.length, 'handles');
    checkDistinct(handles, 'handle');
    const slots = new Int32Array(handles.length);
    for (let i = 0; i < handles.length; i++) {
      const h = handles[i]!;
      if (!this.allocator.isUsed(h - 1)) throw notFound(`handle ${h} is not stored on this swap device`);
      slots[i] = h - 1;
    }
    return slots;
  }

  private undoPut(slots: Int32Array, n: number): void {
    for (let i = 0; i < n; i++) if (slots[i]! >= 0) this.allocator.free(slots[i]!);
    // Best effort: the map may already say used (a failed fsync after the write).
    this.store.release(slots, n).catch(() => {});
  }

  private whenNoPutInFlight(): Promise<void> {
    if (this.putsInFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  // ---- Reconcile ----------------------------------------------------------------

  /**
   * The coordinator streams every handle it references. Each chunk is
   * answered with those of its handles not stored here; at half-close every
   * stored handle nobody named is freed and one final reply says how many.
   */
  reconcile(call: grpc.ServerDuplexStream<ReconcileRequest__Output, ReconcileResponse>): void {
    const named = new Uint8Array(this.allocator.capacity);
    let chain: Promise<void> = this.store.check().then(() => {});
    let failed = false;
    const send = (msg: ReconcileResponse): Promise<void> =>
      new Promise((resolve) => {
        if (call.write(msg)) resolve();
        else call.once('drain', () => resolve());
      });
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      call.destroy(toServiceError(err, this.log, 'Reconcile') as Error);
    };
    call.on('data', (msg: ReconcileRequest__Output) => {
      chain = chain
        .then(async () => {
          if (failed) return;
          const missing: number[] = [];
          for (const h of msg.handles) {
            const slot = h - 1;
            if (this.allocator.isUsed(slot)) named[slot] = 1;
            else missing.push(h);
          }
          await send({ missing, done: false });
        })
        .catch(fail);
    });
    call.on('end', () => {
      chain = chain
        .then(async () => {
          if (failed) return;
          await this.whenNoPutInFlight();
          const sweep = new Int32Array(MAX_BATCH);
          let k = 0;
          let deleted = 0;
          const pending: Promise<unknown>[] = [];
          // Synchronous sweep (no Put can slip in between), I/O in batches.
          this.allocator.forEachUsed((slot) => {
            if (named[slot] === 1) return;
            sweep[k++] = slot;
            if (k === MAX_BATCH) {
              pending.push(this.freeSlots(sweep, k));
              deleted += k;
              k = 0;
            }
          });
          if (k > 0) {
            pending.push(this.freeSlots(sweep, k));
            deleted += k;
          }
          await Promise.all(pending);
          this.log.info({ deleted, used: this.allocator.used }, 'reconcile done');
          await send({ missing: [], done: true, deleted });
          call.end();
        })
        .catch(fail);
    });
    call.on('error', (err: Error) => {
      failed = true;
      this.log.warn({ err: err.message }, 'reconcile stream failed');
    });
  }

  /** Frees slots[0..k) in the allocator now and in the store (a copy: the caller reuses its array). */
  private freeSlots(slots: Int32Array, k: number): Promise<unknown> {
    const batch = slots.slice(0, k);
    for (let i = 0; i < k; i++) this.allocator.free(batch[i]!);
    this.counters.deleted_pages += k;
    return this.store.release(batch, k);
  }

  /** The grpc-js implementation object. */
  handlers(): BackendHandlers {
    const log = this.log;
    return {
      Put: unary(log, 'Put', (req: PutRequest__Output) => this.put(req)),
      Get: unary(log, 'Get', (req: GetRequest__Output) => this.get(req)),
      Delete: unary(log, 'Delete', (req: DeleteRequest__Output) => this.delete(req)),
      Info: unary(log, 'Info', () => this.info()),
      Stats: unary(log, 'Stats', () => this.stats()),
      Coldest: unary(log, 'Coldest', () => ({ entries: [] })),
      Reconcile: (call) => this.reconcile(call),
    };
  }
}
