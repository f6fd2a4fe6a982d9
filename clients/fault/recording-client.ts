/**
 * The SDK client the fault harness hands to the workload. It adds what a
 * checker needs and a plain client cannot know:
 *
 * - an oracle: the checksum of the last page stored in every (owner, slot),
 *   taken from the request the cluster acknowledged, so the checker reads
 *   back independently of the workload's own bookkeeping;
 * - a register history (register-check.ts): every acknowledged SwapOut and
 *   Store, and every Load checked against them as it is answered;
 * - DATA_LOSS answers (loss-ledger.ts) and requests in flight
 *   (hang-tracker.ts), for the checker;
 * - a request_id on every mutating call. When the coordinator deduplicates
 *   by request_id (`dedup`, see probeDedup()) a call whose outcome is unknown
 *   (deadline passed, connection lost with the request in flight) is sent
 *   again with the same id until it is answered (bounded), so no fault leaves
 *   the workload unsure (Load with release included: its retry gets the
 *   first call's pages).
 * - honest ambiguity: grpc-js answers UNAVAILABLE both when a request never
 *   left ("No connection established") and when the connection died with
 *   the request in flight ("Connection dropped", ECONNRESET). The second may
 *   have been carried out, so a mutation whose outcome stays unknown is
 *   turned into UNKNOWN, which the workload treats as "may or may not have
 *   happened", and counted in `ambiguous`;
 * - a history line per call.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { status as Status } from '@grpc/grpc-js';
import { pageChecksum } from '../../services/common/checksum';
import { MAX_BATCH } from '../../services/common/limits';
import type { VirtualSwapClient } from '../../proto/generated/vswap/v1/VirtualSwap';
import { VswapClient, type Tier, type VswapClientOptions } from '../sdk/client';
import { VswapClientError } from '../sdk/errors';
import { HangTracker } from './hang-tracker';
import type { History } from './history';
import { LossLedger } from './loss-ledger';
import { type CoordinatorAccess, coordinatorClient } from './coordinator-access';
import { RegisterChecker, slotKey } from './register-check';

/**
 * grpc-js details that mean the connection failed after the request was
 * sent (anchored: the coordinator's own UNAVAILABLE answers quote a
 * backend's "read ECONNRESET" further in, and those changed nothing).
 */
const IN_FLIGHT_FAILURE = new RegExp(
  `^(${[
    'Connection dropped',
    'read ECONNRESET',
    'write ECONNRESET',
    'write EPIPE',
    'Write error',
    'Write failed',
    'Call ended without',
    'Stream removed',
  ].join('|')})`,
  'i',
);

/**
 * What the coordinator's request_id dedup covers: nothing; retries while it
 * stays up (the table is in memory); or retries across a restart too.
 */
export type DedupLevel = 'none' | 'in-memory' | 'durable';

export interface RecordingClientOptions extends VswapClientOptions {
  history?: History;
  /**
   * Which mutations whose outcome is unknown are retried with the same
   * request_id until answered: none; those that failed while the
   * coordinator stayed up ('in-memory': deadlines, not lost connections,
   * which here mean a coordinator restart); or all ('durable'). Default none.
   */
  dedup?: DedupLevel;
  /** How long one mutation keeps being retried, in ms; default 300000. */
  retryBudgetMs?: number;
  /** TLS and the admin token (the fault cluster authenticates its callers); overrides token and ca. */
  access?: CoordinatorAccess;
}

type Raw = (
  req: object,
  options: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: unknown) => void,
) => unknown;

/** An error whose request may or may not have been carried out. */
export function outcomeUnknown(e: VswapClientError): boolean {
  if (e.code === Status.UNAVAILABLE) return IN_FLIGHT_FAILURE.test(e.message);
  return (
    e.code === Status.DEADLINE_EXCEEDED ||
    e.code === Status.CANCELLED ||
    e.code === Status.UNKNOWN ||
    e.code === Status.INTERNAL ||
    e.code === Status.ABORTED
  );
}

export class RecordingClient extends VswapClient {
  /** owner -> slot -> CRC-32 of the page the cluster acknowledged storing there. */
  readonly oracle = new Map<string, Map<number, number>>();
  /** Mutations whose outcome stayed unknown, by method. */
  readonly ambiguous: Record<string, number> = {};
  /** UNKNOWN answers from the coordinator (an unmapped error), by method. */
  readonly serverUnknown: Record<string, number> = {};
  /** Mutations sent again with the same request_id, by method. */
  readonly retries: Record<string, number> = {};
  readonly register = new RegisterChecker();
  readonly losses = new LossLedger();
  readonly hangs = new HangTracker();
  readonly dedup: DedupLevel;
  private readonly history: History | undefined;
  private readonly mut: VirtualSwapClient;
  private readonly callDeadlineMs: number;
  private readonly retryBudgetMs: number;
  /** Until this time (ms epoch), first attempts of mutations get deadlines of a few ms (a deadline storm). */
  private stormUntil = 0;

  constructor(options: RecordingClientOptions) {
    super(options.access ? { ...options, token: options.access.token, ca: options.access.ca } : options);
    this.history = options.history;
    this.dedup = options.dedup ?? 'none';
    this.retryBudgetMs = options.retryBudgetMs ?? 300_000;
    this.callDeadlineMs = options.deadlineMs ?? 30_000;
    this.mut = coordinatorClient(this.address, options.access);
    this.hangs.start();
  }

  override close(): void {
    this.hangs.stop();
    this.mut.close();
    super.close();
  }

  /**
   * A deadline storm on the workload's own calls for `ms`: the first attempt
   * of every mutation gets a deadline of 1-30 ms, then is retried with its
   * request_id. Only when the coordinator deduplicates (else a no-op: the
   * outcomes could not be learnt); returns whether it started.
   */
  deadlineStorm(ms: number): boolean {
    if (this.dedup === 'none') return false;
    this.stormUntil = Date.now() + ms;
    return true;
  }

  expected(owner: string, slot: number): number | undefined {
    return this.oracle.get(owner)?.get(slot);
  }

  override async swapOut(
    owner: string,
    pages: Buffer[],
    options: { contiguous?: boolean } = {},
  ): Promise<{ slots: number[]; tiers: Tier[] }> {
    const contiguous = options.contiguous ?? false;
    const slots: number[] = [];
    const tiers: Tier[] = [];
    for (let i = 0; i < Math.max(pages.length, 1); i += MAX_BATCH) {
      const chunk = pages.slice(i, i + MAX_BATCH);
      const invoke = this.register.now();
      try {
        const res = await this.mutate<{ slots: number[]; tiers: Tier[] }>('swapOut', this.mut.swapOut, {
          owner,
          pages: chunk,
          contiguous,
        });
        this.remember(owner, res.slots, chunk, invoke, 'swapOut');
        this.op(`swapOut ${owner} ${chunk.length}p -> ${span(res.slots)}`);
        slots.push(...res.slots);
        tiers.push(...res.tiers);
      } catch (err) {
        throw this.failed('swapOut', owner, chunk.length, err);
      }
    }
    return { slots, tiers };
  }

  override async store(owner: string, slots: number[], pages: Buffer[]): Promise<Tier[]> {
    if (slots.length !== pages.length)
      throw new VswapClientError(Status.INVALID_ARGUMENT, `${slots.length} slots but ${pages.length} pages`, slots);
    const tiers: Tier[] = [];
    for (let i = 0; i < slots.length; i += MAX_BATCH) {
      const chunk = slots.slice(i, i + MAX_BATCH);
      const chunkPages = pages.slice(i, i + MAX_BATCH);
      const invoke = this.register.now();
      try {
        const res = await this.mutate<{ tiers: Tier[] }>(
          'store',
          this.mut.store,
          { owner, slots: chunk, pages: chunkPages },
          chunk,
        );
        this.remember(owner, chunk, chunkPages, invoke, 'store');
        this.op(`store ${owner} ${span(chunk)}`);
        tiers.push(...res.tiers);
      } catch (err) {
        const e = this.failed('store', owner, chunk.length, err);
        const outcome = e.code === Status.UNKNOWN ? 'unknown' : 'failed';
        chunk.forEach((s, k) =>
          this.register.write(
            slotKey(owner, s),
            pageChecksum(chunkPages[k]!),
            invoke,
            outcome,
            `store (${e.codeName})`,
          ),
        );
        throw e;
      }
    }
    return tiers;
  }

  override async load(owner: string, slots: number[], options: { release?: boolean } = {}): Promise<Buffer[]> {
    const release = options.release ?? false;
    const method = release ? 'load+release' : 'load';
    const out: Buffer[] = [];
    for (let i = 0; i < slots.length || i === 0; i += MAX_BATCH) {
      const chunk = slots.slice(i, i + MAX_BATCH);
      const invoke = this.register.readStarted();
      let pages: Buffer[];
      try {
        if (!release)
          pages = await this.hangs.track(`load ${owner} ${span(chunk)}`, this.attemptBoundMs() * 6, () =>
            super.load(owner, chunk),
          );
        else
          pages = (
            await this.mutate<{ pages: Buffer[] }>(
              'load+release',
              this.mut.load,
              { owner, slots: chunk, release: true },
              chunk,
              this.dedup !== 'none',
            )
          ).pages;
      } catch (err) {
        this.register.readAbandoned(invoke);
        const e = this.failed(method, owner, chunk.length, err, release);
        if (e.code === Status.DATA_LOSS && chunk.length === 1)
          this.losses.seen(slotKey(owner, chunk[0]!), this.expected(owner, chunk[0]!), e.message);
        throw e;
      }
      this.checkPages(owner, chunk, pages, invoke, method);
      this.op(`${method} ${owner} ${span(chunk)}`);
      out.push(...pages);
    }
    return out;
  }

  override async duplicate(owner: string, slots: number[]): Promise<number[]> {
    return this.counted('duplicate', owner, slots, (chunk) =>
      this.mutate<{ counts: number[] }>('duplicate', this.mut.duplicate, { owner, slots: chunk }, chunk),
    );
  }

  override async free(owner: string, slots: number[]): Promise<number[]> {
    return this.counted('free', owner, slots, (chunk) =>
      this.mutate<{ counts: number[] }>('free', this.mut.free, { owner, slots: chunk }, chunk),
    );
  }

  private async counted(
    method: string,
    owner: string,
    slots: number[],
    fn: (chunk: number[]) => Promise<{ counts: number[] }>,
  ): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < slots.length || i === 0; i += MAX_BATCH) {
      const chunk = slots.slice(i, i + MAX_BATCH);
      try {
        out.push(...(await fn(chunk)).counts);
        this.op(`${method} ${owner} ${span(chunk)}`);
      } catch (err) {
        throw this.failed(method, owner, chunk.length, err);
      }
    }
    return out;
  }

  /** Bound of one attempt: its deadline plus slack for a loaded machine. */
  private attemptBoundMs(): number {
    return this.callDeadlineMs + 5000;
  }

  /**
   * One mutating call with a request_id; with retryUnknown, sent again with
   * the same id while its outcome is unknown, for at most retryBudgetMs.
   */
  private async mutate<Res>(
    method: string,
    fn: Raw,
    req: Record<string, unknown>,
    slots: readonly number[] = [],
    withId = true,
  ): Promise<Res> {
    const request = withId ? { ...req, requestId: randomUUID() } : req;
    const started = Date.now();
    // Once an attempt's outcome is unknown, a later attempt that never reached
    // the coordinator (UNAVAILABLE: no connection) does not settle it: keep
    // sending the same request_id until the coordinator itself answers.
    let unsure = false;
    /** What the attempts got, by code (said when the outcome stays unknown). */
    const got: Record<string, number> = {};
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.hangs.track(
          `${method} ${String(req.owner)} ${span(slots)}${attempt > 0 ? ` (retry ${attempt})` : ''}`,
          this.attemptBoundMs(),
          () =>
            this.unaryRaw<Res>(
              fn,
              request,
              slots,
              attempt === 0 && withId && Date.now() < this.stormUntil
                ? 1 + Math.floor(Math.random() * 30)
                : this.callDeadlineMs,
            ),
        );
      } catch (err) {
        const e = VswapClientError.from(err, slots);
        got[e.codeName] = (got[e.codeName] ?? 0) + 1;
        if (e.code === Status.UNKNOWN) this.serverUnknown[method] = (this.serverUnknown[method] ?? 0) + 1;
        const unknown = outcomeUnknown(e) || (unsure && e.code === Status.UNAVAILABLE);
        const retry =
          withId &&
          unknown &&
          (this.dedup === 'durable' || (this.dedup === 'in-memory' && !IN_FLIGHT_FAILURE.test(e.message)));
        if (!retry || Date.now() - started > this.retryBudgetMs) {
          if (unknown)
            // Kept in the history (not an op line): the checker fails the run on it and this says why.
            this.history?.add(
              'check',
              `UNSETTLED ${method} ${String(req.owner)} ${span(slots)}: ` +
                `${attempt + 1} attempt(s) in ${Date.now() - started} ms got ` +
                `${JSON.stringify(got)}; last: ${e.message.slice(0, 200)}`,
            );
          // Unanswered after an unknown outcome: still unknown, whatever the last attempt said.
          if (unsure && unknown && !outcomeUnknown(e))
            throw new VswapClientError(
              Status.UNKNOWN,
              `outcome unknown (retries got ${e.codeName}): ${e.message}`,
              e.slots,
            );
          throw e;
        }
        unsure = true;
        this.retries[method] = (this.retries[method] ?? 0) + 1;
        this.op(
          `${method} ${String(req.owner)} ${span(slots)} -> ${e.codeName}, ` +
            `retried with the same request_id: ${e.message.slice(0, 120)}`,
        );
        await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** Math.min(attempt, 6))));
      }
    }
  }

  private unaryRaw<Res>(fn: Raw, req: object, slots: readonly number[], deadlineMs: number): Promise<Res> {
    return new Promise((resolve, reject) => {
      fn.call(this.mut, req, { deadline: Date.now() + deadlineMs }, (err, res) =>
        err ? reject(VswapClientError.from(err, slots)) : resolve(res as Res),
      );
    });
  }

  private checkPages(
    owner: string,
    slots: readonly number[],
    pages: readonly Buffer[],
    invoke: number,
    what: string,
  ): void {
    slots.forEach((s, k) => {
      const v = this.register.readEnded(slotKey(owner, s), pageChecksum(pages[k]!), invoke, what);
      if (!v.ok)
        this.history?.add(
          'check',
          `${v.kind === 'stale' ? 'STALE READ' : 'FOREIGN READ'} ${what} ${owner} slot ${s}: ${v.detail}`,
        );
    });
  }

  private remember(
    owner: string,
    slots: readonly number[],
    pages: readonly Buffer[],
    invoke: number,
    what: string,
  ): void {
    let m = this.oracle.get(owner);
    if (!m) this.oracle.set(owner, (m = new Map()));
    for (let i = 0; i < slots.length; i++) {
      const crc = pageChecksum(pages[i]!);
      m.set(slots[i]!, crc);
      this.register.write(slotKey(owner, slots[i]!), crc, invoke, 'ok', what);
    }
  }

  /** The error the caller gets: a mutation whose outcome stayed unknown becomes UNKNOWN (and is counted). */
  private failed(method: string, owner: string, n: number, err: unknown, mutation = true): VswapClientError {
    let e = VswapClientError.from(err);
    if (mutation && outcomeUnknown(e)) {
      this.ambiguous[method] = (this.ambiguous[method] ?? 0) + 1;
      if (e.code !== Status.UNKNOWN)
        e = new VswapClientError(Status.UNKNOWN, `outcome unknown (${e.codeName}): ${e.message}`, e.slots);
    }
    this.op(`${method} ${owner} ${n} -> ${e.codeName}: ${e.message.slice(0, 160)}`);
    return e;
  }

  private op(text: string): void {
    this.history?.add('op', text);
  }
}

/**
 * What the coordinator's request_id dedup covers. Two Allocates with one id
 * must return the same slot; with `restart`, a third after the coordinator
 * restarted too ('durable'). Frees what it took; 'none' on any error.
 */
export async function probeDedup(
  client: VswapClient,
  owner: string,
  restart?: () => Promise<void>,
  access?: CoordinatorAccess,
): Promise<DedupLevel> {
  const raw = coordinatorClient(client.address, access);
  const allocate = (requestId: string): Promise<number[]> =>
    new Promise((resolve, reject) =>
      raw.allocate({ owner, count: 1, requestId }, { deadline: Date.now() + 10_000 }, (err, res) =>
        err || !res ? reject(err ?? new Error('no response')) : resolve(res.slots.map(Number)),
      ),
    );
  const taken = new Set<number>();
  try {
    const id = randomUUID();
    const a = await allocate(id);
    const b = await allocate(id);
    [...a, ...b].forEach((s) => taken.add(s));
    if (a.length !== 1 || b.length !== 1 || a[0] !== b[0]) return 'none';
    if (!restart) return 'in-memory';
    await restart();
    const c = await allocate(id);
    c.forEach((s) => taken.add(s));
    return c.length === 1 && c[0] === a[0] ? 'durable' : 'in-memory';
  } catch {
    return 'none';
  } finally {
    for (const s of taken) await client.free(owner, [s]).catch(() => undefined);
    raw.close();
  }
}

/** "12..75 (64)" or "3,9 (2)": a short description of a slot list. */
function span(slots: readonly number[]): string {
  if (slots.length === 0) return '[]';
  if (slots.length <= 3) return `[${slots.join(',')}]`;
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of slots) {
    if (s < lo) lo = s;
    if (s > hi) hi = s;
  }
  return `[${lo}..${hi}] (${slots.length})`;
}
