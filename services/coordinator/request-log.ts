/**
 * The coordinator's memory of answered mutating calls, by owner and
 * request_id (API.md, Retries). A call repeated with the same owner and
 * request_id within the window gets the first call's answer and applies
 * nothing again; a repeat that arrives while the first is still running waits
 * for the first one's answer (bounded by the repeat's own deadline). The same
 * id used for a different request is refused with ALREADY_EXISTS: the digest
 * of the method and every request field must match.
 *
 * What is remembered: every answer of a call that may have changed state, so
 * successes and errors outside CHANGED_NOTHING. An error in CHANGED_NOTHING
 * (validation, UNAVAILABLE, RESOURCE_EXHAUSTED, a call cancelled before it
 * committed, ...) changed nothing by the contract, so it is forgotten and a
 * retry runs the request afresh (and may succeed).
 *
 * Memory is bounded: at most `maxEntries` answers, `maxSlots` slot ids and
 * counts among them, and `maxPageBytes` of pages (a Load with release is
 * answered with its pages); past one, the oldest answers go first. A retry whose
 * answer was forgotten (outside the window, or evicted early) is a new
 * request and is applied again.
 *
 * Durability: a call's answer is written twice. First as an answer record
 * in the coordinator's journal, in the same commit as the change it answers
 * (CallContext.answer): the change and its answer reach the disk together,
 * and replay hands the answers back (`replayed`), so a coordinator killed
 * between its commit and the append below still answers the retry instead
 * of applying the request again. Then, with a `file`, appended to it (one
 * line: CRC-32, then JSON) before the reply, synced per the `fsync` policy,
 * and read back at start: the file keeps answers past the journal's next
 * snapshot, which carries only the answers the file does not have yet
 * (unpersisted(); e.g. while the disk is full). With `fsync` batch a machine
 * crash may lose the last 100 ms of both. The file is rewritten with the live
 * answers only (temp file, fsync, rename, directory fsync) once it is twice
 * their size.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { status as Status } from '@grpc/grpc-js';
import type { Logger } from '../common/logger';
import { VswapError, invalidArgument, isServiceError } from '../common/errors';
import { packAnswer, unpackAnswer } from './packed-answer';

/** The contract's limit on request_id (API.md). */
export const MAX_REQUEST_ID_LENGTH = 64;

/** The calls deduplicated by request_id; 'Load' only with release (a Load without it changes nothing). */
export type MutatingMethod = 'SwapOut' | 'Allocate' | 'Store' | 'Duplicate' | 'Free' | 'Load';

export interface RequestLogOptions {
  /** How long an answer is remembered after the first call arrived, in ms; default 600000 (10 minutes). */
  windowMs?: number;
  /** Most answers remembered at once; default 100000. */
  maxEntries?: number;
  /** Most slot ids (and counts) remembered across all answers; default 4000000 (about 32 MiB). */
  maxSlots?: number;
  /**
   * Most page bytes remembered across all answers (a Load with release is
   * answered with its pages); past it the oldest answers holding pages go
   * first; default 16 MiB (kept in the file as base64: read back at start).
   */
  maxPageBytes?: number;
  /** Wall clock in ms (kept across restarts; a test seam); default Date.now. */
  now?: () => number;
  /** Where answers are kept across restarts (e.g. <data dir>/requests.log); default none (memory only). */
  file?: string;
  /**
   * As the journal's: `always` syncs before the reply, `batch` every 100 ms, `never` leaves it to the OS; default
   * `batch`.
   */
  fsync?: 'always' | 'batch' | 'never';
  /**
   * Answer records replayed from the coordinator's journal
   * (Coordinator.takeReplayedAnswers()): answers whose change committed, in
   * case requests.log missed them (a crash between the commit and the
   * append, or a full disk). Default none.
   */
  replayed?: readonly Buffer[];
  /**
   * Test seam: called (method, owner NUL request_id) after a call's change committed and before its answer
   * is appended to the file. Throwing stops the call there, as a crash would
   * (its answer is then only in the journal's answer record).
   */
  afterCommit?: (method: MutatingMethod, key: string) => void;
  log: Logger;
}

export type ResolvedRequestLogOptions = Required<Omit<RequestLogOptions, 'file' | 'replayed' | 'afterCommit'>> & {
  file: string | undefined;
  afterCommit: ((method: MutatingMethod, key: string) => void) | undefined;
};

export function addRequestLogDefaults(o: RequestLogOptions): ResolvedRequestLogOptions {
  return {
    windowMs: o.windowMs ?? 600_000,
    maxEntries: o.maxEntries ?? 100_000,
    maxSlots: o.maxSlots ?? 4_000_000,
    maxPageBytes: o.maxPageBytes ?? 16 * 1024 * 1024,
    now: o.now ?? Date.now,
    file: o.file,
    fsync: o.fsync ?? 'batch',
    afterCommit: o.afterCommit,
    log: o.log,
  };
}

/** One line of the requests file. */
interface StoredAnswer {
  /** owner NUL request_id */
  k: string;
  m: MutatingMethod;
  d: string;
  at: number;
  size: number;
  /** Page bytes the answer holds (absent: none). */
  bytes?: number;
  ok: boolean;
  /** The answer (ok), or [code, message]. */
  v: unknown;
}

/** Status codes that, by the contract, mean the call changed nothing: not remembered. */
export const CHANGED_NOTHING: ReadonlySet<Status> = new Set([
  Status.INVALID_ARGUMENT,
  Status.NOT_FOUND,
  Status.PERMISSION_DENIED,
  Status.UNAUTHENTICATED,
  Status.FAILED_PRECONDITION,
  Status.OUT_OF_RANGE,
  Status.ALREADY_EXISTS,
  Status.RESOURCE_EXHAUSTED,
  Status.UNAVAILABLE,
  Status.CANCELLED,
  Status.DEADLINE_EXCEEDED,
]);

/** A first call's answer, as a retry gets it (a success's value as packAnswer keeps it). */
type Outcome = { ok: true; value: unknown } | { ok: false; error: VswapError };

/** A remembered failure, as Entry.answer holds it. */
class Failure {
  constructor(readonly error: VswapError) {}
}

/** Entry.answer while the first call is in flight. */
const IN_FLIGHT: unique symbol = Symbol('in flight');

interface Entry {
  method: MutatingMethod;
  digest: string;
  /** When the first call arrived (ms): the window counts from here. */
  at: number;
  /** Slot ids and counts the answer holds (the memory bound counts these). */
  size: number;
  /** Page bytes the answer holds (maxPageBytes counts these). */
  bytes: number;
  /**
   * IN_FLIGHT while the first call runs; then its answer: the value as
   * packAnswer keeps it, or a Failure (no Outcome object per entry).
   */
  answer: unknown;
  /**
   * While the first call is in flight: resolves when it ends, with its
   * outcome, or undefined when it is not remembered. Dropped once it ended.
   */
  settled: Promise<Outcome | undefined> | undefined;
  /** Bytes of its line in the requests file, once written (undefined: not in the file). */
  line: number | undefined;
  /**
   * Its journal answer record while the answer is not in the file yet (a
   * journal snapshot carries these: see unpersisted()).
   */
  journaled: Buffer | undefined;
}

/** Given to a call's `apply`: the journal record of its answer (CallContext.answer). */
export interface AnswerRecorder<T> {
  record(value: T): Buffer;
}

/**
 * Most bytes of the journal record of an answer to `slots` slots (reserved
 * with the change): owner, id and digest, then per slot an id and a tier or
 * count, or for a Load a page as base64 too.
 */
export function answerRecordBound(method: MutatingMethod, slots: number): number {
  return 2048 + slots * (method === 'Load' ? 5600 : 48);
}

export interface RequestKey {
  method: MutatingMethod;
  owner: string;
  /** Empty: no deduplication. */
  requestId: string;
  /** requestDigest() of the method and every field of the request. */
  digest: string;
}

export interface RequestLogStats {
  /** Answers remembered now (in flight included). */
  entries: number;
  /** Slot ids and counts held by them. */
  slots: number;
  /** Page bytes held by them. */
  pageBytes: number;
  /** Retries answered from memory (or by waiting for the first call). */
  replayed: number;
  /** Same id, different request: refused. */
  conflicts: number;
  /** Answers dropped before their window ended, to keep within the bounds. */
  evictedEarly: number;
}

/** One field of a request, for requestDigest. */
export type DigestPart = string | number | boolean | readonly number[] | readonly Uint8Array[];

/**
 * SHA-256 over the method and the request's fields, each tagged with its
 * type and length so that different requests cannot encode alike.
 */
export function requestDigest(method: MutatingMethod, parts: readonly DigestPart[]): string {
  const h = createHash('sha256');
  const head = Buffer.alloc(12);
  const tag = (t: number, n: number): void => {
    head.writeUInt32LE(t, 0);
    head.writeDoubleLE(n, 4);
    h.update(head);
  };
  h.update(method);
  for (const p of parts) {
    if (typeof p === 'string') {
      tag(1, Buffer.byteLength(p));
      h.update(p);
    } else if (typeof p === 'number') tag(2, p);
    else if (typeof p === 'boolean') tag(3, p ? 1 : 0);
    else if (p.length > 0 && typeof p[0] !== 'number') {
      tag(4, p.length);
      for (const b of p as readonly Uint8Array[]) {
        tag(5, b.length);
        h.update(b);
      }
    } else {
      tag(6, p.length);
      const ids = Float64Array.from(p as readonly number[]);
      h.update(new Uint8Array(ids.buffer));
    }
  }
  return h.digest('base64');
}

export function checkRequestId(requestId: string): void {
  if (requestId.length > MAX_REQUEST_ID_LENGTH)
    throw invalidArgument(`request_id is ${requestId.length} characters: at most ${MAX_REQUEST_ID_LENGTH}`);
}

function codeOf(err: unknown): Status {
  if (err instanceof VswapError) return err.code;
  if (isServiceError(err)) return err.code;
  return Status.UNKNOWN;
}

/** The error a retry gets for a remembered failure: the same code and message, never the internals. */
function rememberedError(err: unknown): VswapError {
  if (err instanceof VswapError) return err;
  if (isServiceError(err) && err.code !== Status.UNKNOWN) return new VswapError(err.code, err.details);
  return new VswapError(
    Status.UNKNOWN,
    'internal error (the first call with this request_id failed; the coordinator log has the details)',
  );
}

function waitFor<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  const gaveUp = (): VswapError =>
    new VswapError(Status.CANCELLED, 'cancelled while waiting for the first call with this request_id to finish');
  if (signal.aborted) return Promise.reject(gaveUp());
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(gaveUp());
    signal.addEventListener('abort', onAbort, { once: true });
    void p.then((v) => {
      signal.removeEventListener('abort', onAbort);
      resolve(v);
    });
  });
}

export class RequestLog {
  private readonly options: ResolvedRequestLogOptions;
  /** owner + NUL + request_id -> entry, oldest first (Map keeps insertion order). */
  private readonly entries = new Map<string, Entry>();
  private slots = 0;
  /** When early eviction was last logged (logged at most once a minute). */
  private lastEvictWarning = -Infinity;
  private pageBytes = 0;
  readonly stats: RequestLogStats = { entries: 0, slots: 0, pageBytes: 0, replayed: 0, conflicts: 0, evictedEarly: 0 };
  private fd: number | undefined;
  private fileBytes = 0;
  private liveBytes = 0;
  private dirty = false;
  private readonly syncTimer: NodeJS.Timeout | undefined;

  constructor(options: RequestLogOptions) {
    this.options = addRequestLogDefaults(options);
    const file = this.options.file;
    if (file !== undefined) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      this.load(file);
    }
    this.restore(options.replayed ?? []);
    if (file === undefined) return;
    try {
      this.compact(file);
    } catch (err) {
      // A full disk must not keep the coordinator from starting: append to the file as it is.
      this.options.log.warn(
        { err: String(err), file },
        'request log: could not rewrite the file at start; appending to it as it is',
      );
      this.fd = fs.openSync(file, 'a');
      this.fileBytes = this.liveBytes = fs.fstatSync(this.fd).size;
    }
    if (this.options.fsync === 'batch') {
      this.syncTimer = setInterval(() => {
        if (this.dirty && this.fd !== undefined) {
          this.dirty = false;
          fs.fdatasync(this.fd, (err) => {
            if (err) this.options.log.error({ err }, 'request log: fdatasync failed');
          });
        }
      }, 100);
      this.syncTimer.unref();
    }
  }

  /** Reads the answers kept in `file` that are still within the window. */
  private load(file: string): void {
    let data: string;
    try {
      data = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const oldest = this.options.now() - this.options.windowMs;
    let bad = 0;
    for (const line of data.split('\n')) {
      if (line === '') continue;
      const a = parseLine(line);
      if (!a) {
        bad++;
        continue;
      }
      if (a.at < oldest) continue;
      const answer = a.ok
        ? packAnswer(a.v)
        : new Failure(new VswapError((a.v as [Status, string])[0], (a.v as [Status, string])[1]));
      const old = this.entries.get(a.k);
      if (old) this.drop(a.k, old);
      // Its line length is set by the compaction that follows the load.
      this.admit(a, answer, 0, undefined);
    }
    this.evict();
    this.updateStats();
    // A torn last line is a crash mid-append; anything else bad is worth a word.
    if (bad > 0)
      this.options.log.warn(
        { file, bad },
        'request log: lines that fail their CRC were skipped (their retries are applied again)',
      );
    this.options.log.info({ file, answers: this.entries.size }, 'request log: answers read back');
  }

  /**
   * Answers from the journal's answer records that the file lacks (the
   * first call's change committed, then the coordinator died before the
   * append, or the append failed). The compaction at start writes them.
   */
  private restore(payloads: readonly Buffer[]): void {
    const oldest = this.options.now() - this.options.windowMs;
    let restored = 0;
    for (const p of payloads) {
      const a = parseAnswer(p.toString('utf8'));
      if (!a || a.at < oldest || this.entries.has(a.k)) continue;
      this.admit(a, packAnswer(a.v), undefined, p);
      restored++;
    }
    this.evict();
    this.updateStats();
    if (restored > 0)
      this.options.log.info({ answers: restored }, 'request log: answers only the journal had, taken from it');
  }

  /** Keeps a settled answer read back (from the file or the journal), counted against the bounds. */
  private admit(a: StoredAnswer, answer: unknown, line: number | undefined, journaled: Buffer | undefined): void {
    const bytes = a.bytes ?? 0;
    this.entries.set(a.k, {
      method: a.m,
      digest: a.d,
      at: a.at,
      size: a.size,
      bytes,
      answer,
      settled: undefined,
      line,
      journaled,
    });
    this.slots += a.size;
    this.pageBytes += bytes;
  }

  /** Whether a journal answer record is one this log lacks (within the window, not known): restore() would add it. */
  lacks(payload: Buffer): boolean {
    const a = parseAnswer(payload.toString('utf8'));
    return a !== undefined && a.at >= this.options.now() - this.options.windowMs && !this.entries.has(a.k);
  }

  /**
   * Adds the journal's answer records this log lacks (after a crash between
   * a commit and its append) and appends them to the file; those it cannot
   * append stay in unpersisted() for the journal's snapshots.
   */
  restoreFromJournal(payloads: readonly Buffer[]): void {
    const before = new Set(this.entries.keys());
    this.restore(payloads);
    for (const [k, e] of this.entries) if (!before.has(k) && e.journaled) this.persistRestored(k, e);
  }

  private persistRestored(k: string, e: Entry): void {
    const o = outcomeOf(e);
    if (this.fd === undefined || !o) return;
    try {
      const line = Buffer.from(formatLine(storedAnswer(k, e, o)));
      writeAll(this.fd, line);
      this.fileBytes += line.length;
      this.liveBytes += line.length;
      e.line = line.length;
      e.journaled = undefined;
      this.dirty = true;
    } catch (err) {
      this.options.log.warn({ err: String(err) }, 'request log: could not append an answer taken from the journal');
    }
  }

  /** Journal records of the answers not yet in the file (a journal snapshot keeps them). */
  *unpersisted(): Iterable<Buffer> {
    for (const e of this.entries.values()) if (e.journaled && e.line === undefined) yield e.journaled;
  }

  /** Rewrites the file with the live answers only, atomically, and opens it for appending. */
  private compact(file: string): void {
    const tmp = `${file}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    let bytes = 0;
    try {
      const written: [Entry, number][] = [];
      for (const [k, e] of this.entries) {
        const o = outcomeOf(e);
        if ((e.line === undefined && !e.journaled) || !o) continue;
        const line = Buffer.from(formatLine(storedAnswer(k, e, o)));
        writeAll(fd, line);
        written.push([e, line.length]);
        bytes += line.length;
      }
      fs.fsyncSync(fd);
      // Only now in the file: until then a journaled answer stays in the journal's snapshots.
      for (const [e, n] of written) {
        e.line = n;
        e.journaled = undefined;
      }
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    const dirFd = fs.openSync(path.dirname(file), 'r');
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
    this.fd = fs.openSync(file, 'a');
    this.fileBytes = this.liveBytes = bytes;
  }

  /** Appends a remembered answer; with fsync `always`, resolves once it is on disk. */
  private async persist(k: string, e: Entry): Promise<void> {
    const file = this.options.file;
    const o = outcomeOf(e);
    if (file === undefined || this.fd === undefined || !o || this.entries.get(k) !== e) return;
    const line = Buffer.from(formatLine(storedAnswer(k, e, o)));
    writeAll(this.fd, line);
    this.fileBytes += line.length;
    this.liveBytes += line.length;
    e.line = line.length;
    e.journaled = undefined; // in the file now (the journal's record of it may go with the next snapshot)
    if (this.fileBytes > Math.max(2 * this.liveBytes, 16 * 1024 * 1024)) this.compact(file);
    else if (this.options.fsync === 'always') {
      const fd = this.fd;
      await new Promise<void>((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
    } else this.dirty = true;
  }

  /** Syncs and closes the file. */
  close(): void {
    if (this.syncTimer) clearInterval(this.syncTimer);
    if (this.fd === undefined) return;
    fs.fdatasyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = undefined;
  }

  /**
   * Runs `apply` once per owner and request_id within the window: a retry
   * gets the remembered answer, or waits for the first call's (until
   * `signal` aborts). `sizeOf` says how many slot ids and counts an answer
   * holds. `apply` is given the recorder of its answer's journal record
   * (undefined without a request_id), to commit with its change.
   */
  async run<T>(
    key: RequestKey,
    signal: AbortSignal | undefined,
    apply: (answer: AnswerRecorder<T> | undefined) => Promise<T>,
    sizeOf: (value: T) => number,
  ): Promise<T> {
    if (key.requestId === '') return apply(undefined);
    checkRequestId(key.requestId);
    const k = flat(`${key.owner}\0${key.requestId}`);
    for (;;) {
      this.expire();
      const e = this.entries.get(k);
      if (!e) break;
      if (e.digest !== key.digest || e.method !== key.method) {
        this.stats.conflicts++;
        const ago = Math.round((this.options.now() - e.at) / 1000);
        throw new VswapError(
          Status.ALREADY_EXISTS,
          `request_id "${key.requestId}" of owner ${key.owner} was used ${ago} s ` +
            `ago for a different ${e.method} request: a retry must repeat the ` +
            'request exactly; a new request needs a new request_id',
        );
      }
      const outcome = outcomeOf(e) ?? (await waitFor(e.settled!, signal));
      if (!outcome) continue; // the first call changed nothing and was forgotten: run this one
      this.stats.replayed++;
      if (!outcome.ok) throw outcome.error;
      return unpackAnswer(outcome.value) as T;
    }
    let settle!: (o: Outcome | undefined) => void;
    const entry: Entry = {
      method: key.method,
      digest: key.digest,
      at: this.options.now(),
      size: 0,
      bytes: 0,
      answer: IN_FLIGHT,
      settled: new Promise((r) => (settle = r)),
      line: undefined,
      journaled: undefined,
    };
    this.entries.set(k, entry);
    this.stats.entries = this.entries.size;
    const recorder: AnswerRecorder<T> = {
      record: (v) => {
        const bytes = pageBytesOf(v);
        const a: StoredAnswer = {
          k,
          m: entry.method,
          d: entry.digest,
          at: entry.at,
          size: sizeOf(v),
          ...(bytes > 0 ? { bytes } : {}),
          ok: true,
          v,
        };
        entry.journaled = Buffer.from(JSON.stringify(a, encodeBuffers));
        return entry.journaled;
      },
    };
    let value: T;
    try {
      value = await apply(recorder);
    } catch (err) {
      if (CHANGED_NOTHING.has(codeOf(err))) {
        this.entries.delete(k);
        this.stats.entries = this.entries.size;
        settle(undefined);
        entry.settled = undefined;
      } else {
        this.remember(k, entry, { ok: false, error: rememberedError(err) }, 0);
        settle(outcomeOf(entry));
        entry.settled = undefined;
        await this.persistOrLog(k, entry);
      }
      throw err;
    }
    this.options.afterCommit?.(key.method, k);
    this.remember(k, entry, { ok: true, value: packAnswer(value) }, sizeOf(value));
    settle(outcomeOf(entry));
    entry.settled = undefined;
    await this.persistOrLog(k, entry);
    return value;
  }

  /**
   * The call is done either way: a failure to keep its answer on disk costs
   * only dedup across a restart, so it is logged, not turned into the
   * caller's error.
   */
  private async persistOrLog(k: string, e: Entry): Promise<void> {
    try {
      await this.persist(k, e);
    } catch (err) {
      this.options.log.error(
        { err, method: e.method },
        "request log: could not append an answer to the file (the journal's answer record keeps it across a restart)",
      );
    }
  }

  private remember(k: string, e: Entry, outcome: Outcome, size: number): void {
    e.answer = outcome.ok ? outcome.value : new Failure(outcome.error);
    e.size = size;
    e.bytes = outcome.ok ? pageBytesOf(outcome.value) : 0;
    if (this.entries.get(k) === e) {
      this.slots += size;
      this.pageBytes += e.bytes;
    }
    this.evict();
    this.updateStats();
  }

  private updateStats(): void {
    this.stats.entries = this.entries.size;
    this.stats.slots = this.slots;
    this.stats.pageBytes = this.pageBytes;
  }

  /** Drops answers older than the window (in-flight ones stay until they end). */
  private expire(): void {
    const oldest = this.options.now() - this.options.windowMs;
    for (const [k, e] of this.entries) {
      if (e.at >= oldest) break;
      if (e.answer !== IN_FLIGHT) this.drop(k, e);
    }
  }

  /** Keeps within maxEntries, maxSlots and maxPageBytes, oldest answers first (only those with pages for the last). */
  private evict(): void {
    const { maxEntries, maxSlots, maxPageBytes } = this.options;
    const within = (): boolean => this.entries.size <= maxEntries && this.slots <= maxSlots;
    if (within() && this.pageBytes <= maxPageBytes) return;
    const now = this.options.now();
    let early = 0;
    for (const [k, e] of this.entries) {
      const pagesOver = this.pageBytes > maxPageBytes;
      if (within() && !pagesOver) break;
      if (e.answer === IN_FLIGHT || (within() && e.bytes === 0)) continue;
      this.drop(k, e);
      if (now - e.at < this.options.windowMs) early++;
    }
    this.stats.evictedEarly += early;
    if (early > 0 && now - this.lastEvictWarning >= 60_000) {
      this.lastEvictWarning = now;
      this.options.log.warn(
        { dropped: early, droppedSoFar: this.stats.evictedEarly, maxEntries, maxSlots, maxPageBytes },
        'request log: answers dropped before their retry window ended (a retry of those is applied again)',
      );
    }
  }

  private drop(k: string, e: Entry): void {
    this.entries.delete(k);
    this.slots -= e.size;
    this.pageBytes -= e.bytes;
    if (e.line !== undefined) this.liveBytes -= e.line;
  }
}

/** The entry's answer as an Outcome; undefined while the first call is in flight. */
function outcomeOf(e: Entry): Outcome | undefined {
  if (e.answer === IN_FLIGHT) return undefined;
  return e.answer instanceof Failure ? { ok: false, error: e.answer.error } : { ok: true, value: e.answer };
}

/**
 * The key as one flat string: a concatenation is a tree of string pieces
 * that keeps the request's request_id string alive (about 60 B more an
 * entry). The JSON round trip gives back any string exactly.
 */
function flat(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

/** An answer's line in the requests file. */
function storedAnswer(k: string, e: Entry, o: Outcome): StoredAnswer {
  return {
    k,
    m: e.method,
    d: e.digest,
    at: e.at,
    size: e.size,
    ...(e.bytes > 0 ? { bytes: e.bytes } : {}),
    ok: o.ok,
    v: o.ok ? unpackAnswer(o.value) : [o.error.code, o.error.message],
  };
}

/** Bytes of the pages an answer holds (a Load's `pages`, kept as they are by packAnswer). */
function pageBytesOf(value: unknown): number {
  const pages = (value as { pages?: unknown } | null)?.pages;
  if (!Array.isArray(pages)) return 0;
  let n = 0;
  for (const p of pages) if (Buffer.isBuffer(p)) n += p.length;
  return n;
}

/** JSON with Buffers (a Load's pages) as {"$b": base64}; reviveBuffers turns them back. */
function encodeBuffers(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  return Buffer.isBuffer(raw) ? { $b: raw.toString('base64') } : value;
}

function reviveBuffers(_key: string, value: unknown): unknown {
  const b = (value as { $b?: unknown } | null)?.$b;
  return typeof b === 'string' && Object.keys(value as object).length === 1 ? Buffer.from(b, 'base64') : value;
}

function formatLine(a: StoredAnswer): string {
  const json = JSON.stringify(a, encodeBuffers);
  return `${zlib.crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

function parseLine(line: string): StoredAnswer | undefined {
  const json = line.slice(9);
  if (line[8] !== ' ' || Number.parseInt(line.slice(0, 8), 16) !== zlib.crc32(json)) return undefined;
  return parseAnswer(json);
}

/** A line's JSON, or a journal answer record's payload (the record carries its own CRC). */
function parseAnswer(json: string): StoredAnswer | undefined {
  try {
    return JSON.parse(json, reviveBuffers) as StoredAnswer;
  } catch {
    return undefined;
  }
}

function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
}
