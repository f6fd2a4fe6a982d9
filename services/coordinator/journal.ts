/**
 * The coordinator's journal: an append-only log of slot records plus a
 * periodic snapshot, in one data directory. Records are appended to memory and
 * written by one group commit per event-loop turn, so every request that
 * finished in that turn shares one write (and one fsync with `always`).
 * A reply is sent only after its records are written: a kill -9 of the
 * coordinator loses nothing acknowledged.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '../common/logger';
import { type JournalRecord, RecordWriter, readRecords } from './journal-records';

export type FsyncPolicy = 'always' | 'batch' | 'never';

export interface JournalOptions {
  /** Directory for `journal.log` and `snapshot.bin`; created when missing. */
  dir: string;
  /**
   * `always`: fsync every group commit before replying; `batch`: fsync in the
   * background at most every `batchIntervalMs` (a process crash loses nothing,
   * a machine crash may lose the last interval); `never`: leave it to the OS.
   * Default `batch`.
   */
  fsync?: FsyncPolicy;
  /** Default 100 ms. */
  batchIntervalMs?: number;
  /** Log size after which the next commit writes a snapshot; default 64 MiB. */
  snapshotAfterBytes?: number;
  log: Logger;
}

export interface JournalStats {
  commits: number;
  fsyncs: number;
  snapshots: number;
  logBytes: number;
}

export class Journal {
  /** Records appended since the last group commit. */
  readonly pending = new RecordWriter();
  private readonly logPath: string;
  private readonly snapshotPath: string;
  private fd: number;
  private logBytes: number;
  private flushScheduled = false;
  private waiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private fsyncTimer: NodeJS.Timeout | undefined;
  private dirty = false;
  private readonly fsync: FsyncPolicy;
  private readonly snapshotAfterBytes: number;
  private snapshotWriter: ((w: RecordWriter) => void) | undefined;
  private closed = false;
  readonly stats: JournalStats = { commits: 0, fsyncs: 0, snapshots: 0, logBytes: 0 };

  private constructor(private readonly options: JournalOptions) {
    fs.mkdirSync(options.dir, { recursive: true });
    this.logPath = path.join(options.dir, 'journal.log');
    this.snapshotPath = path.join(options.dir, 'snapshot.bin');
    this.fsync = options.fsync ?? 'batch';
    this.snapshotAfterBytes = options.snapshotAfterBytes ?? 64 * 1024 * 1024;
    this.fd = fs.openSync(this.logPath, 'a+');
    this.logBytes = fs.fstatSync(this.fd).size;
    if (this.fsync === 'batch') {
      this.fsyncTimer = setInterval(() => {
        if (this.dirty && !this.closed) this.syncInBackground().catch(() => undefined);
      }, options.batchIntervalMs ?? 100);
      this.fsyncTimer.unref();
    }
  }

  /**
   * Opens the journal in `dir`, replaying the snapshot and then the log into
   * `apply`. A torn record at the log's tail (a crash mid-append) is cut off.
   */
  static open(options: JournalOptions, apply: (r: JournalRecord) => void): Journal {
    fs.mkdirSync(options.dir, { recursive: true });
    const snapshotPath = path.join(options.dir, 'snapshot.bin');
    const logPath = path.join(options.dir, 'journal.log');
    let replayed = 0;
    const count = (r: JournalRecord): void => {
      replayed++;
      apply(r);
    };
    if (fs.existsSync(snapshotPath)) readRecords(fs.readFileSync(snapshotPath), count);
    if (fs.existsSync(logPath)) {
      const data = fs.readFileSync(logPath);
      const { validBytes } = readRecords(data, count);
      if (validBytes < data.length) {
        options.log.warn({ torn: data.length - validBytes }, 'journal: cutting a torn record off the tail');
        fs.truncateSync(logPath, validBytes);
      }
    }
    options.log.info({ records: replayed, dir: options.dir }, 'journal replayed');
    return new Journal(options);
  }

  /** Called when a snapshot is due: must write every live record into `w`. */
  onSnapshot(writeAll: (w: RecordWriter) => void): void {
    this.snapshotWriter = writeAll;
  }

  /** Resolves once every record appended so far is written (and synced per policy). */
  commit(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('journal is closed'));
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const waiters = this.waiters;
    this.waiters = [];
    if (this.pending.length > 0) {
      // The write itself goes to the page cache: a crash of this process
      // after it loses nothing. fsync (below) is about the machine crashing.
      writeAll(this.fd, this.pending.view());
      this.logBytes += this.pending.length;
      this.pending.clear();
      this.dirty = true;
      this.stats.commits++;
    }
    if (this.logBytes >= this.snapshotAfterBytes && this.snapshotWriter) this.snapshot();
    this.stats.logBytes = this.logBytes;
    const done = (): void => {
      for (const w of waiters) w.resolve();
    };
    // A record is acknowledged only once it is as durable as the policy says.
    const failed = (err: Error): void => {
      for (const w of waiters) w.reject(err);
    };
    if (this.fsync === 'always' && this.dirty) this.syncInBackground().then(done, failed);
    else done();
  }

  /** fdatasync on the thread pool, so the event loop keeps serving meanwhile. */
  private syncInBackground(): Promise<void> {
    this.dirty = false;
    const fd = this.fd;
    return new Promise((resolve, reject) => {
      fs.fdatasync(fd, (err) => {
        if (err) {
          this.options.log.error({ err }, 'journal: fdatasync failed');
          reject(err);
          return;
        }
        this.stats.fsyncs++;
        resolve();
      });
    });
  }

  private syncIfDirty(): void {
    if (!this.dirty || this.closed) return;
    fs.fdatasyncSync(this.fd);
    this.dirty = false;
    this.stats.fsyncs++;
  }

  /**
   * Writes the whole table to snapshot.tmp, syncs it, renames it over the
   * snapshot and empties the log. Records are absolute states, so a crash at
   * any point replays to the same table.
   */
  snapshot(): void {
    if (!this.snapshotWriter) return;
    const w = new RecordWriter(1024 * 1024);
    this.snapshotWriter(w);
    const tmp = `${this.snapshotPath}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    try {
      writeAll(fd, w.view());
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.snapshotPath);
    fs.ftruncateSync(this.fd, 0);
    fs.fdatasyncSync(this.fd);
    this.logBytes = 0;
    this.stats.snapshots++;
    this.options.log.info({ bytes: w.length }, 'journal: snapshot written, log emptied');
  }

  /** Writes what is pending, syncs, and closes. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.syncIfDirty();
    this.closed = true;
    if (this.fsyncTimer) clearInterval(this.fsyncTimer);
    fs.closeSync(this.fd);
  }
}

function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
}
