/**
 * When a file the coordinator appends to besides its journal (requests.log,
 * answers.ring) reaches the disk, per the journal's fsync policy: `always`
 * waits in sync() for an fdatasync shared by the callers that ask at about
 * the same time (one in flight serves every write made before it started;
 * those who ask while it runs share the next one), `batch` syncs what was
 * written() every 100 ms, `never` leaves it to the OS.
 */
import type { FsyncPolicy } from '../common/fsync-policy';
import type { Logger } from '../common/logger';
import { DescriptorSyncs } from './descriptor-syncs';

export interface SharedSyncOptions {
  fsync: FsyncPolicy;
  log: Logger;
  /** Names the file in logs, e.g. "request log". */
  what: string;
}

export class SharedSync {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  /** Written since the last batch sync started. */
  private dirty = false;
  private readonly syncs = new DescriptorSyncs();
  private readonly timer: NodeJS.Timeout | undefined;

  /** `fd`: the file's descriptor now (undefined: closed, nothing to sync). */
  constructor(
    private readonly fd: () => number | undefined,
    private readonly options: SharedSyncOptions,
  ) {
    if (options.fsync !== 'batch') return;
    this.timer = setInterval(() => {
      const f = this.fd();
      if (!this.dirty || f === undefined) return;
      this.dirty = false;
      this.syncs.fdatasync(f, (err) => {
        if (err) options.log.error({ err }, `${options.what}: fdatasync failed`);
      });
    }, 100);
    this.timer.unref();
  }

  /** Marks the file written: the next batch sync covers it. */
  written(): void {
    this.dirty = true;
  }

  /** With `always`, resolves once every write made before the call is on disk; otherwise at once. */
  sync(): Promise<void> {
    if (this.options.fsync !== 'always') return Promise.resolve();
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
    const run = new Promise<void>((resolve, reject) => this.syncs.fdatasync(fd, (e) => (e ? reject(e) : resolve())));
    this.running = run;
    const done = (): void => {
      if (this.running === run) this.running = undefined;
    };
    run.then(done, done);
    return run;
  }

  /** Closes a descriptor the owner no longer writes to (its file was replaced), once no fdatasync runs on it. */
  retire(fd: number): void {
    this.syncs.retire(fd);
  }

  /** Stops the batch timer (the owner syncs and closes its file). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private startNext(): Promise<void> {
    this.next = undefined;
    return this.sync();
  }
}
