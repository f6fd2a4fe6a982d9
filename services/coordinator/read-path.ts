/**
 * Reads pinned slots for Load: from the swap cache (a write in flight), as
 * zero pages, or from backends, one call per backend, every page checked
 * against its checksum. Concurrent Loads of one slot share one backend read,
 * but only while the slot keeps the backing that read is for: a new backing
 * (SlotStore.setBacking calls `backingChanged`) drops the shared read.
 */
import { status as Status } from '@grpc/grpc-js';
import { ZERO_PAGE_CHECKSUM, pageChecksum } from '../common/checksum';
import { dataLoss, failedPrecondition, isServiceError, unavailable } from '../common/errors';
import { PAGE_SIZE } from '../common/limits';
import type { BackendView } from './backend-view';
import { isTransient } from './placement';
import type { SlotTable } from './slot-table';
import type { CoordinatorCounters } from './stats';
import type { SwapCache } from './swap-cache';
import { TierCode } from './tiers';

const ZERO_PAGE = Buffer.alloc(PAGE_SIZE);

/** A backend read's pages and the checksums they were verified against. */
interface GroupRead {
  pages: Buffer[];
  sums: Uint32Array;
}

/** A backend read in flight: `group` resolves to the pages of all its slots. */
interface SharedRead {
  group: Promise<GroupRead>;
  index: number;
  backend: number;
  handle: number;
}

export interface ReadPathOptions {
  table: SlotTable;
  cache: SwapCache;
  backendOf: (id: number) => BackendView | undefined;
  counters: CoordinatorCounters;
}

export class ReadPath {
  /**
   * slot -> the backend read in flight that covers it (its index in it, and
   * the backing it reads), shared by concurrent Loads. A Load joins only while
   * the slot still has that backing; a new backing drops the entry.
   */
  private readonly reads = new Map<number, SharedRead>();

  constructor(private readonly options: ReadPathOptions) {}

  /** The slot's backing changed: no later Load may join a read of the old one. */
  backingChanged(slot: number): void {
    this.reads.delete(slot);
  }

  /**
   * Reads pinned slots, sharing backend reads already in flight. `share` is
   * false for the retry of a read whose slots moved meanwhile (it must not
   * wait for itself). `sums`, when given, gets each page's checksum (the one
   * it was verified against; computed only for a page from the swap cache),
   * so that the request log keeps a Load's answer without hashing it again.
   */
  async read(slots: readonly number[], share = true, sums?: Uint32Array): Promise<Buffer[]> {
    const { table, cache } = this.options;
    const out = new Array<Buffer>(slots.length);
    // Without `sums`, a zero-length array: writes to it are dropped.
    const sum = sums ?? new Uint32Array(0);
    const groups = new Map<number, number[]>(); // backend id -> indices
    const shared: Promise<void>[] = [];
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i]!;
      const cached = cache.page(s);
      if (cached) {
        out[i] = cached;
        if (sums) sums[i] = pageChecksum(cached);
        continue;
      }
      const tier = table.tierOf(s);
      if (tier === TierCode.ZERO) {
        out[i] = ZERO_PAGE;
        sum[i] = ZERO_PAGE_CHECKSUM;
        continue;
      }
      if (tier === TierCode.LOST) throw dataLoss(`slot ${s} lost its data: its backend restarted without it`);
      if (tier === TierCode.EMPTY) throw failedPrecondition(`slot ${s} holds no data (TIER_EMPTY)`);
      const inflight = share ? this.sharedRead(s) : undefined;
      if (inflight) {
        // Another Load reads this slot right now: share its backend read.
        shared.push(
          inflight.group.then((r) => {
            out[i] = r.pages[inflight.index]!;
            sum[i] = r.sums[inflight.index]!;
          }),
        );
        continue;
      }
      const b = table.backendOf(s);
      let g = groups.get(b);
      if (!g) groups.set(b, (g = []));
      g.push(i);
    }
    const reads: Promise<void>[] = [];
    for (const [backendId, idx] of groups) {
      const groupSlots = idx.map((i) => slots[i]!);
      const group = this.readGroup(backendId, groupSlots);
      if (share) groupSlots.forEach((s, index) => this.startRead(s, group, index));
      const forget = (): void => {
        for (const s of groupSlots) this.endRead(s, group);
      };
      reads.push(
        group.then(
          (r) => {
            forget();
            idx.forEach((i, k) => {
              out[i] = r.pages[k]!;
              sum[i] = r.sums[k]!;
            });
          },
          (err: unknown) => {
            forget();
            throw err;
          },
        ),
      );
    }
    await Promise.all([...reads, ...shared]);
    return out;
  }

  /** One backend read of several slots, checksums verified; retried once if a slot moved meanwhile. */
  private async readGroup(backendId: number, slots: number[]): Promise<GroupRead> {
    const { table } = this.options;
    const b = this.options.backendOf(backendId);
    if (!b) throw dataLoss(`slot ${slots[0]} names a backend that is not configured`);
    const handles = slots.map((s) => table.handleOf(s));
    const checksums = Uint32Array.from(slots, (s) => table.checksumOf(s));
    if (b.knownEpoch === undefined)
      throw unavailable(`backend ${b.name} has not been reconciled since the coordinator started; retry shortly`);
    let res;
    try {
      res = await b.client.get(handles, true, b.knownEpoch);
    } catch (err) {
      const moved = slots.some((s, k) => table.backendOf(s) !== backendId || table.handleOf(s) !== handles[k]);
      // Writeback or swapoff moved some: read again from where they are (not through the shared read: that is
      // this one).
      if (moved) {
        const sums = new Uint32Array(slots.length);
        return { pages: await this.read(slots, false, sums), sums };
      }
      if (isServiceError(err) && err.code === Status.FAILED_PRECONDITION) {
        // It restarted into a new epoch: what it holds under these handles is not these pages.
        b.invalidate();
        throw unavailable(`backend ${b.name} restarted and is being reconciled; retry later`);
      }
      if (isTransient(err)) throw unavailable(`backend ${b.name} cannot be reached: ${(err as Error).message}`);
      if (isServiceError(err) && err.code === Status.NOT_FOUND)
        throw dataLoss(
          `backend ${b.name} no longer has a page of slots ` +
            `${slots.slice(0, 4).join(', ')}${slots.length > 4 ? ', ...' : ''}: ` +
            `${err.details}`,
        );
      if (isServiceError(err) && err.code === Status.DATA_LOSS) throw dataLoss(`backend ${b.name}: ${err.details}`);
      throw err;
    }
    for (let k = 0; k < slots.length; k++) {
      const page = res.pages[k];
      if (!page || page.length !== PAGE_SIZE || pageChecksum(page) !== checksums[k]) {
        this.options.counters.checksum_failures++;
        throw dataLoss(`slot ${slots[k]} failed its checksum on backend ${b.name}`);
      }
    }
    return { pages: res.pages, sums: checksums };
  }

  /** The read in flight that a Load of `slot` may join: only one of the slot's current backing. */
  private sharedRead(slot: number): SharedRead | undefined {
    const r = this.reads.get(slot);
    if (!r) return undefined;
    const t = this.options.table;
    if (r.backend !== t.backendOf(slot) || r.handle !== t.handleOf(slot)) return undefined;
    return r;
  }

  /** Registers a read in flight of the slot's current backing for later Loads to join. */
  private startRead(slot: number, group: Promise<GroupRead>, index: number): void {
    const t = this.options.table;
    this.reads.set(slot, { group, index, backend: t.backendOf(slot), handle: t.handleOf(slot) });
  }

  /** Forgets `group` for `slot` once it has finished (a newer read stays). */
  private endRead(slot: number, group: Promise<GroupRead>): void {
    if (this.reads.get(slot)?.group === group) this.reads.delete(slot);
  }
}
