/**
 * What a coordinator operation knows about the call it serves. Mutating
 * operations check `signal` right before they commit: a call whose client
 * cancelled it (or whose deadline passed) before that point rolls back and
 * changes nothing (API.md, Retries); after it, the result stands and is what a
 * retry with the same request_id gets.
 */
import { status as Status } from '@grpc/grpc-js';
import type * as grpc from '@grpc/grpc-js';
import { VswapError } from '../common/errors';

/**
 * What an operation reads of its caller's going away: an AbortSignal, or the
 * lighter CallSignal of a gRPC call (callSignal()).
 */
export type CallerSignal = Pick<AbortSignal, 'aborted' | 'reason' | 'addEventListener' | 'removeEventListener'>;

export interface CallContext {
  /** Aborted when the caller has gone away. */
  signal?: CallerSignal;
  /**
   * The call's deadline (ms since the epoch), checked at the commit point as
   * well: a process that was paused past it may run its continuation before
   * the timer that aborts `signal`.
   */
  deadline?: number;
  /**
   * Set for a call with a request_id: the request log's record of the call's
   * answer, which the operation commits together with its change (after its
   * records), so a crash can never keep the change and lose the answer.
   */
  answer?: AnswerJournal;
  /**
   * Called right after the slot table allocated the call's slots (SwapOut,
   * Allocate): the gate's reservation for them becomes used slots in the same
   * turn (auth/usage.ts), so calls admitted meanwhile see them counted once.
   */
  onAllocated?: (slots: number) => void;
  /**
   * The pageChecksum of each of the request's pages (SwapOut, Store), when
   * the service computed them for the request's digest: the write path keeps
   * these rather than computing each page's CRC-32 a second time.
   */
  pageSums?: Uint32Array;
}

/** How an operation journals its answer (request-log.ts). */
export interface AnswerJournal {
  /** At most this many bytes: reserve them with the change's records. */
  readonly bytes: number;
  /**
   * A Load with release, before its change: the pages its result will carry
   * and their checksums (as the read verified them), put in the answer page
   * ring so that the record below refers to them instead of carrying them.
   * Resolves once they are synced as the journal will be.
   */
  keepPages(pages: readonly Buffer[], sums: Uint32Array): Promise<void>;
  /** The record's payload for this result (what the operation returns); undefined: no record (its pages were not kept). */
  record(result: unknown): Buffer | undefined;
}

/** Why a call's signal aborted: its reason, as the status the caller is answered with. */
export const CALLER_CANCELLED = (): VswapError => new VswapError(Status.CANCELLED, 'the client cancelled the call');
export const DEADLINE_PASSED = (): VswapError => new VswapError(Status.DEADLINE_EXCEEDED, "the call's deadline passed");

/** Throws the call's cancellation (CANCELLED or DEADLINE_EXCEEDED) once its caller has gone away. */
export function checkCancelled(ctx: CallContext): void {
  // The deadline first: a call's signal also aborts once it passes, with a reason that says less.
  if (ctx.deadline !== undefined && Date.now() >= ctx.deadline)
    throw new VswapError(
      Status.DEADLINE_EXCEEDED,
      "the call's deadline passed before it was committed: nothing was applied",
    );
  const signal = ctx.signal;
  if (signal?.aborted) throw signal.reason instanceof VswapError ? signal.reason : CALLER_CANCELLED();
}

/** What callSignal reads of a grpc-js server call (any ServerUnaryCall is one). */
export interface CallLifetime {
  readonly cancelled: boolean;
  getDeadline(): grpc.Deadline;
  once(event: 'cancelled', listener: () => void): unknown;
  removeListener(event: 'cancelled', listener: () => void): unknown;
}

/**
 * The signal of a gRPC call, aborted when the caller goes away: it cancelled,
 * or its deadline passed (a timer here, next to grpc-js's 'cancelled' event,
 * which a late client may never send). The abort's reason is the status the
 * call answers: DEADLINE_EXCEEDED once the deadline has passed, CANCELLED
 * otherwise, so that a waiting call (a retry waiting for the first call with
 * its request_id) does not tell a caller whose deadline passed that it
 * cancelled. `done` removes the timer and the listener.
 *
 * Nearly every call only asks `aborted` (checkCancelled, at its commit),
 * which the call's `cancelled` flag and the clock answer; only a listener (a
 * retry waiting for its first call) needs the AbortController, the listener
 * on the call and the timer, so they are made then. Made for every call,
 * they were a few percent of the coordinator's CPU at 16 pages a call.
 */
export function callSignal(call: CallLifetime): {
  signal: CallerSignal;
  deadline: number | undefined;
  done: () => void;
} {
  const signal = new CallSignal(call);
  return { signal, deadline: signal.deadline, done: () => signal.done() };
}

class CallSignal implements CallerSignal {
  /** The call's deadline (ms since the epoch); undefined: none. */
  readonly deadline: number | undefined;
  /** Made by the first listener; aborted by the call's 'cancelled' or the deadline's timer. */
  private watch: { ac: AbortController; timer: NodeJS.Timeout | undefined; abort: () => void } | undefined;

  constructor(private readonly call: CallLifetime) {
    const at = call.getDeadline();
    const ms = at instanceof Date ? at.getTime() : at;
    this.deadline = Number.isFinite(ms) ? ms : undefined;
  }

  get aborted(): boolean {
    return this.watch ? this.watch.ac.signal.aborted : this.call.cancelled || this.deadlinePassed();
  }

  get reason(): unknown {
    if (this.watch) return this.watch.ac.signal.reason;
    if (this.deadlinePassed()) return DEADLINE_PASSED();
    return this.call.cancelled ? CALLER_CANCELLED() : undefined;
  }

  addEventListener(...args: Parameters<AbortSignal['addEventListener']>): void {
    this.watched().signal.addEventListener(...args);
  }

  removeEventListener(...args: Parameters<AbortSignal['removeEventListener']>): void {
    this.watch?.ac.signal.removeEventListener(...args);
  }

  done(): void {
    if (!this.watch) return;
    if (this.watch.timer) clearTimeout(this.watch.timer);
    this.call.removeListener('cancelled', this.watch.abort);
  }

  private deadlinePassed(): boolean {
    return this.deadline !== undefined && Date.now() >= this.deadline;
  }

  private watched(): AbortController {
    if (this.watch) return this.watch.ac;
    const ac = new AbortController();
    const abort = (): void => ac.abort(this.deadlinePassed() ? DEADLINE_PASSED() : CALLER_CANCELLED());
    const deadline = this.deadline;
    const timer =
      deadline !== undefined
        ? setTimeout(() => ac.abort(DEADLINE_PASSED()), Math.max(0, deadline - Date.now()))
        : undefined;
    timer?.unref();
    this.watch = { ac, timer, abort };
    if (this.call.cancelled || this.deadlinePassed()) abort();
    else this.call.once('cancelled', abort);
    return ac;
  }
}
