/**
 * The coordinator's journal: an append-only log of slot records plus a
 * periodic snapshot, in one data directory. Records are appended to memory and
 * written by one group commit per event-loop turn, so every request that
 * finished in that turn shares one write (and one fsync with `always`).
 * A reply is sent only after its records are written: a kill -9 of the
 * coordinator loses nothing acknowledged.
 *
 * Generations: `snapshot-N.bin` holds the whole table and `journal-N.log` the
 * records after it. A new generation's log is created (empty) first, then its
 * snapshot is renamed into place: that one rename is the switch, and the
 * directory is fsynced before anything is appended to the new log. Start-up
 * uses the highest N with a snapshot; everything older is removed. So a crash
 * at any point replays one snapshot and the log that belongs to it, never an
 * old log over a newer snapshot. A snapshot a commit starts runs in the
 * background (startSnapshot): callers wait only for its switch.
 *
 * The log grows in preallocated (zero-filled) steps, and callers reserve room
 * before they change the table: a full disk is refused up front with
 * RESOURCE_EXHAUSTED and nothing changed, instead of failing a commit whose
 * table change is already applied.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from '../common/logger';
import { resourceExhausted, unavailable, type VswapError } from '../common/errors';
import {
  LEGACY_LOG,
  LEGACY_SNAPSHOT,
  closeAsync,
  fdatasyncAsync,
  fsyncAsync,
  fsyncDir,
  listDir,
  logName,
  openAsync,
  readGeneration,
  replayGeneration,
  snapshotName,
  unlinkInBackground,
  unlinkQuietly,
  writeAllAt,
  writeAllAtAsync,
  zeroFill,
  zeroFillAsync,
} from './journal-files';
import { FileKind, HEADER_BYTES, type JournalRecord, RecordWriter, fileHeader } from './journal-records';
import type { FsyncPolicy } from '../common/fsync-policy';
import { DescriptorSyncs, closeInBackground } from './descriptor-syncs';

export type { FsyncPolicy };

/** The steps of a snapshot switch, in order (for the crash-test seam). */
export const SWITCH_STEPS = ['snapshot-synced', 'log-created', 'renamed', 'dir-synced', 'old-removed'] as const;
export type SwitchStep = (typeof SWITCH_STEPS)[number];

export interface JournalOptions {
  /** Directory for the snapshot and log files; created when missing. */
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
  /**
   * Longest a background snapshot builds its image in one event-loop turn,
   * in milliseconds; default 4. 0 builds one piece per turn (tests: every
   * piece a point where commits cut in).
   */
  snapshotSliceMs?: number;
  /** The log grows by this much at a time, zero-filled; default 1 MiB. */
  preallocateBytes?: number;
  log: Logger;
  /**
   * Test seam: called after each step of a snapshot switch. Throwing
   * `JournalCrash` from it stops the journal dead there, as kill -9 would:
   * its files are closed and nothing else is written or removed.
   */
  afterSwitchStep?: (step: SwitchStep) => void;
}

/** For operators (Stats counters); every field only grows except logBytes and generation. */
export interface JournalStats {
  /** Group commits that wrote records. */
  commits: number;
  fsyncs: number;
  /** Sum and maximum of fdatasync latencies, in microseconds. */
  fsyncMicrosTotal: number;
  fsyncMicrosMax: number;
  snapshots: number;
  /** Snapshots that could not be written (e.g. disk full); the current generation went on. */
  snapshotFailures: number;
  /** Calls refused because the log could not grow (disk full). */
  reserveFailures: number;
  /** Bytes of records in the current log. */
  logBytes: number;
  generation: number;
}

/**
 * Writes the table's image into a snapshot: all of it at once, or as a
 * generator that yields between pieces, so that a background snapshot can
 * spread the work over event-loop turns. Either way, what it writes must be
 * the table as it was when it was called: a generator copies what it needs
 * before its first yield.
 */
export type SnapshotWriter = (w: RecordWriter) => Iterator<unknown> | void;

/**
 * A snapshot written while the journal goes on (Journal.startSnapshot). Its
 * image is the table as it was when it began, at a group-commit boundary
 * (nothing pending), so the records written to the current log since then
 * (`carry`) are exactly what must follow the image: they begin the new log.
 */
interface BackgroundSnapshot {
  readonly generation: number;
  readonly image: RecordWriter;
  /** Every byte written to the current log since the image was taken, in order. */
  readonly carry: RecordWriter;
  /** Settles when the snapshot has switched, failed or been abandoned; never rejects. */
  task: Promise<void>;
  /**
   * Set when the journal closes or stops: the snapshot ends at its next
   * step, closing its files but leaving them for the next start-up to
   * remove (another journal may be opening this directory by then).
   */
  abandoned: boolean;
}

/** Thrown by an `afterSwitchStep` seam to simulate a crash at that step. */
export class JournalCrash extends Error {
  override readonly name = 'JournalCrash';
}

/** Free room kept beyond what callers reserve, for records appended without a reservation (clean-ups). */
const HEADROOM_BYTES = 64 * 1024;
const SNAPSHOT_RETRY_MS = 10_000;
/** A background snapshot copies what was appended meanwhile off the event loop until this little is left. */
const CARRY_CATCH_UP_BYTES = 64 * 1024;
/** ...or for this many rounds, if appends keep up with it. */
const CARRY_CATCH_UP_ROUNDS = 8;

/** A journal write or sync error, as the caller sees it. */
function ioError(what: string, err: unknown): VswapError {
  const code = (err as NodeJS.ErrnoException).code;
  const msg = `${what}: ${(err as Error).message}`;
  return code === 'ENOSPC' || code === 'EFBIG' || code === 'EDQUOT' ? resourceExhausted(msg) : unavailable(msg);
}

export class Journal {
  /** Records appended since the last group commit. */
  readonly pending = new RecordWriter();
  private readonly dir: string;
  private generation: number;
  private fd: number;
  /** End of the valid records in the log; appends go here. */
  private logBytes: number;
  /** File size: [logBytes, allocated) is zero-filled room. */
  private allocated: number;
  private flushScheduled = false;
  private waiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private fsyncTimer: NodeJS.Timeout | undefined;
  private dirty = false;
  private readonly fsync: FsyncPolicy;
  private readonly snapshotAfterBytes: number;
  private readonly snapshotSliceMs: number;
  private readonly preallocateBytes: number;
  private snapshotWriter: SnapshotWriter | undefined;
  /** The snapshot being written in the background; at most one at a time. */
  private background: BackgroundSnapshot | undefined;
  /** The removal of the last replaced snapshot, on the thread pool; settled once the file is gone. */
  private removingOld: Promise<void> = Promise.resolve();
  /** No automatic snapshot before this time (after one failed). */
  private snapshotRetryAt = 0;
  /** fdatasyncs in flight: a log retired by a switch is closed when the last on it ends. */
  private readonly syncs = new DescriptorSyncs();
  /** Set when a write or sync failed after the table changed: memory and disk may differ, so no more writes. */
  private failed: Error | undefined;
  private closed = false;
  readonly stats: JournalStats;

  private constructor(
    private readonly options: JournalOptions,
    generation: number,
    fd: number,
    logBytes: number,
    allocated: number,
  ) {
    this.dir = options.dir;
    this.generation = generation;
    this.fd = fd;
    this.logBytes = logBytes;
    this.allocated = allocated;
    this.fsync = options.fsync ?? 'batch';
    this.snapshotAfterBytes = options.snapshotAfterBytes ?? 64 * 1024 * 1024;
    this.snapshotSliceMs = options.snapshotSliceMs ?? 4;
    this.preallocateBytes = Math.max(HEADROOM_BYTES * 2, options.preallocateBytes ?? 1024 * 1024);
    this.stats = {
      commits: 0,
      fsyncs: 0,
      fsyncMicrosTotal: 0,
      fsyncMicrosMax: 0,
      snapshots: 0,
      snapshotFailures: 0,
      reserveFailures: 0,
      logBytes,
      generation,
    };
    if (this.fsync === 'batch') {
      this.fsyncTimer = setInterval(() => {
        if (this.dirty && !this.closed && !this.failed) this.syncInBackground().catch(() => undefined);
      }, options.batchIntervalMs ?? 100);
      this.fsyncTimer.unref();
    }
  }

  /**
   * Opens the journal in `dir`, replaying the current generation's snapshot
   * and then its log into `apply`; a format-1 directory is read as the base
   * of generation 0 (the first snapshot migrates it). A torn record at the
   * log's tail (a crash mid-append) is cut off; corruption throws
   * JournalCorruptError naming the file and offset.
   */
  static open(options: JournalOptions, apply: (r: JournalRecord) => void): Journal {
    const dir = options.dir;
    fs.mkdirSync(dir, { recursive: true });
    const g = listDir(dir);
    let replayed = 0;
    const end = replayGeneration(dir, g, readGeneration(dir, g), (r) => {
      replayed++;
      apply(r);
    });
    for (const n of g.stale) unlinkQuietly(path.join(dir, n));
    const logPath = path.join(dir, logName(g.generation));
    let fd: number;
    let validBytes = end.validBytes;
    if (validBytes === 0) {
      // No log yet (a fresh directory, or a format-1 one): create it with its header.
      fd = fs.openSync(logPath, 'w+');
      writeAllAt(fd, fileHeader(FileKind.Log, g.generation), 0);
      validBytes = HEADER_BYTES;
      if (g.generation === 0) fsyncDir(dir);
    } else {
      fd = fs.openSync(logPath, 'r+');
      if (end.tornBytes > 0) {
        options.log.warn(
          { file: logPath, offset: validBytes, bytes: end.tornBytes, reason: end.tornReason },
          'journal: cutting a torn record off the tail',
        );
      }
    }
    // Cut the torn tail and any zero-filled room: [validBytes, allocated) must be zeros.
    fs.ftruncateSync(fd, validBytes);
    options.log.info({ records: replayed, dir, generation: g.generation, migrated: g.legacy }, 'journal replayed');
    return new Journal(options, g.generation, fd, validBytes, validBytes);
  }

  /** Called when a snapshot is due: must write every live record into `w` (see SnapshotWriter). */
  onSnapshot(writer: SnapshotWriter): void {
    this.snapshotWriter = writer;
  }

  /**
   * Makes sure the log has room for what is pending plus `bytes` more, so the
   * next commit cannot fail for space. Call it before changing the table;
   * it throws RESOURCE_EXHAUSTED (disk full, file too large) with nothing
   * changed, or UNAVAILABLE once the journal has stopped after an I/O error.
   */
  reserve(bytes: number): void {
    if (this.failed)
      throw unavailable(
        `the coordinator's journal stopped after an I/O error ` +
          `(${this.failed.message}); nothing was changed; restart the coordinator`,
      );
    if (this.closed) throw unavailable('the coordinator is shutting down');
    const need = this.logBytes + this.pending.length + bytes + HEADROOM_BYTES;
    if (need <= this.allocated) return;
    const err = this.grow(need);
    if (err) {
      this.stats.reserveFailures++;
      throw ioError(`the coordinator's journal cannot grow (nothing was changed; retry when there is room)`, err);
    }
  }

  /** Zero-fills the log up to at least `need` bytes; returns the error if it could not. */
  private grow(need: number): Error | undefined {
    const target = Math.ceil(need / this.preallocateBytes) * this.preallocateBytes;
    try {
      zeroFill(this.fd, this.allocated, target);
      this.allocated = target;
      return undefined;
    } catch (err) {
      // Give back what part of the room was written; the file stays as it was.
      try {
        fs.ftruncateSync(this.fd, this.allocated);
      } catch {
        // shrinking needs no space; if even that fails the zeros stay, which reads as room
      }
      this.options.log.warn({ err: String(err), need, allocated: this.allocated }, 'journal: cannot grow the log');
      return err as Error;
    }
  }

  /** Resolves once every record appended so far is written (and synced per policy). */
  commit(): Promise<void> {
    if (this.closed) return Promise.reject(unavailable('the coordinator is shutting down'));
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * The journal can no longer promise that what it acknowledges is on disk
   * (a write or fsync failed after the table changed): it refuses every
   * further change until a restart replays what did reach the disk.
   */
  private stop(what: string, err: unknown): Error {
    if (!this.failed) {
      this.failed = ioError(what, err);
      if (this.background) this.background.abandoned = true;
      this.options.log.error({ err: String(err) }, `journal: ${what}; refusing further changes until restart`);
    }
    return unavailable(`${this.failed.message}; the outcome of this call is unknown`);
  }

  private flush(): void {
    this.flushScheduled = false;
    const waiters = this.waiters;
    this.waiters = [];
    const failed = (err: Error): void => {
      for (const w of waiters) w.reject(err);
    };
    if (this.closed && this.fd < 0) return failed(unavailable('the coordinator is shutting down'));
    if (this.failed) {
      this.pending.clear();
      return failed(unavailable(`the coordinator's journal stopped after an I/O error (${this.failed.message})`));
    }
    if (this.pending.length > 0) {
      const data = this.pending.view();
      try {
        if (this.logBytes + data.length > this.allocated) {
          // Only records appended without a reservation get here.
          const err = this.grow(this.logBytes + data.length);
          if (err) throw err;
        }
        // The write goes to the page cache: a crash of this process after it
        // loses nothing. fsync (below) is about the machine crashing.
        writeAllAt(this.fd, data, this.logBytes);
        this.background?.carry.raw(data);
      } catch (err) {
        this.pending.clear();
        return failed(this.stop('journal write failed', err));
      }
      this.logBytes += data.length;
      this.pending.clear();
      this.dirty = true;
      this.stats.commits++;
    }
    if (
      this.logBytes >= this.snapshotAfterBytes &&
      this.snapshotWriter &&
      !this.background &&
      Date.now() >= this.snapshotRetryAt
    )
      this.startSnapshot();
    this.stats.logBytes = this.logBytes;
    const done = (): void => {
      for (const w of waiters) w.resolve();
    };
    // A record is acknowledged only once it is as durable as the policy says.
    if (this.fsync === 'always' && this.dirty)
      this.syncInBackground().then(done, (err: unknown) => failed(this.stop('journal fsync failed', err)));
    else done();
  }

  /** fdatasync on the thread pool, so the event loop keeps serving meanwhile. */
  private syncInBackground(): Promise<void> {
    this.dirty = false;
    const started = process.hrtime.bigint();
    return new Promise<void>((resolve, reject) => {
      this.syncs.fdatasync(this.fd, (err) => {
        if (err) {
          this.options.log.error({ err }, 'journal: fdatasync failed');
          reject(err);
          return;
        }
        this.countSync(started);
        resolve();
      });
    });
  }

  private countSync(started: bigint): void {
    const micros = Number((process.hrtime.bigint() - started) / 1000n);
    this.stats.fsyncs++;
    this.stats.fsyncMicrosTotal += micros;
    if (micros > this.stats.fsyncMicrosMax) this.stats.fsyncMicrosMax = micros;
  }

  private step(s: SwitchStep, newFd?: number): void {
    if (!this.options.afterSwitchStep) return;
    try {
      this.options.afterSwitchStep(s);
    } catch (err) {
      if (err instanceof JournalCrash) {
        // Dead here, as after kill -9: the kernel closes the files, nothing else happens.
        this.closed = true;
        if (this.fsyncTimer) clearInterval(this.fsyncTimer);
        if (newFd !== undefined && newFd !== this.fd) fs.closeSync(newFd);
        fs.closeSync(this.fd);
        this.fd = -1;
      }
      throw err;
    }
  }

  /**
   * Starts generation N+1 now, on the event loop: writes the whole table to
   * its snapshot (synced), creates its empty log (synced), renames the
   * snapshot into place (the switch), fsyncs the directory, and removes
   * generation N. Returns false, with generation N still in use, when the new
   * files cannot be written (e.g. the disk is full; a later commit tries
   * again) or a background snapshot is being written (it will switch).
   * Commits start background snapshots themselves (startSnapshot); this is
   * for start-up and tests.
   */
  snapshot(): boolean {
    if (!this.snapshotWriter || this.closed || this.failed || this.background) return false;
    const next = this.generation + 1;
    const { image, rest } = this.beginImage(next);
    if (rest) while (!rest.next().done);
    image.end();
    const tmp = this.snapshotTmpPath(next);
    const logPath = this.logPath(next);
    let newFd: number | undefined;
    try {
      const fd = fs.openSync(tmp, 'w');
      try {
        writeAllAt(fd, image.view(), 0);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      return this.snapshotFailed(err, next, newFd);
    }
    this.step('snapshot-synced');
    const allocated = this.roomAfter(HEADER_BYTES);
    try {
      newFd = fs.openSync(logPath, 'w+');
      writeAllAt(newFd, fileHeader(FileKind.Log, next), 0);
      zeroFill(newFd, HEADER_BYTES, allocated);
      fs.fsyncSync(newFd);
    } catch (err) {
      return this.snapshotFailed(err, next, newFd);
    }
    this.step('log-created', newFd);
    return this.switchTo(next, newFd, HEADER_BYTES, allocated, image.length);
  }

  /**
   * Settles once the background snapshot under way, if any, has switched,
   * failed or been abandoned, and the snapshot it replaced is removed.
   */
  async snapshotSettled(): Promise<void> {
    await this.background?.task;
    await this.removingOld;
  }

  /** A new generation's image: its header, then the writer's first piece, run now (where a generator copies the table). */
  private beginImage(generation: number): { image: RecordWriter; rest: Iterator<unknown> | undefined } {
    const image = new RecordWriter(1024 * 1024);
    image.raw(fileHeader(FileKind.Snapshot, generation));
    const pieces = this.snapshotWriter!(image);
    return { image, rest: pieces && !pieces.next().done ? pieces : undefined };
  }

  private logPath(generation: number): string {
    return path.join(this.dir, logName(generation));
  }

  private snapshotTmpPath(generation: number): string {
    return `${path.join(this.dir, snapshotName(generation))}.tmp`;
  }

  /**
   * Starts generation N+1 without stopping the callers: the image is taken
   * now (a copy, see SnapshotWriter) and built a slice per event-loop turn;
   * it is written and synced on the thread pool; the new log is created
   * there too, and the records committed meanwhile (which also went to
   * generation N's log, so a crash before the switch loses nothing) are
   * copied into it. Only the switch itself (the last of those records, a
   * sync, the rename and the directory's fsync) runs in one turn.
   */
  private startSnapshot(): void {
    const next = this.generation + 1;
    const { image, rest } = this.beginImage(next);
    const s: BackgroundSnapshot = {
      generation: next,
      image,
      carry: new RecordWriter(),
      task: Promise.resolve(),
      abandoned: false,
    };
    this.background = s;
    s.task = this.writeInBackground(s, rest).catch((err: unknown) => {
      // The crash seam stops the journal dead (step() closed its files); anything else is a bug.
      if (!(err instanceof JournalCrash))
        this.options.log.error({ err: String(err) }, 'journal: background snapshot failed unexpectedly');
    });
  }

  private async writeInBackground(s: BackgroundSnapshot, rest: Iterator<unknown> | undefined): Promise<void> {
    const next = s.generation;
    const tmp = this.snapshotTmpPath(next);
    const logPath = this.logPath(next);
    let newFd: number | undefined;
    let copied = 0;
    try {
      while (rest) {
        const until = performance.now() + this.snapshotSliceMs;
        let done: boolean | undefined;
        while (!(done = rest.next().done) && performance.now() < until);
        if (done) break;
        await nextTurn();
        // Every await is a point where the journal may have closed or stopped.
        if (s.abandoned) return;
      }
      s.image.end();
      const fd = await openAsync(tmp, 'w');
      try {
        await writeAllAtAsync(fd, s.image.view(), 0);
        await fsyncAsync(fd);
      } finally {
        await closeAsync(fd);
      }
      if (s.abandoned) return;
      this.step('snapshot-synced');
      newFd = await openAsync(logPath, 'w+');
      await writeAllAtAsync(newFd, fileHeader(FileKind.Log, next), 0);
      await zeroFillAsync(newFd, HEADER_BYTES, this.preallocateBytes);
      await fsyncAsync(newFd);
      if (s.abandoned) return closeInBackground(newFd);
      this.step('log-created', newFd);
      // Copy what was committed meanwhile until little is left; appends go on during each round.
      for (let round = 0; round < CARRY_CATCH_UP_ROUNDS; round++) {
        const part = s.carry.view().subarray(copied);
        if (part.length <= CARRY_CATCH_UP_BYTES) break;
        await writeAllAtAsync(newFd, part, HEADER_BYTES + copied);
        await fdatasyncAsync(newFd);
        copied += part.length;
        if (s.abandoned) return closeInBackground(newFd);
      }
    } catch (err) {
      if (err instanceof JournalCrash) throw err;
      this.background = undefined;
      this.snapshotFailed(err, next, newFd);
      return;
    }
    // From here to the switch in one turn: no commit can reach generation N's log without reaching the new one.
    this.background = undefined;
    const last = s.carry.view().subarray(copied);
    const logBytes = HEADER_BYTES + s.carry.length;
    const zeroed = Math.max(this.preallocateBytes, logBytes);
    const allocated = this.roomAfter(logBytes);
    try {
      if (last.length > 0 || allocated > zeroed) {
        writeAllAt(newFd, last, HEADER_BYTES + copied);
        zeroFill(newFd, zeroed, allocated);
        fs.fdatasyncSync(newFd);
      }
    } catch (err) {
      this.snapshotFailed(err, next, newFd);
      return;
    }
    this.switchTo(next, newFd, logBytes, allocated, s.image.length);
  }

  /**
   * How far a new log starting with `logBytes` of records is zero-filled:
   * at least preallocateBytes, and as much room as the current log has left,
   * which calls under way have reserved (reserve()) and will commit into the
   * new log: a switch must not take back room they were promised.
   */
  private roomAfter(logBytes: number): number {
    const need = logBytes + (this.allocated - this.logBytes);
    return Math.max(this.preallocateBytes, Math.ceil(need / this.preallocateBytes) * this.preallocateBytes);
  }

  /** A snapshot could not be written: its files go, generation N goes on, and commits try again later. */
  private snapshotFailed(err: unknown, generation: number, newFd: number | undefined): false {
    if (newFd !== undefined) closeInBackground(newFd);
    unlinkQuietly(this.snapshotTmpPath(generation));
    unlinkQuietly(this.logPath(generation));
    this.stats.snapshotFailures++;
    this.snapshotRetryAt = Date.now() + SNAPSHOT_RETRY_MS;
    this.options.log.warn(
      { err: String(err), generation: this.generation },
      'journal: snapshot failed; the current generation goes on',
    );
    return false;
  }

  /**
   * The switch to generation `next`, whose synced snapshot is at its tmp
   * path and whose synced log (`logBytes` of records, zero-filled up to
   * `allocated`) is open at `newFd`: renames the snapshot into place, fsyncs
   * the directory, and removes generation N.
   */
  private switchTo(next: number, newFd: number, logBytes: number, allocated: number, imageBytes: number): boolean {
    try {
      fs.renameSync(this.snapshotTmpPath(next), path.join(this.dir, snapshotName(next)));
    } catch (err) {
      return this.snapshotFailed(err, next, newFd);
    }
    this.step('renamed', newFd);
    try {
      fsyncDir(this.dir);
    } catch (err) {
      // The switch may or may not survive a machine crash: refuse changes until restart.
      this.stop('journal directory fsync failed', err);
    }
    this.step('dir-synced', newFd);
    const oldFd = this.fd;
    const oldGen = this.generation;
    this.fd = newFd;
    this.generation = next;
    this.logBytes = logBytes;
    this.allocated = allocated;
    this.dirty = false; // the old log's records are in the synced snapshot and the synced new log
    // Unlinked while still open, so that the last close (on the thread pool) is what frees its blocks.
    unlinkQuietly(this.logPath(oldGen));
    this.syncs.retire(oldFd);
    this.removingOld = unlinkInBackground(path.join(this.dir, snapshotName(oldGen)));
    if (oldGen === 0) {
      unlinkQuietly(path.join(this.dir, LEGACY_SNAPSHOT));
      unlinkQuietly(path.join(this.dir, LEGACY_LOG));
    }
    this.step('old-removed');
    this.stats.snapshots++;
    this.stats.generation = next;
    this.stats.logBytes = this.logBytes;
    this.options.log.info({ bytes: imageBytes, generation: next }, 'journal: snapshot written, new generation');
    return true;
  }

  /** Writes what is pending, syncs, and closes; a background snapshot under way is abandoned. */
  close(): void {
    if (this.closed) return;
    this.snapshotWriter = undefined; // no snapshot starts now
    this.flush();
    if (this.background) this.background.abandoned = true;
    if (this.dirty && !this.failed) {
      const started = process.hrtime.bigint();
      try {
        fs.fdatasyncSync(this.fd);
        this.countSync(started);
      } catch (err) {
        this.options.log.error({ err: String(err) }, 'journal: fdatasync at close failed');
      }
      this.dirty = false;
    }
    this.closed = true;
    if (this.fsyncTimer) clearInterval(this.fsyncTimer);
    try {
      fs.ftruncateSync(this.fd, this.logBytes); // give back the unused room
    } catch {
      // zeros past the end read as room
    }
    fs.closeSync(this.fd);
  }
}
