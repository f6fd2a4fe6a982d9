/**
 * The server side of Backend.Reconcile, shared by zswap and swapfile. The
 * coordinator streams every handle it references in chunks; each chunk is
 * answered with those of its handles the backend does not hold; the last
 * chunk carries `last = true`, and only after it AND a normal half-close does
 * the backend delete what nobody named, answering once more with done,
 * deleted and its epoch.
 *
 * Deleting is the dangerous half: acting on an incomplete list deletes live
 * pages. So nothing is deleted unless the client said its list was complete
 * (`last`) and then half-closed; a stream that is cancelled, fails, passes its
 * deadline, or ends without `last` deletes nothing (a stream from before the
 * marker existed only learns what is missing). Replies go through StreamWriter:
 * a reader that stops taking them ends the session instead of pinning it.
 */
import type * as grpc from '@grpc/grpc-js';
import type { ReconcileRequest__Output } from '../../proto/generated/vswap/v1/ReconcileRequest';
import type { ReconcileResponse } from '../../proto/generated/vswap/v1/ReconcileResponse';
import { invalidArgument, toServiceError } from './errors';
import type { Logger } from './logger';
import { StreamWriter } from './stream-writer';

/** One Reconcile stream as a backend core runs it. */
export interface ReconcileSession {
  /** The handles of a chunk that are not stored here (the rest count as named). */
  check(handles: readonly number[]): Promise<number[]>;
  /** Deletes what was stored before the session began and no chunk named; how many. */
  finish(): Promise<number>;
  /** The epoch the session checked against (the final reply carries it). */
  readonly epoch: string;
  /** Ends a session that will not finish (stream cancelled or failed): nothing is deleted. */
  abandon(): void;
}

export interface ReconcileServerOptions {
  log: Logger;
  /** Starts a session (a backend may check its store's epoch first). */
  begin(): Promise<ReconcileSession>;
  /** StreamWriter's drain bound; default its own. */
  drainTimeoutMs?: number;
}

/** The grpc-js handler of Backend.Reconcile. */
export function reconcileHandler(
  options: ReconcileServerOptions,
): (call: grpc.ServerDuplexStream<ReconcileRequest__Output, ReconcileResponse>) => void {
  const { log } = options;
  return (call) => {
    const writer = new StreamWriter<ReconcileResponse>(call, { drainTimeoutMs: options.drainTimeoutMs });
    let complete = false;
    let halfClosed = false;
    let over = false;
    let session: ReconcileSession | undefined;
    const end = (err?: unknown): void => {
      if (over) return;
      over = true;
      if (err !== undefined) {
        session?.abandon();
        if (!writer.cancelled) call.emit('error', toServiceError(err, log, 'Reconcile'));
      }
    };
    writer.signal.addEventListener('abort', () => {
      if (!over)
        log.warn({ why: (writer.signal.reason as Error).message }, 'reconcile stream ended early: nothing deleted');
      end(writer.signal.reason);
    });
    // Chunks run one after another, in order; reading pauses while one runs.
    let chain: Promise<unknown> = options.begin().then((s) => {
      session = s;
      if (over) s.abandon();
    });
    chain.catch(end);
    call.on('data', (req: ReconcileRequest__Output) => {
      if (over) return;
      if (complete) {
        end(invalidArgument('a Reconcile chunk arrived after the one marked last'));
        return;
      }
      if (req.last) complete = true;
      call.pause();
      chain = chain.then(async () => {
        if (over || !session) return;
        const missing = await session.check(req.handles);
        if (over) return;
        await writer.write({ missing, done: false, deleted: 0 });
        call.resume();
      });
      chain.catch(end);
    });
    call.on('end', () => {
      halfClosed = true;
      chain = chain.then(async () => {
        if (over || !session) return;
        if (!complete || !halfClosed || writer.cancelled) {
          // No `last` marker: the list may be partial, so delete nothing.
          session.abandon();
          await writer.write({ missing: [], done: true, deleted: 0, epoch: session.epoch });
        } else {
          const deleted = await session.finish();
          if (deleted > 0) log.info({ deleted }, 'reconcile deleted what nobody references');
          await writer.write({ missing: [], done: true, deleted, epoch: session.epoch });
        }
        over = true;
        call.end();
      });
      chain.catch(end);
    });
  };
}
