/**
 * The writing end of a server stream that notices its reader going away.
 * grpc-js never fires a write's 'drain' on a cancelled call, so a handler that
 * waits for it waits forever (issue: a Swapoff whose client left stayed
 * `draining`). Every write here honours back-pressure, and every wait ends:
 * when the call is cancelled (client gone, deadline passed) or when the reader
 * has taken nothing for `drainTimeoutMs`.
 */
import type * as grpc from '@grpc/grpc-js';
import { status as Status } from '@grpc/grpc-js';
import { VswapError } from './errors';

export interface StreamWriterOptions {
  /** How long one write may wait for the reader to take more; default 30 000 ms. */
  drainTimeoutMs?: number;
}

type WritableCall<T> = grpc.ServerWritableStream<unknown, T> | grpc.ServerDuplexStream<unknown, T>;

export class StreamWriter<T> {
  private readonly controller = new AbortController();
  /** Aborted (with a CANCELLED VswapError) once the reader is gone; handlers stop their work on it. */
  readonly signal: AbortSignal = this.controller.signal;
  private readonly drainTimeoutMs: number;

  constructor(
    private readonly call: WritableCall<T>,
    options: StreamWriterOptions = {},
  ) {
    this.drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
    if (call.cancelled) this.abort('the client cancelled the call');
    call.on('cancelled', () => this.abort('the client cancelled the call'));
    call.on('error', () => this.abort('the stream failed'));
  }

  get cancelled(): boolean {
    return this.signal.aborted;
  }

  /** Marks the reader gone: pending and later writes reject, `signal` aborts. */
  abort(why: string): void {
    if (!this.signal.aborted) this.controller.abort(new VswapError(Status.CANCELLED, why));
  }

  /** Resolves once the stream can take more; rejects once the reader is gone. */
  write(msg: T): Promise<void> {
    if (this.signal.aborted) return Promise.reject(this.signal.reason as Error);
    if (this.call.write(msg)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.call.off('drain', onDrain);
        this.signal.removeEventListener('abort', onAbort);
      };
      const onDrain = (): void => {
        done();
        resolve();
      };
      const onAbort = (): void => {
        done();
        reject(this.signal.reason as Error);
      };
      const timer = setTimeout(() => {
        this.abort(`the client took no message for ${this.drainTimeoutMs} ms`);
      }, this.drainTimeoutMs);
      timer.unref();
      this.call.once('drain', onDrain);
      this.signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
