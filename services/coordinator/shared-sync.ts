/**
 * fdatasync shared by the callers that ask for it at about the same time:
 * one in flight serves every write made before it started; those who ask
 * while it runs share the next one. With fsync `always` and calls in flight
 * together, that is one sync of the file per group instead of one per call.
 */
import * as fs from 'node:fs';

export class SharedSync {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  /** `fd`: the file's descriptor now (undefined: closed, nothing to sync). */
  constructor(private readonly fd: () => number | undefined) {}

  /** Resolves once every write made before the call is on disk. */
  sync(): Promise<void> {
    if (this.running) {
      // The one in flight may have started before the caller's write: wait for the one after it.
      this.next ??= this.running.then(
        () => this.startNext(),
        () => this.startNext(),
      );
      return this.next;
    }
    const fd = this.fd();
    if (fd === undefined) return Promise.resolve();
    const run = new Promise<void>((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve())));
    this.running = run;
    const done = (): void => {
      if (this.running === run) this.running = undefined;
    };
    run.then(done, done);
    return run;
  }

  private startNext(): Promise<void> {
    this.next = undefined;
    return this.sync();
  }
}
