/**
 * Backend copies to delete (freed slots, replaced or migrated pages), batched
 * per backend and reason and sent once per event-loop turn with
 * ignore_missing, so a retry is harmless. A batch that fails (the backend is
 * down) is queued again and retried a second later; a reconcile with that
 * backend also removes whatever nobody references.
 */
import { status as Status } from '@grpc/grpc-js';
import type { DeleteReason } from '../../proto/generated/vswap/v1/DeleteReason';
import { isServiceError } from '../common/errors';
import type { Logger } from '../common/logger';
import { MAX_BATCH } from '../common/limits';
import type { BackendRegistry } from './backend-registry';

export interface DeleteQueueOptions {
  registry: BackendRegistry;
  log: Logger;
  /** Delay before a failed batch is sent again; default 1000 ms. */
  retryMs?: number;
  /** Called once per failed batch (for Stats). */
  onRetry?: () => void;
}

/** Handles to delete on one backend for one reason, in the epoch they belong to (the backend refuses them in another). */
interface Batch {
  reason: DeleteReason;
  epoch: string;
  handles: number[];
}

export class DeleteQueue {
  /**
   * backend id -> its batches, at most one per (reason, epoch). A list, not a
   * map keyed by both: it holds a few (four reasons, one epoch but for a
   * retry across a restart), and finding one must not build a key string per
   * handle.
   */
  private readonly pending = new Map<number, Batch[]>();
  /** The flush scheduled for the next turn, if any. */
  private flushing: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: DeleteQueueOptions) {}

  /**
   * Deletes a handle on a backend soon, in a batch with the others of this
   * turn. `epoch`: the epoch the handle belongs to; default the one the table
   * was last reconciled with (the backend's knownEpoch).
   */
  add(backendId: number, handle: number, reason: DeleteReason, epoch?: string): void {
    const e = epoch ?? this.options.registry.byIdOf(backendId)?.knownEpoch;
    // Not reconciled since this process started: an unchecked Delete could hit a page of a later life
    // of the backend under the same handle. Nothing is lost by not sending it: the first reconcile
    // removes every page the table does not name.
    if (e === undefined) return;
    this.push(backendId, handle, reason, e);
    this.scheduleFlush();
  }

  /** Resolves once what is queued now has been sent (or re-queued after a failure). */
  async settled(): Promise<void> {
    await this.flushing;
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  private push(backendId: number, handle: number, reason: DeleteReason, epoch: string): void {
    let batches = this.pending.get(backendId);
    if (!batches) this.pending.set(backendId, (batches = []));
    for (const b of batches)
      if (b.reason === reason && b.epoch === epoch) {
        b.handles.push(handle);
        return;
      }
    batches.push({ reason, epoch, handles: [handle] });
  }

  private scheduleFlush(): void {
    // Set before flush() runs (it clears `flushing` synchronously at its start).
    this.flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush());
  }

  private async flush(): Promise<void> {
    const work = [...this.pending.entries()];
    this.pending.clear();
    this.flushing = undefined;
    await Promise.all(
      work.map(async ([backendId, batches]) => {
        const b = this.options.registry.byIdOf(backendId);
        if (!b) return;
        for (const { reason, epoch, handles } of batches) {
          for (let i = 0; i < handles.length; i += MAX_BATCH) {
            const chunk = handles.slice(i, i + MAX_BATCH);
            try {
              await b.client.delete(chunk, reason, true, epoch);
            } catch (err) {
              if (isServiceError(err) && err.code === Status.FAILED_PRECONDITION) {
                // The backend left that epoch (its store lost those pages) or refuses a stale
                // handle: retrying could only hit a page stored since. Reconcile removes orphans.
                this.options.log.warn(
                  { backend: b.name, pages: chunk.length, epoch, err: String(err) },
                  'backend refused a delete from another epoch; dropped',
                );
                continue;
              }
              this.options.onRetry?.();
              this.options.log.warn(
                { backend: b.name, pages: chunk.length, err: String(err) },
                'backend delete failed; retrying later',
              );
              for (const h of chunk) this.push(backendId, h, reason, epoch);
              this.scheduleRetry();
            }
          }
        }
      }),
    );
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.scheduleFlush();
    }, this.options.retryMs ?? 1000);
    this.retryTimer.unref();
  }
}
