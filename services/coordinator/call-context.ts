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

export interface CallContext {
  /** Aborted when the caller has gone away. */
  signal?: AbortSignal;
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
  const signal = ctx.signal;
  if (signal?.aborted) throw signal.reason instanceof VswapError ? signal.reason : CALLER_CANCELLED();
  if (ctx.deadline !== undefined && Date.now() >= ctx.deadline)
    throw new VswapError(
      Status.DEADLINE_EXCEEDED,
      "the call's deadline passed before it was committed: nothing was applied",
    );
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
 */
export function callSignal(call: CallLifetime): {
  signal: AbortSignal;
  deadline: number | undefined;
  done: () => void;
} {
  const ac = new AbortController();
  const deadlineAt = call.getDeadline();
  const at = deadlineAt instanceof Date ? deadlineAt.getTime() : deadlineAt;
  const deadline = Number.isFinite(at) ? at : undefined;
  const abort = (): void =>
    ac.abort(deadline !== undefined && Date.now() >= deadline ? DEADLINE_PASSED() : CALLER_CANCELLED());
  if (call.cancelled) abort();
  else call.once('cancelled', abort);
  const timer =
    deadline !== undefined
      ? setTimeout(() => ac.abort(DEADLINE_PASSED()), Math.max(0, deadline - Date.now()))
      : undefined;
  timer?.unref();
  return {
    signal: ac.signal,
    deadline,
    done: () => {
      if (timer) clearTimeout(timer);
      call.removeListener('cancelled', abort);
    },
  };
}
