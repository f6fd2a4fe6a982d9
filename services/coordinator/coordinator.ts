/**
 * The virtual layer: every slot's metadata and swap count live here, the
 * bytes in backends. Handlers validate, change the slot table synchronously,
 * do backend I/O with the affected slots pinned in the swap cache, journal the
 * resulting slot states, and reply once the journal has them.
 */
import { status as Status } from '@grpc/grpc-js';
import type { Logger } from '../common/logger';
import {
  VswapError,
  dataLoss,
  failedPrecondition,
  invalidArgument,
  resourceExhausted,
  unavailable,
} from '../common/errors';
import { MAX_BATCH, PAGE_SIZE } from '../common/limits';
import { pageChecksum } from '../common/checksum';
import { checkBatchSize, checkDistinct, checkPages } from '../common/validate';
import { type AttachedBackend, BackendRegistry, type BackendSpec } from './backend-registry';
import type { FsyncPolicy, JournalStats } from './journal';
import { DEFAULT_POLICY, type OwnerPolicy, OwnerPolicies, checkOwner } from './owner-policy';
import { type Result, SlotTable, TierCode } from './slot-table';
import { SlotStore } from './slot-store';
import { TierPolicy, isTransient } from './placement';
import { WritePath } from './write-path';
import { ReadPath } from './read-path';
import { newCounters } from './stats';
import { TIER_NAMES, type TierName, tierName } from './tiers';
import { SwapCache } from './swap-cache';
import { DeleteQueue } from './delete-queue';
import type { ConnectBackend } from './backend-view';
import type { CallContext } from './call-context';
import type { DeleteReason } from '../../proto/generated/vswap/v1/DeleteReason';

export interface CoordinatorOptions {
  /** Journal, snapshot and policies live here. */
  dataDir: string;
  backends: BackendSpec[];
  /** Default `batch`. */
  journalFsync?: FsyncPolicy;
  /** Deadline of each backend call; default 5000 ms. */
  backendDeadlineMs?: number;
  /** Pages per writeback batch; default 64. */
  writebackBatch?: number;
  /** Backend Info polling period; default 500 ms. */
  pollMs?: number;
  /** Journal size that triggers a snapshot; default 64 MiB. */
  snapshotAfterBytes?: number;
  /** Makes each backend's calls; default a gRPC client to its address (tests inject in-process fakes). */
  connect?: ConnectBackend;
  log: Logger;
}

/** Background writeback rounds in a row that may leave the pool no smaller. */
const WRITEBACK_MAX_STALLED_ROUNDS = 8;
const WRITEBACK_COOLDOWN_MS = 5000;
export interface SlotDescription {
  slot: number;
  count: number;
  tier: TierName;
  backend: string;
  owner: string;
  handle: number;
  checksum: number;
  inSwapCache: boolean;
}

export interface BackendDescription {
  name: string;
  kind: string;
  store: string;
  address: string;
  priority: number;
  state: string;
  capacityPages: number;
  usedPages: number;
  storedBytes: number;
  reachable: boolean;
  epoch: string;
}

interface OwnerCounters {
  swapOuts: number;
  swapIns: number;
}

/** Throws the call's cancellation (CANCELLED or DEADLINE_EXCEEDED) once its caller has gone away. */
function checkCancelled(ctx: CallContext): void {
  const signal = ctx.signal;
  if (signal?.aborted)
    throw signal.reason instanceof VswapError
      ? signal.reason
      : new VswapError(Status.CANCELLED, 'the client cancelled the call');
  if (ctx.deadline !== undefined && Date.now() >= ctx.deadline)
    throw new VswapError(
      Status.DEADLINE_EXCEEDED,
      "the call's deadline passed before it was committed: nothing was applied",
    );
}

function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw new VswapError(r.error.code, r.error.message);
  return r.value;
}

export class Coordinator {
  readonly table = new SlotTable();
  readonly registry: BackendRegistry;
  readonly cache: SwapCache;
  readonly policies: OwnerPolicies;
  /** The only writer of slot backings and the journal. */
  private readonly slotStore: SlotStore;
  private readonly log: Logger;
  private readonly policy: TierPolicy;
  private readonly writes: WritePath;
  private readonly reads: ReadPath;
  /** Backend copies to delete, sent in batches. */
  private readonly deletes: DeleteQueue;
  private readonly reconciles = new Map<AttachedBackend, Promise<void>>();
  private writebackRunning: Promise<void> | undefined;
  /** No background writeback before this time (after rounds that did not shrink the pool). */
  private writebackCooldownUntil = 0;
  private readonly ownerCounters = new Map<string, OwnerCounters>();
  readonly counters = newCounters();
  private readonly writebackBatch: number;
  private closed = false;

  private constructor(options: CoordinatorOptions) {
    this.log = options.log;
    this.writebackBatch = options.writebackBatch ?? 64;
    this.cache = new SwapCache(this.table);
    this.reads = new ReadPath({
      table: this.table,
      cache: this.cache,
      backendOf: (id) => this.registry.byIdOf(id),
      counters: this.counters,
    });
    this.policies = new OwnerPolicies(options.dataDir);
    this.registry = new BackendRegistry({
      specs: options.backends,
      log: options.log,
      deadlineMs: options.backendDeadlineMs,
      pollMs: options.pollMs,
      connect: options.connect,
    });
    this.deletes = new DeleteQueue({
      registry: this.registry,
      log: options.log,
      onRetry: () => this.counters.backend_delete_retries++,
    });
    this.slotStore = new SlotStore({
      table: this.table,
      registry: this.registry,
      deletes: this.deletes,
      journal: {
        dir: options.dataDir,
        fsync: options.journalFsync,
        snapshotAfterBytes: options.snapshotAfterBytes,
        log: options.log,
      },
      log: options.log,
      onBackingChanged: (slot) => this.reads.backingChanged(slot),
    });
    this.counters.lost_pages += this.slotStore.lostAtReplay;
    this.policy = new TierPolicy({
      backends: this.registry,
      table: this.table,
      policies: this.policies,
      deletes: this.deletes,
      log: options.log,
      onZswapFull: () => this.kickWriteback(),
    });
    this.writes = new WritePath({
      table: this.table,
      cache: this.cache,
      store: this.slotStore,
      deletes: this.deletes,
      policy: this.policy,
    });
  }

  /** Replays the journal, reconciles with every reachable backend, starts polling. */
  static async start(options: CoordinatorOptions): Promise<Coordinator> {
    const c = new Coordinator(options);
    c.registry.onNeedsReconcile = (b) =>
      void c
        .reconcile(b)
        .catch((err: unknown) => c.log.warn({ backend: b.name, err: String(err) }, 'reconcile failed'));
    c.registry.onZswapOverThreshold = () => c.kickWriteback();
    await c.registry.pollOnce();
    await Promise.allSettled([...c.reconciles.values()]);
    c.registry.start();
    return c;
  }

  private ownerCountersOf(owner: string): OwnerCounters {
    let c = this.ownerCounters.get(owner);
    if (!c) this.ownerCounters.set(owner, (c = { swapOuts: 0, swapIns: 0 }));
    return c;
  }

  private checkSwapLimit(owner: string, more: number): void {
    const max = this.policies.get(owner).swapMaxPages;
    if (max > 0 && this.table.usedSlots(owner) + more > max) {
      throw resourceExhausted(
        `owner ${owner} is over its swap limit: ${this.table.usedSlots(owner)} of ${max} slots used, ${more} more asked`,
      );
    }
  }

  // ---- the API ----------------------------------------------------------------

  /**
   * Allocates slots and writes pages to them. A call whose caller is gone
   * (cancelled, deadline passed) before the commit point rolls back: the slots
   * are freed and the backend copies deleted, and it answers CANCELLED or
   * DEADLINE_EXCEEDED. After that point it is committed (issue 10, defect 6).
   */
  async swapOut(
    owner: string,
    pages: Buffer[],
    contiguous: boolean,
    ctx: CallContext = {},
  ): Promise<{ slots: number[]; tiers: TierName[] }> {
    checkOwner(owner);
    checkPages(pages);
    this.checkSwapLimit(owner, pages.length);
    this.slotStore.reserve(pages.length); // early: no backend work for a call the journal would refuse
    checkCancelled(ctx);
    const slots = unwrap(this.table.allocate(owner, pages.length, contiguous));
    for (const s of slots) this.slotStore.unacked.add(s);
    let tiers: TierName[];
    try {
      tiers = await this.writes.write(owner, slots, pages);
      // The commit point: a caller gone by now would never learn these ids.
      checkCancelled(ctx);
    } catch (err) {
      // Nobody knows these ids yet: give them back (releases follow any records written, in the same commit).
      const freed = this.table.free(owner, slots);
      if (freed.ok) for (const r of freed.value.released) this.slotStore.release(r);
      throw err;
    } finally {
      for (const s of slots) this.slotStore.unacked.delete(s);
    }
    await this.slotStore.commit();
    this.counters.swap_outs += pages.length;
    this.ownerCountersOf(owner).swapOuts += pages.length;
    return { slots, tiers };
  }

  /** Allocates empty slots; a caller already gone gets CANCELLED/DEADLINE_EXCEEDED and nothing is allocated. */
  async allocate(owner: string, count: number, contiguous: boolean, ctx: CallContext = {}): Promise<number[]> {
    checkOwner(owner);
    if (count === 0) throw invalidArgument('count is 0: allocate 1 to 512 slots');
    if (count > MAX_BATCH) throw invalidArgument(`count ${count} is more than ${MAX_BATCH}`);
    this.checkSwapLimit(owner, count);
    this.slotStore.reserve(count);
    checkCancelled(ctx);
    const slots = unwrap(this.table.allocate(owner, count, contiguous));
    this.slotStore.record(slots);
    await this.slotStore.commit();
    return slots;
  }

  async store(owner: string, slots: number[], pages: Buffer[]): Promise<TierName[]> {
    checkOwner(owner);
    checkBatchSize(slots.length, 'slots');
    if (slots.length !== pages.length)
      throw invalidArgument(`${slots.length} slots but ${pages.length} pages: one page per slot`);
    checkPages(pages);
    unwrap(this.table.check(owner, slots));
    this.slotStore.reserve(slots.length);
    const tiers = await this.writes.write(owner, slots, pages);
    await this.slotStore.commit();
    this.counters.swap_outs += pages.length;
    this.ownerCountersOf(owner).swapOuts += pages.length;
    return tiers;
  }

  async load(owner: string, slots: number[], release: boolean): Promise<{ pages: Buffer[]; counts: number[] }> {
    checkOwner(owner);
    checkBatchSize(slots.length, 'slots');
    checkDistinct(slots, 'slot');
    for (const s of slots) {
      unwrap(this.table.check(owner, [s]));
      const tier = this.table.tierOf(s);
      if (tier === TierCode.EMPTY && !this.cache.page(s))
        throw failedPrecondition(`slot ${s} holds no data (TIER_EMPTY)`);
      if (tier === TierCode.LOST && !this.cache.page(s))
        throw dataLoss(`slot ${s} lost its data: its backend restarted without it`);
    }
    for (const s of slots) this.cache.pin(s);
    let pages: Buffer[];
    let counts: number[];
    try {
      pages = await this.reads.read(slots);
      if (release) {
        this.slotStore.reserve(slots.length);
        const freed = unwrap(this.table.free(owner, slots));
        counts = freed.counts;
        for (const r of freed.released) this.slotStore.release(r);
        this.slotStore.record(slots);
      } else counts = slots.map((s) => this.table.countOf(s));
    } finally {
      for (const s of slots) this.slotStore.release(this.cache.unpin(s));
    }
    if (release) await this.slotStore.commit();
    this.counters.swap_ins += slots.length;
    this.ownerCountersOf(owner).swapIns += slots.length;
    return { pages, counts };
  }

  async duplicate(owner: string, slots: number[]): Promise<number[]> {
    checkOwner(owner);
    this.slotStore.reserve(slots.length);
    const counts = unwrap(this.table.duplicate(owner, slots));
    this.slotStore.record(slots);
    await this.slotStore.commit();
    return counts;
  }

  async free(owner: string, slots: number[]): Promise<number[]> {
    checkOwner(owner);
    this.slotStore.reserve(slots.length);
    const res = unwrap(this.table.free(owner, slots));
    for (const r of res.released) this.slotStore.release(r);
    this.slotStore.record(slots);
    await this.slotStore.commit();
    return res.counts;
  }

  inspect(owner: string, slots: number[]): SlotDescription[] {
    checkOwner(owner);
    unwrap(this.table.check(owner, slots));
    return slots.map((s) => this.describe(s));
  }

  describe(slot: number): SlotDescription {
    const t = this.table;
    const tier = t.tierOf(slot);
    const hasBackend = tier === TierCode.ZSWAP || tier === TierCode.SWAPFILE;
    return {
      slot,
      count: t.countOf(slot),
      tier: tierName(tier),
      backend: hasBackend ? this.registry.nameOf(t.backendOf(slot)) : '',
      owner: t.ownerOf(slot) ?? '',
      handle: hasBackend ? t.handleOf(slot) : 0,
      checksum: tier === TierCode.EMPTY || tier === TierCode.LOST ? 0 : t.checksumOf(slot),
      inSwapCache: this.cache.page(slot) !== undefined,
    };
  }

  // ---- writeback and migration --------------------------------------------------

  /**
   * Starts background writeback when zswap is over its threshold (once at a
   * time), like zswap's shrink worker: cold pages go down a tier until the
   * pool is below its accept threshold. If rounds stop shrinking the pool
   * (its memory is held by fragments, not pages), it gives up for a while
   * instead of writing back everything, as the kernel's worker gives up
   * after repeated failures.
   */
  kickWriteback(): void {
    if (this.writebackRunning || this.closed || Date.now() < this.writebackCooldownUntil) return;
    this.writebackRunning = (async () => {
      let lowest = Infinity;
      let stalled = 0;
      for (let round = 0; round < 10_000 && !this.closed; round++) {
        const zs = this.registry.zswap();
        if (!zs?.reachable || this.registry.swapfileOrder().length === 0) return;
        const info = await zs.client.info(2000);
        zs.info = info;
        if (!info.overThreshold) return;
        if (info.storedBytes < lowest) {
          lowest = info.storedBytes;
          stalled = 0;
        } else if (++stalled >= WRITEBACK_MAX_STALLED_ROUNDS) {
          this.counters.writeback_stalls++;
          this.writebackCooldownUntil = Date.now() + WRITEBACK_COOLDOWN_MS;
          this.log.warn(
            { poolBytes: info.storedBytes, limit: info.poolLimitBytes },
            'writeback does not shrink the zswap pool; pausing background writeback',
          );
          return;
        }
        const moved = await this.writeback(this.writebackBatch, '');
        if (moved === 0) return;
      }
    })()
      .catch((err: unknown) => this.log.warn({ err: String(err) }, 'background writeback failed'))
      .finally(() => (this.writebackRunning = undefined));
  }

  /**
   * Moves up to maxPages of zswap's coldest pages to the next tier down, as
   * zswap's shrinker does; slot ids stay, descriptors flip to TIER_SWAPFILE.
   */
  async writeback(maxPages: number, ownerFilter: string): Promise<number> {
    if (ownerFilter !== '') checkOwner(ownerFilter);
    const zs = this.registry.zswap();
    if (!zs || !zs.reachable) return 0;
    let written = 0;
    let idleRounds = 0;
    while (written < maxPages && idleRounds < 3) {
      if (this.registry.swapfileOrder(zs).length === 0) break;
      const want = Math.min(this.writebackBatch, maxPages - written, MAX_BATCH);
      const { entries } = await zs.client.coldest(want);
      if (entries.length === 0) break;
      const slots: number[] = [];
      const handles: number[] = [];
      const pages: Buffer[] = [];
      const skipped: number[] = [];
      for (const e of entries) {
        // The tag is the slot + 1; the checks below make a stale or missing tag harmless.
        const slot = e.tag > 0 ? e.tag - 1 : undefined;
        const eligible =
          slot !== undefined &&
          this.table.backendOf(slot) === zs.id &&
          this.table.handleOf(slot) === e.handle &&
          !this.cache.hasWriter(slot) &&
          (ownerFilter === '' || this.table.ownerOf(slot) === ownerFilter) &&
          this.policies.get(this.table.ownerOf(slot) ?? '').zswapWriteback;
        if (eligible) {
          slots.push(slot);
          handles.push(e.handle);
          pages.push(e.page);
        } else skipped.push(e.handle);
      }
      // Give skipped entries a second chance so the next Coldest moves on.
      if (skipped.length > 0) {
        this.counters.writeback_skipped += skipped.length;
        await zs.client.get(skipped, true).catch(() => undefined);
      }
      if (slots.length === 0) {
        idleRounds++;
        continue;
      }
      idleRounds = 0;
      written += await this.migrate(zs, slots, handles, pages, { allowZswap: false, reason: 'DELETE_WRITTEN_BACK' });
    }
    this.counters.written_back_pages += written;
    return written;
  }

  /**
   * Moves slots off `from`: verifies each page against its checksum, places
   * it by the policy (never back on `from`), and flips the descriptor if the
   * slot still points at the old copy (a Store meanwhile wins). The old copy
   * is deleted afterwards. Returns the pages moved.
   */
  private async migrate(
    from: AttachedBackend,
    candidates: number[],
    readFrom: number[],
    candidatePages: Buffer[],
    opts: { allowZswap: boolean; reason: DeleteReason },
  ): Promise<number> {
    // The pages were read before an await: keep only slots still backed by
    // the copy each page came from (a Store or another migration may have
    // won meanwhile), and never move a page that fails its checksum: such a
    // slot is lost (DATA_LOSS on Load, counted), not migrated.
    const slots: number[] = [];
    const old: number[] = [];
    const pages: Buffer[] = [];
    const lost: number[] = [];
    this.slotStore.reserve(candidates.length);
    for (let k = 0; k < candidates.length; k++) {
      const s = candidates[k]!;
      if (this.table.backendOf(s) !== from.id || this.table.handleOf(s) !== readFrom[k] || this.cache.hasWriter(s))
        continue;
      if (pageChecksum(candidatePages[k]!) !== this.table.checksumOf(s)) {
        this.counters.checksum_failures++;
        this.counters.lost_pages++;
        this.log.error({ slot: s, backend: from.name }, 'page failed its checksum during migration: marked lost');
        this.slotStore.markLost(s);
        this.deletes.add(from.id, readFrom[k]!, opts.reason);
        lost.push(s);
        continue;
      }
      slots.push(s);
      old.push(readFrom[k]!);
      pages.push(candidatePages[k]!);
    }
    if (slots.length === 0) {
      if (lost.length > 0) await this.slotStore.commit();
      return 0;
    }
    const tokens = slots.map((s, k) => this.cache.beginWrite(s, pages[k]!));
    let moved = 0;
    try {
      await this.policy.place(
        pages,
        slots.map((s) => this.table.ownerOf(s) ?? ''),
        slots,
        { allowZswap: opts.allowZswap, exclude: from },
        (placed) => {
          this.slotStore.reserve(slots.length);
          for (let k = 0; k < slots.length; k++) {
            const s = slots[k]!;
            const p = placed[k]!;
            const current =
              this.cache.isLatest(s, tokens[k]!) &&
              this.table.backendOf(s) === from.id &&
              this.table.handleOf(s) === old[k];
            if (!current) {
              this.deletes.add(p.backend.id, p.handle, 'DELETE_REPLACED');
              continue;
            }
            this.slotStore.setBacking(s, {
              tier: p.backend.kind === 'zswap' ? TierCode.ZSWAP : TierCode.SWAPFILE,
              backend: p.backend.id,
              handle: p.handle,
              checksum: this.table.checksumOf(s),
            });
            this.deletes.add(from.id, old[k]!, opts.reason);
            moved++;
          }
        },
      );
    } finally {
      for (let k = 0; k < slots.length; k++) this.slotStore.release(this.cache.endWrite(slots[k]!, tokens[k]!));
    }
    await this.slotStore.commit();
    this.counters.migrated_pages += moved;
    return moved;
  }

  /** Live slots with data on a backend (not LOST). */
  private slotsWithDataOn(b: AttachedBackend): number[] {
    return this.table.slotsOnBackend(b.id).filter((s) => {
      const t = this.table.tierOf(s);
      return (t === TierCode.ZSWAP || t === TierCode.SWAPFILE) && this.table.countOf(s) > 0;
    });
  }

  /**
   * Free room, in pages, on the backends other than `b` that could take its
   * pages, less what running swapoffs of other backends have counted on.
   */
  private roomElsewhere(b: AttachedBackend): number {
    let room = 0;
    let reserved = 0;
    for (const o of this.registry.all) {
      if (o === b) continue;
      reserved += o.reservedByDrain;
      if (!o.writable || !o.info) continue;
      if (o.kind === 'swapfile') room += Math.max(0, o.info.capacityPages - o.info.usedPages);
      else if (o.kind === 'zswap') {
        const limit = (o.info.poolLimitBytes * (o.info.acceptThresholdPercent || 100)) / 100;
        const perPage = o.info.usedPages > 0 ? Math.max(1, o.info.storedBytes / o.info.usedPages) : PAGE_SIZE;
        room += Math.max(0, Math.floor((limit - o.info.storedBytes) / perPage));
      }
    }
    return Math.max(0, room - reserved);
  }

  /**
   * Migrates every slot off a backend, reporting progress; the backend then
   * stays out of service ('off') until Swapon. Like the kernel's swapoff, an
   * interrupted drain (the caller went away, a backend failed) puts the
   * backend back in the state it had, keeps the pages already moved where
   * they are, and leaves nothing pinned. A Swapon during the drain wins: the
   * drain stops (ABORTED) and the backend stays in service.
   */
  async swapoff(
    name: string,
    progress: (moved: number, remaining: number) => Promise<void>,
    ctx: CallContext = {},
  ): Promise<number> {
    const b = this.registry.get(name);
    if (!b) throw failedPrecondition(`unknown backend "${name}"; ListBackends shows the configured ones`);
    if (b.state === 'off') return 0;
    if (b.state === 'draining') throw failedPrecondition(`swapoff ${name}: a swapoff of it is already running`);
    await this.registry.pollOnce();
    checkCancelled(ctx);
    if (b.state !== 'active') throw failedPrecondition(`swapoff ${name}: it is ${b.state} now`);
    const todo = this.slotsWithDataOn(b).length;
    if (todo > 0 && !b.reachable)
      throw unavailable(`backend ${name} cannot be reached: its ${todo} pages cannot be read now`);
    const room = this.roomElsewhere(b);
    if (todo > room)
      throw failedPrecondition(`swapoff ${name}: ${todo} pages to move but the other backends have room for ${room}`);
    const drain = b.startDrain();
    b.reservedByDrain = todo;
    this.log.info({ backend: name, pages: todo }, 'swapoff: draining');
    let moved = 0;
    try {
      for (let stuck = 0; ;) {
        checkCancelled(ctx);
        if (!drain.current())
          throw new VswapError(
            Status.ABORTED,
            `swapoff ${name}: a Swapon put it back in service after ${moved} pages moved`,
          );
        const slots = this.slotsWithDataOn(b);
        if (slots.length === 0) break;
        const batch = slots.filter((s) => !this.cache.hasWriter(s)).slice(0, this.writebackBatch);
        if (batch.length === 0) {
          if (++stuck > 200) throw unavailable(`swapoff ${name}: slots stay busy; try again`);
          await new Promise((r) => setTimeout(r, 10));
          continue;
        }
        const handles = batch.map((s) => this.table.handleOf(s));
        let res;
        try {
          res = await b.client.get(handles, false, b.knownEpoch);
        } catch (err) {
          // A slot may have been freed or re-stored meanwhile; only give up on a real failure.
          if (batch.some((s, k) => this.table.backendOf(s) !== b.id || this.table.handleOf(s) !== handles[k])) continue;
          throw isTransient(err) ? unavailable(`swapoff ${name}: backend cannot be reached`) : err;
        }
        const n = await this.migrate(b, batch, handles, res.pages, { allowZswap: true, reason: 'DELETE_MIGRATED' });
        moved += n;
        b.reservedByDrain = Math.max(0, todo - moved);
        await progress(moved, this.slotsWithDataOn(b).length);
      }
    } catch (err) {
      b.reservedByDrain = 0;
      if (drain.finish('restore'))
        this.log.warn(
          { backend: name, moved, err: String(err) },
          `swapoff: interrupted; backend back to ${drain.before}`,
        );
      throw err;
    }
    b.reservedByDrain = 0;
    if (!drain.finish('off'))
      throw new VswapError(
        Status.ABORTED,
        `swapoff ${name}: a Swapon put it back in service after ${moved} pages moved`,
      );
    this.log.info({ backend: name, moved }, 'swapoff: done, backend off');
    return moved;
  }

  swapon(name: string, priority: number): BackendDescription {
    const b = this.registry.get(name);
    if (!b) throw failedPrecondition(`unknown backend "${name}"; ListBackends shows the configured ones`);
    b.swapon(priority);
    return this.describeBackend(b);
  }

  // ---- reconcile ---------------------------------------------------------------

  /**
   * Tells a backend which handles the table references: handles it lost turn
   * TIER_LOST, handles nobody references are deleted by it. Writes to the
   * backend wait meanwhile.
   */
  reconcile(b: AttachedBackend): Promise<void> {
    let running = this.reconciles.get(b);
    if (running) return running;
    running = b
      .exclusive(async () => {
        const epoch = b.info?.epoch;
        const slots = this.slotsWithDataOn(b);
        const handles = slots.map((s) => this.table.handleOf(s));
        const res = await b.client.reconcile(handles);
        // The epoch the backend says it reconciled in wins over the Info read before.
        const reconciledIn = res.epoch ?? epoch;
        if (res.missing.length > 0) {
          const missing = new Set(res.missing);
          const lost: number[] = [];
          this.slotStore.reserve(res.missing.length);
          slots.forEach((s, k) => {
            if (missing.has(handles[k]!) && this.table.backendOf(s) === b.id) {
              this.slotStore.markLost(s);
              lost.push(s);
            }
          });
          await this.slotStore.commit();
          this.counters.lost_pages += lost.length;
          this.log.warn(
            { backend: b.name, lost: lost.length },
            'reconcile: backend lost pages; they read as DATA_LOSS',
          );
        }
        this.counters.reconciles++;
        this.counters.orphans_deleted += res.deleted;
        b.reconciledEpoch = reconciledIn;
        b.knownEpoch = reconciledIn ?? '';
        this.log.info(
          {
            backend: b.name,
            epoch: reconciledIn,
            referenced: handles.length,
            missing: res.missing.length,
            deleted: res.deleted,
          },
          'reconciled',
        );
      })
      .finally(() => this.reconciles.delete(b));
    this.reconciles.set(b, running);
    return running;
  }

  // ---- reporting -------------------------------------------------------------------

  describeBackend(b: AttachedBackend): BackendDescription {
    return {
      name: b.name,
      kind: b.kind ?? '',
      store: b.store,
      address: b.address,
      priority: b.priority,
      state: b.state,
      capacityPages: b.info?.capacityPages ?? 0,
      usedPages: b.info?.usedPages ?? 0,
      storedBytes: b.info?.storedBytes ?? 0,
      reachable: b.reachable,
      epoch: b.info?.epoch ?? '',
    };
  }

  async listBackends(): Promise<BackendDescription[]> {
    await this.registry.pollOnce();
    return this.registry.all.map((b) => this.describeBackend(b));
  }

  private tierCounters(owner?: string): { name: string; value: number }[] {
    const by = this.table.pagesByTier(owner);
    return TIER_NAMES.slice(1).map((name, i) => ({ name, value: by[i + 1] ?? 0 }));
  }

  async stats(ownerFilter: string): Promise<{
    usedSlots: number;
    pagesByTier: { name: string; value: number }[];
    swapOuts: number;
    swapIns: number;
    slotTableBytes: number;
    maxSwapCount: number;
    zswap: { name: string; value: number }[];
    owners: {
      owner: string;
      usedSlots: number;
      pagesByTier: { name: string; value: number }[];
      swapOuts: number;
      swapIns: number;
      policy: OwnerPolicy & { owner: string };
    }[];
    counters: { name: string; value: number }[];
    journal: JournalStats;
  }> {
    if (ownerFilter !== '') checkOwner(ownerFilter);
    const owner = ownerFilter === '' ? undefined : ownerFilter;
    let zswap: { name: string; value: number }[] = [];
    const zs = this.registry.zswap();
    if (zs?.reachable) {
      try {
        zswap = (await zs.client.stats()).counters.map((c) => ({ name: c.name, value: c.value }));
      } catch {
        zswap = [];
      }
    }
    const owners = (owner ? [owner] : this.table.owners()).map((o) => {
      const c = this.ownerCounters.get(o) ?? { swapOuts: 0, swapIns: 0 };
      return {
        owner: o,
        usedSlots: this.table.usedSlots(o),
        pagesByTier: this.tierCounters(o),
        swapOuts: c.swapOuts,
        swapIns: c.swapIns,
        policy: { owner: o, ...this.policies.get(o) },
      };
    });
    const oc = owner ? this.ownerCounters.get(owner) : undefined;
    return {
      usedSlots: this.table.usedSlots(owner),
      pagesByTier: this.tierCounters(owner),
      swapOuts: owner ? (oc?.swapOuts ?? 0) : this.counters.swap_outs,
      swapIns: owner ? (oc?.swapIns ?? 0) : this.counters.swap_ins,
      slotTableBytes: this.table.memoryBytes(),
      maxSwapCount: this.table.maxSwapCount,
      zswap,
      owners,
      counters: [
        ...Object.entries(this.counters).map(([name, value]) => ({ name, value })),
        { name: 'swap_cache_pages', value: this.cache.size },
        { name: 'journal_commits', value: this.slotStore.stats.commits },
        { name: 'journal_fsyncs', value: this.slotStore.stats.fsyncs },
        { name: 'journal_snapshots', value: this.slotStore.stats.snapshots },
      ],
      journal: { ...this.slotStore.stats },
    };
  }

  /** What the metrics endpoint reads on a scrape: no backend call, no copy of the table. */
  metricsView(): {
    journal: Readonly<JournalStats>;
    ownerCounters: ReadonlyMap<string, Readonly<OwnerCounters>>;
    swapCachePages: number;
  } {
    return { journal: this.slotStore.stats, ownerCounters: this.ownerCounters, swapCachePages: this.cache.size };
  }

  /** Replies once the new policy is on disk (policies.json, written atomically). */
  async setOwnerPolicy(owner: string, update: boolean, policy: OwnerPolicy): Promise<OwnerPolicy> {
    checkOwner(owner);
    if (update) await this.policies.set(owner, policy);
    return { ...DEFAULT_POLICY, ...this.policies.get(owner) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writebackRunning;
    await this.deletes.settled();
    this.deletes.close();
    this.slotStore.close();
    this.registry.close();
  }
}
