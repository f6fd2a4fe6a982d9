/**
 * A swap device as a store of its own: the allocator decides where each page
 * goes and which handle names it (slot and generation, see SwapAllocator), the
 * store (file or Redis) holds the page and the slot words. No gRPC here
 * (service.ts maps requests and errors).
 *
 * Allocation state changes synchronously with validation (no await in
 * between), so concurrent calls always see a consistent map; stores issue
 * their I/O in call order (one file descriptor, one Redis connection), so a
 * Delete that frees a slot always lands before a later Put that reuses it.
 * A handle dies with its page: a Get or Delete naming a freed handle finds
 * nothing, even after the slot holds a new page.
 */
import {
  dataLoss,
  failedPrecondition,
  invalidArgument,
  notFound,
  resourceExhausted,
  unavailable,
} from '../common/errors';
import { MAX_BATCH, PAGE_SIZE } from '../common/limits';
import type { Logger } from '../common/logger';
import type { ReconcileSession } from '../common/reconcile-server';
import { checkBatchSize, checkDistinct, checkPages } from '../common/validate';
import { SwapAllocator } from './allocator';
import type { PageStore } from './page-store';
import type { BackendInfoBase } from '../common/backend-info';
import type { PutOutcome__Output } from '../../proto/generated/vswap/v1/PutOutcome';

export interface SwapfileCounters {
  swpout: number;
  swpin: number;
  deleted_pages: number;
  no_space: number;
  /** Times the store was found to have lost its data (Redis restarted or rolled back). */
  epoch_changes: number;
  /** Handles named by a Get or Delete whose slot has moved on (refused). */
  stale_handles: number;
}

export interface SwapfilePutResult {
  handles: number[];
  outcomes: Extract<PutOutcome__Output, 'PUT_STORED' | 'PUT_NO_SPACE'>[];
  storedSizes: number[];
  epoch: string;
}

export interface SwapfileInfo extends BackendInfoBase {
  kind: 'swapfile';
  store: 'file' | 'redis';
}

/**
 * Refuses a request made in another epoch: '' means unchecked. The caller
 * placed or learnt its handles in `asked`; they mean nothing in another epoch.
 */
export function checkEpoch(asked: string, current: string, what: string): void {
  if (asked !== '' && asked !== current) {
    throw failedPrecondition(
      `${what} names epoch ${asked}, but this backend is in epoch ${current} ` +
        '(its store lost data since): reconcile first',
    );
  }
}

/** Tags are one per page or none. */
export function checkTags(tags: readonly number[] | undefined, pages: number): void {
  const n = tags?.length ?? 0;
  if (n !== 0 && n !== pages) throw invalidArgument(`${n} tags for ${pages} pages: give one tag per page or none`);
}

export class Swapfile {
  readonly allocator: SwapAllocator;
  readonly counters: SwapfileCounters = {
    swpout: 0,
    swpin: 0,
    deleted_pages: 0,
    no_space: 0,
    epoch_changes: 0,
    stale_handles: 0,
  };
  private store!: PageStore;
  /** Bumped whenever the allocation state is replaced (the store lost its data). */
  private generation = 0;
  /** Per slot: 1 while a Put that took it has not landed (Reconcile spares it). */
  private readonly putPending: Uint8Array;

  constructor(
    capacity: number,
    private readonly log: Logger,
  ) {
    this.allocator = new SwapAllocator({ capacity });
    this.putPending = new Uint8Array(capacity);
  }

  /** Takes the store and the allocation state (used slots and generations) it recorded. */
  attach(store: PageStore): void {
    this.store = store;
    const beyond = this.allocator.restoreWords(store.restoredWords);
    if (beyond > 0) this.log.warn({ beyond }, 'the store records used slots beyond the capacity: ignored');
  }

  get epoch(): string {
    return this.store.epoch;
  }

  /**
   * For the Redis store: it lost data (restarted empty or from an older
   * state). Keeps the pages it still holds under their handles, frees the
   * rest under generations no lost page had; returns the words to write back.
   */
  onEpochChange(epoch: string, words: Uint16Array): Uint16Array {
    this.generation++;
    this.counters.epoch_changes++;
    const lost = this.allocator.mergeAfterLoss(words);
    this.log.warn(
      { epoch, lost, used: this.allocator.used },
      'allocation merged with what the store holds after it lost data',
    );
    return this.allocator.toWords();
  }

  // ---- data path -------------------------------------------------------------

  async put(pages: readonly Buffer[], tags: readonly number[], epoch: string): Promise<SwapfilePutResult> {
    checkPages(pages);
    checkTags(tags, pages.length);
    checkEpoch(epoch, this.store.epoch, 'Put');
    const n = pages.length;
    const slots = new Int32Array(n);
    for (let attempt = 0; attempt < 2; attempt++) {
      const stored = this.allocator.allocate(n, slots);
      if (stored === 0) {
        this.counters.no_space += n;
        throw resourceExhausted(`swap device full: ${this.allocator.used} of ${this.allocator.capacity} slots used`);
      }
      const generation = this.generation;
      this.markPending(slots, n, 1);
      let ok: boolean;
      try {
        ok = (await this.store.write(slots, pages, n, this.allocator)).ok;
      } catch (err) {
        this.markPending(slots, n, 0);
        if (generation === this.generation) this.undoPut(slots, n);
        throw err;
      }
      this.markPending(slots, n, 0);
      if (ok && generation === this.generation) {
        this.counters.swpout += stored;
        this.counters.no_space += n - stored;
        const handles = new Array<number>(n);
        const outcomes = new Array<Extract<PutOutcome__Output, 'PUT_STORED' | 'PUT_NO_SPACE'>>(n);
        const sizes = new Array<number>(n);
        for (let i = 0; i < n; i++) {
          const s = slots[i]!;
          handles[i] = s < 0 ? 0 : this.allocator.handleOf(s);
          outcomes[i] = s < 0 ? 'PUT_NO_SPACE' : 'PUT_STORED';
          sizes[i] = s < 0 ? 0 : PAGE_SIZE;
        }
        return { handles, outcomes, storedSizes: sizes, epoch: this.store.epoch };
      }
      // The store lost its data under us: the slots we took went with the old
      // state. A caller that named the old epoch must reconcile first.
      checkEpoch(epoch, this.store.epoch, 'Put');
      if (ok) throw unavailable('the store lost its data while this Put was in flight: retry');
    }
    throw unavailable('the store lost its data twice during one Put: retry');
  }

  async get(handles: readonly number[], epoch: string): Promise<Buffer[]> {
    checkEpoch(epoch, this.store.epoch, 'Get');
    const slots = this.slotsOf(handles);
    const n = slots.length;
    const generation = this.generation;
    const res = await this.store.read(slots, n, this.allocator);
    if (!res.ok || generation !== this.generation) {
      checkEpoch(epoch, this.store.epoch, 'Get');
      throw dataLoss(
        `the ${this.store.kind} store lost its data (new epoch ${this.store.epoch}): handle ${handles[0]} is gone`,
      );
    }
    const pages = res.value;
    for (let i = 0; i < n; i++) {
      if (pages[i] == null)
        throw dataLoss(`handle ${handles[i]} is allocated but its page is missing from the ${this.store.kind} store`);
    }
    this.counters.swpin += n;
    return pages as Buffer[];
  }

  /**
   * Frees the handles' slots. A handle whose slot moved on (freed, maybe
   * holding another page now) is never honoured: NOT_FOUND, or listed
   * missing with ignoreMissing; the page there now stays.
   */
  async delete(
    handles: readonly number[],
    ignoreMissing: boolean,
    epoch: string,
  ): Promise<{ deleted: number; missing: number[] }> {
    checkBatchSize(handles.length, 'handles');
    checkDistinct(handles, 'handle');
    checkEpoch(epoch, this.store.epoch, 'Delete');
    const missing: number[] = [];
    const slots = new Int32Array(handles.length);
    let k = 0;
    // Check every handle before freeing any: a bad one changes nothing.
    for (const h of handles) {
      const slot = this.allocator.slotOfHandle(h);
      if (slot >= 0) slots[k++] = slot;
      else {
        if (this.allocator.describeMissing(h).startsWith('stale')) this.counters.stale_handles++;
        if (ignoreMissing) missing.push(h);
        else throw notFound(`handle ${h} is not stored on this swap device (${this.allocator.describeMissing(h)})`);
      }
    }
    for (let i = 0; i < k; i++) this.allocator.free(slots[i]!);
    this.counters.deleted_pages += k;
    // A store that lost its data lost these pages too: they are freed either way.
    await this.store.release(slots, k, this.allocator);
    return { deleted: k, missing };
  }

  // ---- introspection ------------------------------------------------------------

  async info(): Promise<SwapfileInfo> {
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

  /** Pages whose value in the store did not open (changed, moved, or under a key the service lacks). */
  get unsealFailures(): number {
    return this.store.unsealFailures ?? 0;
  }

  stats(): { counters: { name: string; value: number }[]; fragmentation: number } {
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
      ['stale_handles', c.stale_handles],
      ['unseal_fail', this.unsealFailures],
    ];
    return {
      counters: counters.map(([name, value]) => ({ name, value })),
      fragmentation: this.allocator.fragmentation(),
    };
  }

  // ---- Reconcile ----------------------------------------------------------------

  /**
   * A Reconcile session: chunks name handles (a stale handle is missing and
   * does not protect the page now in its slot); finish() frees every slot
   * that held the same page when the session began (same word: used, same
   * generation) and was not named. Pages stored since, or by Puts in flight
   * when it began, are not the caller's to name and stay.
   */
  async beginReconcile(): Promise<ReconcileSession> {
    await this.store.check();
    // Per slot: its word at the start; 0 once named or when a Put was in flight.
    const candidates = this.allocator.toWords();
    for (let slot = 0; slot < candidates.length; slot++) if (this.putPending[slot] === 1) candidates[slot] = 0;
    const generation = this.generation;
    let abandoned = false;
    const epoch = this.store.epoch;
    return {
      epoch,
      check: (handles) => {
        const missing: number[] = [];
        for (const h of handles) {
          const slot = this.allocator.slotOfHandle(h);
          if (slot >= 0) candidates[slot] = 0;
          else missing.push(h);
        }
        return Promise.resolve(missing);
      },
      abandon: () => {
        abandoned = true;
      },
      finish: async () => {
        // The store lost data during the session: its marks name another state.
        if (abandoned || generation !== this.generation) return 0;
        const sweep = new Int32Array(MAX_BATCH);
        let k = 0;
        let deleted = 0;
        const pending: Promise<unknown>[] = [];
        // Synchronous sweep (no Put can slip in between), I/O in batches.
        this.allocator.forEachUsed((slot) => {
          if (candidates[slot] !== this.allocator.slotWord(slot)) return;
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
        return deleted;
      },
    };
  }

  // ---- internals ----------------------------------------------------------------

  /** Get's checks: batch size, distinct, each handle names the page in its slot now. */
  private slotsOf(handles: readonly number[]): Int32Array {
    checkBatchSize(handles.length, 'handles');
    checkDistinct(handles, 'handle');
    const slots = new Int32Array(handles.length);
    for (let i = 0; i < handles.length; i++) {
      const h = handles[i]!;
      const slot = this.allocator.slotOfHandle(h);
      if (slot < 0) {
        if (this.allocator.describeMissing(h).startsWith('stale')) this.counters.stale_handles++;
        throw notFound(`handle ${h} is not stored on this swap device (${this.allocator.describeMissing(h)})`);
      }
      slots[i] = slot;
    }
    return slots;
  }

  private undoPut(slots: Int32Array, n: number): void {
    for (let i = 0; i < n; i++) if (slots[i]! >= 0) this.allocator.free(slots[i]!);
    // Best effort: the map may already say used (a failed fsync after the write).
    this.store.release(slots, n, this.allocator).catch(() => {});
  }

  private markPending(slots: Int32Array, n: number, value: 0 | 1): void {
    for (let i = 0; i < n; i++) if (slots[i]! >= 0) this.putPending[slots[i]!] = value;
  }

  /** Frees slots[0..k) in the allocator now and in the store (a copy: the caller reuses its array). */
  private freeSlots(slots: Int32Array, k: number): Promise<unknown> {
    const batch = slots.slice(0, k);
    for (let i = 0; i < k; i++) this.allocator.free(batch[i]!);
    this.counters.deleted_pages += k;
    return this.store.release(batch, k, this.allocator);
  }
}
