/**
 * The workload driver: simulated processes under a memory limit, swapping
 * through a coordinator with the SDK the way the kernel's reclaim and page
 * faults would. Every page read back is checked against the checksum of what
 * was written; corruptions and errors are counted, never hidden. The fault
 * harness drives it as a library: run(), verifyAll(), liveReferences(), drain().
 *
 * Accounting rule for references: after a request that failed with a code
 * that means "nothing changed" (validation codes, UNAVAILABLE, DATA_LOSS,
 * RESOURCE_EXHAUSTED) we still hold what we held. After an ambiguous failure
 * (DEADLINE_EXCEEDED, CANCELLED, UNKNOWN, INTERNAL, ABORTED) the request may
 * or may not have happened: the slots involved move to an "uncertain" list,
 * out of liveReferences(), and drain() settles them with Inspect once every
 * other reference is gone.
 */
import { status as Status } from '@grpc/grpc-js';
import { pageChecksum } from '../../services/common/checksum';
import { MAX_BATCH, PAGE_SIZE } from '../../services/common/limits';
import type { VswapClient } from '../sdk/client';
import { VswapClientError } from '../sdk/errors';
import { AccessPatternFactory } from './access-pattern';
import { LatencyRecorder, type LatencySummary } from './latency';
import {
  type ResolvedWorkloadOptions,
  type WorkloadOptions,
  type WorkloadProgress,
  resolveWorkloadOptions,
} from './options';
import { PageGenerator } from './page-generator';
import { Rng, mix32 } from './prng';
import { PAGE_RESIDENT, PAGE_SWAPPED, PAGE_UNTOUCHED, SimulatedProcess } from './simulated-process';

export type WorkloadOp = 'swapOut' | 'load' | 'duplicate' | 'free' | 'inspect';

/** A page that came back wrong, or whose data the cluster lost. */
export interface PageProblem {
  kind: 'corruption' | 'data-loss' | 'missing';
  /** Where it was seen: a fault-in during run(), verifyAll(), or drain(). */
  during: 'run' | 'verify' | 'drain';
  owner: string;
  pid: number;
  page: number;
  slot: number;
  /** CRC-32 of what was written. */
  expectedChecksum?: number;
  /** CRC-32 of what came back (corruption only). */
  actualChecksum?: number;
  /** gRPC code name (data-loss, missing). */
  code?: string;
  message?: string;
}

export interface WorkloadReport {
  elapsedMs: number;
  /** Process steps run (bursts of accesses, forks, exits). */
  steps: number;
  /** Calls by operation (including failed ones). */
  operations: Record<WorkloadOp, number>;
  pagesOut: number;
  pagesIn: number;
  /** (pagesOut + pagesIn) per second. */
  pagesPerSecond: number;
  /** Page accesses that hit a resident page, faulted, or touched a page for the first time. */
  accesses: { hits: number; faults: number; firstTouches: number };
  /** Failed calls by gRPC code name, e.g. { UNAVAILABLE: 3 }. */
  errors: Record<string, number>;
  /** Failed calls by operation, then code. */
  errorsByOp: Record<string, Record<string, number>>;
  /** Pages read back whose checksum did not match what was written. Must be 0. */
  corruptions: number;
  /** Pages the cluster answered DATA_LOSS for (the process starts them afresh). */
  lostPages: number;
  /**
   * Pages whose slot the cluster no longer knew or gave to another owner (NOT_FOUND, PERMISSION_DENIED,
   * FAILED_PRECONDITION on Load).
   */
  missingPages: number;
  /** Up to maxDetails corruptions / lost / missing pages, with their slots. */
  problems: PageProblem[];
  /** Pages of swap-outs that failed ambiguously: the cluster may hold slots nobody will free. */
  ambiguousSwapOutPages: number;
  processes: { started: number; forks: number; failedForks: number; exits: number; live: number };
  /** Slots and references held at the end of the run. */
  liveSlots: number;
  liveReferences: number;
  uncertainSlots: number;
  latency: Record<string, LatencySummary>;
}

export interface VerifyReport {
  /** Pages read back and compared. */
  pages: number;
  corruptions: number;
  /** Pages not verified because their Load failed, by code. */
  errors: Record<string, number>;
  problems: PageProblem[];
}

export interface DrainReport {
  /** References dropped with Free. */
  freed: number;
  /** Uncertain slots settled (freed or found gone). */
  settled: number;
  /** References still held because Free kept failing (retry drain() later). */
  remaining: number;
  errors: Record<string, number>;
}

const AMBIGUOUS = new Set<number>([
  Status.DEADLINE_EXCEEDED,
  Status.CANCELLED,
  Status.UNKNOWN,
  Status.INTERNAL,
  Status.ABORTED,
]);
/** Load codes that mean the slot itself is wrong, not the moment: isolate it. */
const SLOT_CODES = new Set<number>([
  Status.DATA_LOSS,
  Status.NOT_FOUND,
  Status.PERMISSION_DENIED,
  Status.FAILED_PRECONDITION,
]);

function asClientError(err: unknown): VswapClientError {
  return VswapClientError.from(err);
}

/**
 * Splits slots into requests of at most `max` distinct slots: a slot held
 * twice (a parent and its child) goes into two requests, since a request
 * may name a slot only once.
 */
export function distinctChunks(slots: readonly number[], max: number): number[][] {
  const chunks: number[][] = [];
  const members: Set<number>[] = [];
  const firstOpen = new Map<number, number>(); // slot -> first chunk index it may join
  let open = 0; // chunks before this one are full
  for (const slot of slots) {
    let i = Math.max(firstOpen.get(slot) ?? 0, open);
    while (i < chunks.length && (chunks[i]!.length >= max || members[i]!.has(slot))) i++;
    if (i === chunks.length) {
      chunks.push([]);
      members.push(new Set());
    }
    chunks[i]!.push(slot);
    members[i]!.add(slot);
    firstOpen.set(slot, i + 1);
    while (open < chunks.length && chunks[open]!.length >= max) open++;
  }
  return chunks;
}

interface SlotRef {
  owner: string;
  slot: number;
}

export class Workload {
  /** UNAVAILABLE answers so far, and the current back-off after one (ms). */
  private unavailable = 0;
  private backoffMs = 0;
  readonly options: ResolvedWorkloadOptions;
  private readonly generator: PageGenerator;
  private readonly patterns: AccessPatternFactory;
  private readonly latency = new LatencyRecorder();
  private readonly processes = new Map<number, SimulatedProcess>();
  private readonly idle: SimulatedProcess[] = [];
  private waiters: (() => void)[] = [];
  /** References we hold but could not free yet (Free failed with a definitive code). */
  private pendingFrees: SlotRef[] = [];
  /** References that may or may not exist (an ambiguous failure). */
  private uncertain: SlotRef[] = [];
  private readonly ownersSeen = new Set<string>();
  private nextPid = 1;
  private running = false;
  private stopping = false;
  private rng: Rng;
  private c = Workload.emptyCounters();

  constructor(
    private readonly client: VswapClient,
    options: WorkloadOptions = {},
  ) {
    this.options = resolveWorkloadOptions(options);
    this.generator = new PageGenerator(this.options.seed, this.options.pageMix);
    this.patterns = new AccessPatternFactory(this.options.pattern, this.options.zipfExponent);
    this.rng = new Rng(mix32(this.options.seed, 0x776b6c64));
  }

  private static emptyCounters() {
    return {
      steps: 0,
      operations: { swapOut: 0, load: 0, duplicate: 0, free: 0, inspect: 0 } as Record<WorkloadOp, number>,
      pagesOut: 0,
      pagesIn: 0,
      hits: 0,
      faults: 0,
      firstTouches: 0,
      errors: {} as Record<string, number>,
      errorsByOp: {} as Record<string, Record<string, number>>,
      corruptions: 0,
      lostPages: 0,
      missingPages: 0,
      problems: [] as PageProblem[],
      ambiguousSwapOutPages: 0,
      started: 0,
      forks: 0,
      failedForks: 0,
      exits: 0,
    };
  }

  /** Owners this workload has used (for checkers comparing swap counts). */
  owners(): string[] {
    return [...this.ownersSeen].sort();
  }

  /**
   * References this workload holds, per slot, for one owner (or all owners
   * when omitted): what Inspect's `count` should show for every slot of an
   * owner used only by this workload. Exact when run() is not in progress.
   */
  liveReferences(owner?: string): Map<number, number> {
    const refs = new Map<number, number>();
    const add = (o: string, slot: number) => {
      if (owner === undefined || o === owner) refs.set(slot, (refs.get(slot) ?? 0) + 1);
    };
    for (const p of this.processes.values()) {
      if (owner !== undefined && p.owner !== owner) continue;
      for (let page = 0; page < p.pages; page++) if (p.state[page] === PAGE_SWAPPED) add(p.owner, p.slot[page]!);
    }
    for (const r of this.pendingFrees) add(r.owner, r.slot);
    return refs;
  }

  /** Slots whose reference may or may not exist after an ambiguous failure (settled by drain()). */
  uncertainSlots(): readonly SlotRef[] {
    return this.uncertain;
  }

  get liveProcesses(): number {
    return this.processes.size;
  }

  /**
   * Runs until the duration or operation budget is spent or the signal
   * aborts; steps in flight finish first. State (processes, their swapped
   * pages) carries over to the next run(), verifyAll() and drain(). The
   * report counts this run only.
   */
  async run(signal?: AbortSignal): Promise<WorkloadReport> {
    if (this.running) throw new Error('the workload is already running');
    this.running = true;
    this.stopping = false;
    this.c = Workload.emptyCounters();
    this.latency.reset();
    const o = this.options;
    const start = Date.now();
    const deadline = o.durationMs === undefined ? Infinity : start + o.durationMs;
    const stop = () => {
      this.stopping = true;
      for (const w of this.waiters.splice(0)) w();
    };
    const onAbort = () => stop();
    signal?.addEventListener('abort', onAbort);
    const timer = o.durationMs === undefined ? undefined : setTimeout(stop, o.durationMs);
    timer?.unref();
    const progress = o.onProgress
      ? setInterval(() => o.onProgress?.(this.progress(start, deadline)), o.progressIntervalMs)
      : undefined;
    progress?.unref();
    try {
      while (this.processes.size < o.processes) this.spawn();
      const shouldStop = () =>
        this.stopping ||
        signal?.aborted === true ||
        (o.operations !== undefined && this.c.steps >= o.operations) ||
        Date.now() >= deadline;
      const worker = async () => {
        for (;;) {
          if (shouldStop()) return;
          const proc = await this.acquire();
          if (!proc) return;
          if (shouldStop()) {
            this.releaseProcess(proc);
            return;
          }
          this.c.steps++;
          const errorsBefore = this.unavailable;
          try {
            await this.step(proc);
          } finally {
            this.releaseProcess(proc);
          }
          // The cluster cannot be reached: back off (like a client would) instead of spinning.
          if (this.unavailable > errorsBefore) {
            this.backoffMs = Math.min(Math.max(this.backoffMs * 2, 10), 500);
            await new Promise((r) => setTimeout(r, this.backoffMs));
          } else this.backoffMs = 0;
        }
      };
      await Promise.all(Array.from({ length: o.concurrency }, worker));
    } finally {
      if (timer) clearTimeout(timer);
      if (progress) clearInterval(progress);
      signal?.removeEventListener('abort', onAbort);
      this.running = false;
      stop();
    }
    o.onProgress?.({ ...this.progress(start, deadline), fraction: 1 });
    return this.report(Date.now() - start);
  }

  private progress(start: number, deadline: number): WorkloadProgress {
    const now = Date.now();
    const o = this.options;
    const byTime = deadline === Infinity ? 0 : (now - start) / (deadline - start);
    const byOps = o.operations === undefined ? 0 : this.c.steps / o.operations;
    return {
      elapsedMs: now - start,
      fraction: Math.min(1, Math.max(byTime, byOps)),
      steps: this.c.steps,
      pagesOut: this.c.pagesOut,
      pagesIn: this.c.pagesIn,
      errors: Object.values(this.c.errors).reduce((a, b) => a + b, 0),
      corruptions: this.c.corruptions,
      liveProcesses: this.processes.size,
    };
  }

  private report(elapsedMs: number): WorkloadReport {
    const c = this.c;
    let liveReferences = 0;
    const refs = this.liveReferences();
    for (const n of refs.values()) liveReferences += n;
    return {
      elapsedMs,
      steps: c.steps,
      operations: { ...c.operations },
      pagesOut: c.pagesOut,
      pagesIn: c.pagesIn,
      pagesPerSecond: elapsedMs > 0 ? Math.round(((c.pagesOut + c.pagesIn) * 1000) / elapsedMs) : 0,
      accesses: { hits: c.hits, faults: c.faults, firstTouches: c.firstTouches },
      errors: { ...c.errors },
      errorsByOp: structuredClone(c.errorsByOp),
      corruptions: c.corruptions,
      lostPages: c.lostPages,
      missingPages: c.missingPages,
      problems: [...c.problems],
      ambiguousSwapOutPages: c.ambiguousSwapOutPages,
      processes: {
        started: c.started,
        forks: c.forks,
        failedForks: c.failedForks,
        exits: c.exits,
        live: this.processes.size,
      },
      liveSlots: refs.size,
      liveReferences,
      uncertainSlots: this.uncertain.length,
      latency: this.latency.summary(),
    };
  }

  // ---- scheduling: one step at a time per process ------------------------

  private spawn(): SimulatedProcess {
    const pid = this.nextPid++;
    const owner = this.options.owners === 'shared' ? this.options.ownerPrefix : `${this.options.ownerPrefix}-${pid}`;
    const rng = new Rng(mix32(this.options.seed, pid));
    const p = new SimulatedProcess(
      pid,
      pid,
      owner,
      this.options.pagesPerProcess,
      rng,
      this.patterns.create(this.options.pagesPerProcess, rng),
    );
    this.adopt(p);
    this.c.started++;
    return p;
  }

  private adopt(p: SimulatedProcess): void {
    this.ownersSeen.add(p.owner);
    this.processes.set(p.pid, p);
    this.idle.push(p);
    this.waiters.shift()?.();
  }

  /** A random idle process, waiting for one if all are busy; undefined once stopping. */
  private async acquire(): Promise<SimulatedProcess | undefined> {
    for (;;) {
      if (this.stopping) return undefined;
      if (this.idle.length > 0) {
        const i = this.rng.int(this.idle.length);
        const p = this.idle[i]!;
        this.idle[i] = this.idle[this.idle.length - 1]!;
        this.idle.pop();
        return p;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private releaseProcess(p: SimulatedProcess): void {
    if (!p.alive) return;
    this.idle.push(p);
    this.waiters.shift()?.();
  }

  private async step(p: SimulatedProcess): Promise<void> {
    const o = this.options;
    const r = p.rng.float();
    if (r < o.forkRate) {
      if (this.processes.size < o.maxProcesses) await this.fork(p);
      else await this.access(p);
    } else if (r < o.forkRate + o.exitRate) {
      await this.exit(p);
      if (this.processes.size < o.processes) this.spawn();
    } else {
      await this.access(p);
    }
  }

  // ---- the memory model ------------------------------------------------------

  /** A burst of page accesses; pages over the limit are swapped out, faults loaded in one call. */
  private async access(p: SimulatedProcess): Promise<void> {
    const o = this.options;
    const faults: number[] = [];
    for (let i = 0; i < o.accessesPerStep; i++) {
      const page = p.pattern.next(p.rng);
      const s = p.state[page];
      if (s === PAGE_RESIDENT) {
        p.lru.touch(page);
        this.c.hits++;
      } else if (s === PAGE_UNTOUCHED) {
        p.markResident(page);
        this.c.firstTouches++;
      } else if (faults.length < o.batchPages && !faults.includes(page)) {
        faults.push(page);
        this.c.faults++;
      }
    }
    // Reclaim first, so that the faulted pages fit under the limit.
    const over = p.resident + faults.length - o.memoryLimitPages;
    if (over > 0) await this.evict(p, over);
    if (faults.length > 0) await this.faultIn(p, faults);
  }

  /** Swaps out the `n` least recently used resident pages, in batches. */
  private async evict(p: SimulatedProcess, n: number): Promise<void> {
    const o = this.options;
    while (n > 0 && p.resident > 0) {
      const k = Math.min(n, o.batchPages, p.resident);
      const pages: number[] = [];
      for (let i = 0; i < k; i++) pages.push(p.lru.popLeastRecent());
      // One allocation per batch; each page is a view of it.
      const arena = Buffer.allocUnsafe(k * PAGE_SIZE);
      const bufs: Buffer[] = [];
      const sums = new Uint32Array(k);
      for (let i = 0; i < k; i++) {
        const page = pages[i]!;
        const b = arena.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE);
        this.generator.fill(b, p.family, p.pid, page, p.generation[page]! + 1);
        sums[i] = pageChecksum(b);
        bufs.push(b);
      }
      const t0 = process.hrtime.bigint();
      this.c.operations.swapOut++;
      try {
        const { slots } = await this.client.swapOut(p.owner, bufs);
        this.latency.record('swapOut', t0);
        for (let i = 0; i < k; i++) {
          const page = pages[i]!;
          p.markSwapped(page, slots[i]!, p.generation[page]! + 1, sums[i]!);
        }
        this.c.pagesOut += k;
        n -= k;
      } catch (err) {
        const e = this.countError('swapOut', err);
        // The pages stay in memory (over the limit until a later step succeeds).
        for (let i = k - 1; i >= 0; i--) p.lru.insertLeastRecent(pages[i]!);
        if (AMBIGUOUS.has(e.code)) this.c.ambiguousSwapOutPages += k;
        return;
      }
    }
  }

  /** Loads faulted pages with release (a swap-in), verifying each against its checksum. */
  private async faultIn(p: SimulatedProcess, pages: number[]): Promise<void> {
    const slots = pages.map((pg) => p.slot[pg]!);
    const t0 = process.hrtime.bigint();
    this.c.operations.load++;
    try {
      const data = await this.client.load(p.owner, slots, { release: true });
      this.latency.record('load', t0);
      for (let i = 0; i < pages.length; i++) this.arrive(p, pages[i]!, data[i]!, 'run');
      return;
    } catch (err) {
      const e = this.countError('load', err);
      if (AMBIGUOUS.has(e.code)) {
        for (const page of pages) this.abandon(p, page);
        return;
      }
      if (!SLOT_CODES.has(e.code) || pages.length === 1) {
        if (SLOT_CODES.has(e.code)) await this.slotProblem(p, pages[0]!, e);
        return; // UNAVAILABLE, RESOURCE_EXHAUSTED: still swapped, retried on a later access.
      }
    }
    // One slot spoiled the batch: isolate it, page by page.
    for (const page of pages) {
      const slot = p.slot[page]!;
      const t1 = process.hrtime.bigint();
      this.c.operations.load++;
      try {
        const [data] = await this.client.load(p.owner, [slot], { release: true });
        this.latency.record('load', t1);
        this.arrive(p, page, data!, 'run');
      } catch (err) {
        const e = this.countError('load', err);
        if (AMBIGUOUS.has(e.code)) this.abandon(p, page);
        else if (SLOT_CODES.has(e.code)) await this.slotProblem(p, page, e);
      }
    }
  }

  /** A page came back: check it and map it. */
  private arrive(p: SimulatedProcess, page: number, data: Buffer, during: PageProblem['during']): void {
    const expected = p.checksum[page]!;
    const actual = data.length === PAGE_SIZE ? pageChecksum(data) : ~expected >>> 0;
    if (actual !== expected) {
      this.c.corruptions++;
      this.addProblem({
        kind: 'corruption',
        during,
        owner: p.owner,
        pid: p.pid,
        page,
        slot: p.slot[page]!,
        expectedChecksum: expected,
        actualChecksum: actual,
      });
    }
    this.c.pagesIn++;
    p.markResident(page);
  }

  /**
   * A Load said the slot itself is bad. DATA_LOSS: the page is gone, but the
   * slot (TIER_LOST) still holds our reference: free it. NOT_FOUND and the
   * like: the cluster no longer counts our reference: forget it.
   */
  private async slotProblem(p: SimulatedProcess, page: number, e: VswapClientError): Promise<void> {
    const slot = p.slot[page]!;
    const lost = e.code === Status.DATA_LOSS;
    if (lost) this.c.lostPages++;
    else this.c.missingPages++;
    this.addProblem({
      kind: lost ? 'data-loss' : 'missing',
      during: 'run',
      owner: p.owner,
      pid: p.pid,
      page,
      slot,
      expectedChecksum: p.checksum[page]!,
      code: e.codeName,
      message: e.message,
    });
    p.markUntouched(page);
    if (lost) await this.freeRefs([{ owner: p.owner, slot }]);
  }

  /** An ambiguous Load: the reference may be gone; the page's contents are given up. */
  private abandon(p: SimulatedProcess, page: number): void {
    this.uncertain.push({ owner: p.owner, slot: p.slot[page]! });
    p.markUntouched(page);
  }

  // ---- fork and exit -----------------------------------------------------------

  /** fork(): the child gets the parent's resident pages and a reference to each of its swapped slots. */
  private async fork(parent: SimulatedProcess): Promise<void> {
    const slots = parent.swappedSlots();
    const done: number[] = [];
    for (let i = 0; i < slots.length; i += MAX_BATCH) {
      const chunk = slots.slice(i, i + MAX_BATCH);
      const t0 = process.hrtime.bigint();
      this.c.operations.duplicate++;
      try {
        await this.client.duplicate(parent.owner, chunk);
        this.latency.record('duplicate', t0);
        done.push(...chunk);
      } catch (err) {
        const e = this.countError('duplicate', err);
        this.c.failedForks++;
        // The fork fails as a whole: take back the references already added.
        if (AMBIGUOUS.has(e.code)) for (const slot of chunk) this.uncertain.push({ owner: parent.owner, slot });
        await this.freeRefs(done.map((slot) => ({ owner: parent.owner, slot })));
        return;
      }
    }
    const pid = this.nextPid++;
    const rng = new Rng(mix32(this.options.seed, pid));
    const child = parent.fork(pid, rng, this.patterns.create(parent.pages, rng));
    this.c.forks++;
    this.adopt(child);
  }

  /** exit(): frees every swapped slot (one reference each). */
  private async exit(p: SimulatedProcess): Promise<void> {
    p.alive = false;
    this.processes.delete(p.pid);
    this.c.exits++;
    const refs = p.swappedSlots().map((slot) => ({ owner: p.owner, slot }));
    await this.freeRefs(refs);
  }

  /**
   * Drops one reference from each slot, in batches. A batch that fails with
   * a code that changed nothing is retried slot by slot; slots still failing
   * with UNAVAILABLE or RESOURCE_EXHAUSTED wait in pendingFrees for drain().
   * Returns the number freed.
   */
  private async freeRefs(refs: SlotRef[], during: PageProblem['during'] = 'run'): Promise<number> {
    const byOwner = new Map<string, number[]>();
    for (const r of refs) {
      let l = byOwner.get(r.owner);
      if (!l) byOwner.set(r.owner, (l = []));
      l.push(r.slot);
    }
    let freed = 0;
    for (const [owner, slots] of byOwner) {
      for (const chunk of distinctChunks(slots, MAX_BATCH)) {
        const e = await this.freeChunk(owner, chunk);
        if (!e) {
          freed += chunk.length;
          continue;
        }
        if (AMBIGUOUS.has(e.code)) {
          for (const slot of chunk) this.uncertain.push({ owner, slot });
          continue;
        }
        for (const slot of chunk) {
          const e1 = chunk.length === 1 ? e : await this.freeChunk(owner, [slot]);
          if (!e1) freed++;
          else if (AMBIGUOUS.has(e1.code)) this.uncertain.push({ owner, slot });
          else if (
            e1.code === Status.UNAVAILABLE ||
            e1.code === Status.RESOURCE_EXHAUSTED ||
            e1.code === Status.INTERNAL
          )
            this.pendingFrees.push({ owner, slot });
          else {
            // NOT_FOUND / PERMISSION_DENIED: the cluster lost count of our reference.
            this.c.missingPages++;
            this.addProblem({
              kind: 'missing',
              during,
              owner,
              pid: 0,
              page: -1,
              slot,
              code: e1.codeName,
              message: e1.message,
            });
          }
        }
      }
    }
    return freed;
  }

  private async freeChunk(owner: string, slots: number[]): Promise<VswapClientError | undefined> {
    if (slots.length === 0) return undefined;
    const t0 = process.hrtime.bigint();
    this.c.operations.free++;
    try {
      await this.client.free(owner, slots);
      this.latency.record('free', t0);
      return undefined;
    } catch (err) {
      return this.countError('free', err);
    }
  }

  private countError(op: WorkloadOp, err: unknown): VswapClientError {
    const e = asClientError(err);
    if (e.code === Status.UNAVAILABLE) this.unavailable++;
    this.c.errors[e.codeName] = (this.c.errors[e.codeName] ?? 0) + 1;
    const byOp = (this.c.errorsByOp[op] ??= {});
    byOp[e.codeName] = (byOp[e.codeName] ?? 0) + 1;
    return e;
  }

  private addProblem(p: PageProblem): void {
    if (this.c.problems.length < this.options.maxDetails) this.c.problems.push(p);
  }

  // ---- verify and drain --------------------------------------------------------

  /**
   * Reads back every swapped page (Load without release, 512 per call,
   * `concurrency` calls in flight) and compares it with what was written.
   * Changes nothing. Not while run() is in progress.
   */
  async verifyAll(): Promise<VerifyReport> {
    if (this.running) throw new Error('verifyAll() while the workload runs');
    const report: VerifyReport = { pages: 0, corruptions: 0, errors: {}, problems: [] };
    const jobs: { p: SimulatedProcess; pages: number[] }[] = [];
    for (const p of this.processes.values()) {
      const pages = p.swappedPages();
      for (let i = 0; i < pages.length; i += MAX_BATCH) jobs.push({ p, pages: pages.slice(i, i + MAX_BATCH) });
    }
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const { p, pages } = jobs[next++]!;
        const slots = pages.map((pg) => p.slot[pg]!);
        const t0 = process.hrtime.bigint();
        try {
          const data = await this.client.load(p.owner, slots);
          this.latency.record('load', t0);
          pages.forEach((page, i) => {
            report.pages++;
            const actual = pageChecksum(data[i]!);
            if (actual !== p.checksum[page]) {
              report.corruptions++;
              if (report.problems.length < this.options.maxDetails)
                report.problems.push({
                  kind: 'corruption',
                  during: 'verify',
                  owner: p.owner,
                  pid: p.pid,
                  page,
                  slot: slots[i]!,
                  expectedChecksum: p.checksum[page]!,
                  actualChecksum: actual,
                });
            }
          });
        } catch (err) {
          const e = asClientError(err);
          report.errors[e.codeName] = (report.errors[e.codeName] ?? 0) + pages.length;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, Math.max(jobs.length, 1)) }, worker));
    return report;
  }

  /**
   * Every process exits (frees its swapped slots), pending frees are retried,
   * and uncertain slots are settled: once we hold nothing else, a slot of
   * ours that still exists can only be a reference we lost track of, so it is
   * freed down to 0. Assumes the workload's owners are used by nobody else.
   * Does not throw on cluster errors: `remaining` says what is still held.
   */
  async drain(): Promise<DrainReport> {
    if (this.running) throw new Error('drain() while the workload runs');
    const before = { ...this.c.errors };
    let freed = 0;
    const exiting = [...this.processes.values()];
    this.idle.length = 0;
    const refs: SlotRef[] = [];
    for (const p of exiting) {
      p.alive = false;
      this.processes.delete(p.pid);
      for (const slot of p.swappedSlots()) refs.push({ owner: p.owner, slot });
    }
    freed += await this.freeRefs(refs, 'drain');
    for (let attempt = 0; attempt < 3 && this.pendingFrees.length > 0; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 200 * attempt));
      const pending = this.pendingFrees;
      this.pendingFrees = [];
      freed += await this.freeRefs(pending, 'drain');
    }
    let settled = 0;
    const uncertain = this.uncertain;
    this.uncertain = [];
    const seen = new Set<string>();
    for (const r of uncertain) {
      const key = `${r.owner}\0${r.slot}`;
      if (seen.has(key)) continue;
      seen.add(key);
      this.c.operations.inspect++;
      try {
        const [info] = await this.client.inspect(r.owner, [r.slot]);
        for (let n = info?.count ?? 0; n > 0; n--) {
          const e = await this.freeChunk(r.owner, [r.slot]);
          if (e) throw e;
          freed++;
        }
        settled++;
      } catch (err) {
        const e = asClientError(err);
        if (e.code === Status.NOT_FOUND || e.code === Status.PERMISSION_DENIED) settled++;
        else this.uncertain.push(r);
      }
    }
    const errors: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.c.errors)) if (v - (before[k] ?? 0) > 0) errors[k] = v - (before[k] ?? 0);
    return { freed, settled, remaining: this.pendingFrees.length + this.uncertain.length, errors };
  }
}
