/**
 * The coordinator's memory of answered mutating calls, by owner and
 * request_id (API.md, Retries). A call repeated with the same owner and
 * request_id within the window gets the first call's answer and applies
 * nothing again; a repeat that arrives while the first is still running waits
 * for the first one's answer (bounded by the repeat's own deadline). The same
 * id used for a different request is refused with ALREADY_EXISTS: the digest
 * of the method and every request field must match. Pages count by their
 * length and CRC-32 (requestDigest), not their bytes.
 *
 * What is remembered: every answer of a call that may have changed state, so
 * successes and errors outside CHANGED_NOTHING. An error in CHANGED_NOTHING
 * (validation, UNAVAILABLE, RESOURCE_EXHAUSTED, a call cancelled before it
 * committed, ...) changed nothing by the contract, so it is forgotten and a
 * retry runs the request afresh (and may succeed).
 *
 * Pages (a Load with release is answered with its pages) are kept in the
 * answer page ring (answer-ring.ts: `<data dir>/answers.ring`, `maxPageBytes`
 * bytes), written once, before the commit of the change they answer
 * (AnswerRecorder.keepPages, with the checksums the read path verified them
 * against). Everything else of the answer (memory, the journal's answer
 * record, the requests.log line) holds only a PageRef: offset, lengths and
 * checksums. A retry reads the pages back and checks each against its
 * checksum; pages the ring has written over since (or that fail a check after
 * a restart) make the answer forgotten: the retry runs afresh.
 *
 * Memory is bounded: at most `maxEntries` answers, `maxSlots` slot ids and
 * counts among them, and `maxPageBytes` of pages (the ring); past one, the
 * oldest answers go first (for the ring, those whose pages were written over).
 * A retry whose answer was forgotten (outside the window, or evicted early) is
 * a new request and is applied again. "Oldest" is by the first call's
 * arrival, but a call in flight is passed over, however old: its answer (the
 * one a client that timed out retries) is kept, and a newer one goes.
 *
 * A restart remembers what the running coordinator did: the answers read
 * back go into arrival order (the file has them in the order their calls
 * ended; arrival times are distinct, see arrival()), and every answer the
 * bounds drop gets a forget line in the file (forgetAnswer()), as the oldest
 * first cannot tell which answers were passed over. The journal still holds
 * the records of dropped answers until its next snapshot, and must not hand
 * them back: a forget line says so, and a rewrite while running (which drops
 * the forget lines) begins the file with a mark line: every call that had
 * arrived by then is in the file or was dropped, except those then in flight.
 *
 * Durability: a call's answer is written twice. First as an answer record
 * in the coordinator's journal, in the same commit as the change it answers
 * (CallContext.answer): the change and its answer reach the disk together
 * (the pages' region before both, synced per the `fsync` policy), and replay
 * hands the answers back (`replayed`), so a coordinator killed between its
 * commit and the append below still answers the retry instead of applying
 * the request again. Then, with a `file`, appended to it (one line: CRC-32,
 * then the journal record's JSON, unchanged) before the reply, synced per the
 * `fsync` policy, and read back at start: the file keeps answers past the
 * journal's next snapshot, which carries only the answers the file does not
 * have yet (unpersisted(); e.g. while the disk is full). With `fsync` batch a
 * machine crash may lose the last 100 ms of all three. The file is rewritten
 * with the live answers only (temp file, fsync, rename, directory fsync) once
 * it is twice their size: a slice a turn (Rewrite), appends going to both
 * files meanwhile; at start, in one go.
 *
 * Formats: an answer holding a PageRef is JSON behind an `R` (so a build that
 * kept pages inline skips it rather than answering without pages); a forget
 * line is `-["<key>",<arrival>]`, a mark line `W[<arrival>,["<key>",...]]`
 * (an earlier build skips both as bad lines); answers
 * with their pages inline as base64 (written by that build, in requests.log
 * or in journal answer records) are still read, and their pages moved into
 * the ring.
 */
import { hash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { status as Status } from '@grpc/grpc-js';
import type { Logger } from '../common/logger';
import { pageChecksums } from '../common/checksum';
import { VswapError, invalidArgument, isServiceError } from '../common/errors';
import { AnswerRing, type PageRef, type PageRefJson, decodeRef, encodeRef } from './answer-ring';
import { flatString, packAnswer, unpackAnswer } from './packed-answer';
import { DescriptorSyncs, closeInBackground } from './descriptor-syncs';
import { fsyncDir } from './journal-files';
import { SharedSync } from './shared-sync';
import type { CallerSignal } from './call-context';

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
   * Bytes of the answer page ring, which holds the pages of the answers (a
   * Load with release is answered with its pages); an answer whose pages the
   * ring wrote over is forgotten; default 16 MiB.
   */
  maxPageBytes?: number;
  /**
   * The file is rewritten with its live answers only once it is twice their
   * size and at least this many bytes; default 16 MiB.
   */
  compactAfterBytes?: number;
  /** Wall clock in ms (kept across restarts; a test seam); default Date.now. */
  now?: () => number;
  /** Where answers are kept across restarts (e.g. <data dir>/requests.log); default none (memory only). */
  file?: string;
  /** The answer page ring's file; default answers.ring next to `file` (none without a `file`: in memory). */
  ringFile?: string;
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

export type ResolvedRequestLogOptions = Required<
  Omit<RequestLogOptions, 'file' | 'ringFile' | 'replayed' | 'afterCommit'>
> & {
  file: string | undefined;
  ringFile: string | undefined;
  afterCommit: ((method: MutatingMethod, key: string) => void) | undefined;
};

export function addRequestLogDefaults(o: RequestLogOptions): ResolvedRequestLogOptions {
  return {
    windowMs: o.windowMs ?? 600_000,
    maxEntries: o.maxEntries ?? 100_000,
    maxSlots: o.maxSlots ?? 4_000_000,
    maxPageBytes: o.maxPageBytes ?? 16 * 1024 * 1024,
    compactAfterBytes: o.compactAfterBytes ?? 16 * 1024 * 1024,
    now: o.now ?? Date.now,
    file: o.file,
    ringFile: o.ringFile ?? (o.file === undefined ? undefined : path.join(path.dirname(o.file), 'answers.ring')),
    fsync: o.fsync ?? 'batch',
    afterCommit: o.afterCommit,
    log: o.log,
  };
}

/** One line of the requests file, and the payload of a journal answer record. */
interface StoredAnswer {
  /** owner NUL request_id */
  k: string;
  m: MutatingMethod;
  d: string;
  at: number;
  size: number;
  /** Page bytes the answer holds inline (an answer written before the ring; absent: none). */
  bytes?: number;
  ok: boolean;
  /** The answer (ok) without its pages when `ring` is set, or [code, message]. */
  v: unknown;
  /** Where the answer's `pages` are in the answer page ring. */
  ring?: PageRefJson;
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

/**
 * A first call's answer, as a retry gets it: a success's value as packAnswer
 * keeps it, or (to the retries that waited for the first call) the value itself.
 */
type Outcome = { ok: true; value: unknown } | { ok: false; error: VswapError };

/** A remembered failure, as Entry.answer holds it. */
class Failure {
  constructor(readonly error: VswapError) {}
}

/** Entry.answer while the first call is in flight. */
const IN_FLIGHT: unique symbol = Symbol('in flight');

/** An entry's state while its first call is in flight. */
interface Flight {
  /** Resolves when the call ends, with its outcome, or undefined when it is not remembered. */
  settled: Promise<Outcome | undefined>;
  /** The pages it put in the ring (the result's `pages` array: a result with other pages puts those). */
  kept: readonly Buffer[] | undefined;
  /** Its pages could not be kept, or were written over before it ended. */
  lost: boolean;
}

interface Entry {
  method: MutatingMethod;
  digest: string;
  /** When the first call arrived (ms): the window counts from here. */
  at: number;
  /** Slot ids and counts the answer holds (the memory bound counts these). */
  size: number;
  /** Bytes its pages take in the answer page ring (counted in stats.pageBytes once remembered). */
  bytes: number;
  /**
   * IN_FLIGHT while the first call runs; then its answer: the value as
   * packAnswer keeps it (without its `pages` when `pages` is set), or a
   * Failure (no Outcome object per entry).
   */
  answer: unknown;
  /** Where the answer's `pages` are in the answer page ring. */
  pages: PageRef | undefined;
  /** While the first call is in flight (one object then, none after: entries are many, and this is their size). */
  flight: Flight | undefined;
  /**
   * Where the answer is kept besides memory: a number is the bytes of its
   * line in the requests file (once written); a Buffer its journal answer
   * record while it is not in the file yet (a journal snapshot carries these:
   * see unpersisted()); undefined, neither. One field, as entries are many.
   */
  stored: number | Buffer | undefined;
}

/** The journal answer record an entry holds while its answer is not in the file. */
function journaledOf(e: Entry): Buffer | undefined {
  return typeof e.stored === 'object' ? e.stored : undefined;
}

/** Given to a call's `apply`: keeps its answer's pages and makes its answer's journal record (CallContext.answer). */
export interface AnswerRecorder<T> {
  /**
   * Puts the pages the answer will carry (as its `pages`) in the answer page
   * ring, before the change is made (`sums`: their checksums, as verified
   * on the read); resolves once they are synced per the `fsync` policy, so
   * that the journal commit referring to them follows them to disk.
   */
  keepPages(pages: readonly Buffer[], sums: Uint32Array): Promise<void>;
  /** The journal record's payload for this answer; undefined when its pages could not be kept (nothing to record). */
  record(value: T): Buffer | undefined;
}

/**
 * Most bytes of the journal record of an answer to `slots` slots (reserved
 * with the change): owner, id and digest, then per slot an id and a tier or
 * count, or for a Load a count and a page checksum and length (its bytes are
 * in the answer page ring).
 */
export function answerRecordBound(_method: MutatingMethod, slots: number): number {
  return 2048 + slots * 48;
}

export interface RequestKey {
  method: MutatingMethod;
  owner: string;
  /** Empty: no deduplication. */
  requestId: string;
  /** requestDigest() of the method and every field of the request. */
  digest: string;
  /**
   * The request's digest as an earlier build made it (requestDigest with
   * pages `bytes`), asked for only when a remembered answer's digest differs
   * from `digest`: a retry across an upgrade must still match its first call.
   */
  legacyDigest?: () => string;
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
 * How requestDigest covers a list of pages: `checksums`, each page's length
 * and CRC-32 (pageChecksum, what the slot keeps); `bytes`, every byte, as
 * builds before that did (their digests are in requests.log and the journal's
 * answer records for the window: RequestKey.legacyDigest).
 */
export type PageDigest = 'checksums' | 'bytes';

/**
 * SHA-256 over the method and the request's fields, each tagged with its
 * type and length so that different requests cannot encode alike. Pages go
 * in by length and CRC-32 (`pages`): SHA-256 over the bytes of a 16-page
 * SwapOut took ~40 µs, a twentieth of the coordinator's CPU for the call,
 * and the digest only tells a retry (the same bytes again) from a different
 * request under the same id, a client's mistake that a differing page then
 * escapes only if its CRC-32 collides (2^-32 per page). `sums`: the
 * pageChecksum of each page of the request's page list, when the caller has
 * them (the write path keeps the same ones: CallContext.pageSums).
 *
 * The fields are laid out in one buffer and hashed in one call: a Hash
 * object fed field by field (a dozen update() calls into C++) took ~7 µs a
 * call, most of the digest's cost. The bytes hashed are the same as that
 * stream's, so digests already in requests.log and the journal still match
 * (request-log.test.ts pins them).
 */
export function requestDigest(
  method: MutatingMethod,
  parts: readonly DigestPart[],
  pages: PageDigest = 'checksums',
  sums?: Uint32Array,
): string {
  const h = new DigestInput();
  h.update(method);
  for (const p of parts) {
    if (typeof p === 'string') h.taggedString(p);
    else if (typeof p === 'number') h.tag(2, p);
    else if (typeof p === 'boolean') h.tag(3, p ? 1 : 0);
    else if (p.length > 0 && typeof p[0] !== 'number') {
      const list = p as readonly Uint8Array[];
      if (pages === 'bytes') {
        h.tag(4, list.length);
        for (const b of list) {
          h.tag(5, b.length);
          h.update(b);
        }
      } else {
        // Its own tag: a digest of checksums never equals one of bytes.
        h.tag(7, list.length);
        const crcs = pageChecksums(list, sums);
        for (let i = 0; i < list.length; i++) {
          h.uint32(list[i]!.length);
          h.uint32(crcs[i]!);
        }
      }
    } else {
      h.tag(6, p.length);
      for (const id of p as readonly number[]) h.double(id);
    }
  }
  // 32 one-byte characters: 48 B of heap an entry, where base64 took 64 (the file keeps base64: storedDigest).
  return hash('sha256', h.bytes(), 'binary');
}

/**
 * The bytes requestDigest hashes, written in one pass into a buffer that
 * grows as needed (its first 512 bytes hold a SwapOut or Load of about 50
 * pages or slots): the same calls a Hash took, then one hash of the whole.
 */
class DigestInput {
  private out = Buffer.allocUnsafe(512);
  private at = 0;

  /** A string as UTF-8, or bytes as they are (Hash.update's rules). */
  update(data: string | Uint8Array): void {
    if (typeof data === 'string') this.utf8(data, Buffer.byteLength(data));
    else {
      this.room(data.length);
      this.out.set(data, this.at);
      this.at += data.length;
    }
  }

  /** A string field: its tag (type 1, its UTF-8 length), then its UTF-8 bytes. */
  taggedString(s: string): void {
    const n = Buffer.byteLength(s);
    this.tag(1, n);
    this.utf8(s, n);
  }

  /** A field's tag: its type, then its length or value, as a double. */
  tag(type: number, n: number): void {
    this.room(12);
    this.out.writeUInt32LE(type, this.at);
    this.out.writeDoubleLE(n, this.at + 4);
    this.at += 12;
  }

  /**
   * Numbers as the typed arrays an earlier build hashed held them (a
   * Uint32Array, a Float64Array), little-endian as on every supported platform.
   */
  uint32(n: number): void {
    this.room(4);
    this.at = this.out.writeUInt32LE(n, this.at);
  }

  double(n: number): void {
    this.room(8);
    this.at = this.out.writeDoubleLE(n, this.at);
  }

  /** `s` as UTF-8; `n`: its UTF-8 length, which the caller has already taken. */
  private utf8(s: string, n: number): void {
    this.room(n);
    this.at += this.out.write(s, this.at);
  }

  bytes(): Buffer {
    return this.out.subarray(0, this.at);
  }

  private room(n: number): void {
    if (this.at + n <= this.out.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.out.length, this.at + n));
    this.out.copy(grown, 0, 0, this.at);
    this.out = grown;
  }
}

/** A digest as the requests file and journal answer records keep it (base64, as they always have). */
function storedDigest(digest: string): string {
  return Buffer.from(digest, 'latin1').toString('base64');
}

/** A digest read back from the file or the journal, in the form requestDigest gives. */
function memoryDigest(stored: string): string {
  return Buffer.from(stored, 'base64').toString('latin1');
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

function waitFor<T>(p: Promise<T>, signal: CallerSignal | undefined): Promise<T> {
  if (!signal) return p;
  // The caller's reason (callSignal: its deadline passed, or it cancelled) decides the status.
  const gaveUp = (): VswapError =>
    signal.reason instanceof VswapError && signal.reason.code === Status.DEADLINE_EXCEEDED
      ? new VswapError(
          Status.DEADLINE_EXCEEDED,
          "the call's deadline passed while waiting for the first call with this request_id to finish",
        )
      : new VswapError(Status.CANCELLED, 'cancelled while waiting for the first call with this request_id to finish');
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

/**
 * A rewrite of the requests file with its live answers only, done a slice a
 * turn so that the coordinator's calls go on meanwhile (in one turn, 100,000
 * answers stalled every call for ~0.7 s: bench:request-log). Appends go on
 * to the old file, and also to `tail`: the new one takes them last. Neither
 * its start nor its end walks every answer (with 100,000 answers each walk
 * stalled calls for 30-60 ms): the slices walk the log's own entries live,
 * and the end restamps only the answers whose line changed.
 */
interface Rewrite {
  readonly tmp: string;
  readonly fd: number;
  /**
   * The log's entries, walked live (as `cursor`): an answer dropped before
   * the walk reaches it is not written, and the calls that arrived after the
   * rewrite began (`at` past `began`) are skipped, as their lines go to `tail`.
   */
  readonly walk: Iterator<[string, Entry]>;
  /** The latest arrival when it began: every call that had arrived by then has `at` at most this. */
  readonly began: number;
  /** The calls in flight when it began: their answers, once given, are appended (and so in `tail`). */
  readonly pending: ReadonlySet<string>;
  /** The walk has passed the last entry. */
  walked: boolean;
  /** Once walked: the tail's length then, written by slices before the bulk fdatasync (once: a bound). */
  catchUp: number;
  /** Lines appended to the old file since it began (forget lines too); the first `tailWritten` are in the new one. */
  readonly tail: Buffer[];
  tailWritten: number;
  /**
   * Answers written by the walk whose `stored` is not their new line's
   * length (a journal record not in the old file, or a line of another
   * length), with that length: set once the new file is in place.
   */
  readonly restamp: { k: string; e: Entry; n: number }[];
  bytes: number;
}

/**
 * Bytes of lines a rewrite writes in one turn: about 5 ms of encoding here
 * (256 KiB took 16-19 ms a slice, and every call arriving meanwhile waited).
 */
const REWRITE_SLICE_BYTES = 64 * 1024;

export class RequestLog {
  private readonly options: ResolvedRequestLogOptions;
  /** owner + NUL + request_id -> entry, oldest first (Map keeps insertion order). */
  private readonly entries = new Map<string, Entry>();
  /**
   * Where the oldest-first walks of expire() and evict() resume: an
   * iterator over `entries` and the entry it last gave (`head`), older than
   * every entry still to come. V8's Map keeps a deleted entry's place until
   * its table is rehashed, and iteration walks those places; walking from
   * the front on every call, with the log full (an answer dropped for each
   * one added), passed tens of thousands of them per call: a SwapOut + Load
   * pair cost the log 2x what it did below the bound (bench:request-log). An
   * iterator passes each place once, survives rehashes and sees entries
   * added after it, and costs no memory per entry (the coordinator's bytes
   * per slot count every one).
   */
  private cursor: Iterator<[string, Entry]> | undefined;
  private head: [string, Entry] | undefined;
  /** Entries added, ever, and how many had been when one was last deleted: see oldestFirst(). */
  private added = 0;
  private addedAtDelete = 0;
  /**
   * The latest arrival time given (Entry.at), or read back: arrival times
   * only grow, so they order calls of the same millisecond too (see arrival()).
   */
  private lastArrival = -Infinity;
  /**
   * Forget lines (see forgetAnswer()) of answers the bounds dropped, not yet in
   * the file: they go with the next line appended, which is mostly the line
   * of the call whose end made the bound drop them.
   */
  private forgetLines: { k: string; line: Buffer }[] = [];
  /**
   * At start: the answers the file's forget lines dropped, by key, with the
   * latest arrival forgotten. The journal's answer records of those are not
   * taken back (restore()). Emptied once the journal's are in (restoreFromJournal()).
   */
  private readonly forgotten = new Map<string, number>();
  /**
   * The mark of the file's last rewrite while running (see markLine()), read
   * at start: the answers that had arrived by then and are neither in the file
   * nor pending were dropped before it, and the journal's records of those
   * are not taken back either (their forget lines went with the rewrite).
   * Emptied once the journal's are in.
   */
  private fileMark: { at: number; pending: Set<string> } | undefined;
  private slots = 0;
  /** When early eviction was last logged (logged at most once a minute). */
  private lastEvictWarning = -Infinity;
  private pageBytes = 0;
  readonly stats: RequestLogStats = { entries: 0, slots: 0, pageBytes: 0, replayed: 0, conflicts: 0, evictedEarly: 0 };
  private readonly ring: AnswerRing;
  /**
   * Entries with pages in the ring, in the ring's order (from `ringFirst` on):
   * those the head has passed by a ring's length were written over. Holds
   * entries since dropped too (skipped: the pages no longer match).
   */
  private ringOrder: { k: string; e: Entry; pages: PageRef }[] = [];
  private ringFirst = 0;
  /** Answers read back with their pages inline (written before the ring): moved into it once every reference is claimed. */
  private inline: { k: string; e: Entry; pages: Buffer[] }[] = [];
  private fd: number | undefined;
  private fileBytes = 0;
  private liveBytes = 0;
  private readonly syncer: SharedSync;
  /** The rewrite of the file under way, if one is (see startRewrite()). */
  private rewrite: Rewrite | undefined;
  /** Calls whose first run is under way (answer IN_FLIGHT), by key, in arrival order: a rewrite's mark names them. */
  private readonly inFlight = new Map<string, Entry>();
  /** The bulk fdatasyncs of rewrites: one given up is closed when its sync ends, not under it. */
  private readonly rewriteSyncs = new DescriptorSyncs();
  /** No rewrite is begun before the file reaches this size (one failed: not again on every append). */
  private rewriteAfterBytes = 0;

  constructor(options: RequestLogOptions) {
    this.options = addRequestLogDefaults(options);
    this.syncer = new SharedSync(() => this.fd, {
      fsync: this.options.fsync,
      log: this.options.log,
      what: 'request log',
    });
    const file = this.options.file;
    if (file !== undefined) fs.mkdirSync(path.dirname(file), { recursive: true });
    this.ring = new AnswerRing({
      file: this.options.ringFile,
      size: this.options.maxPageBytes,
      fsync: this.options.fsync,
      log: this.options.log,
    });
    if (file !== undefined) this.load(file);
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
    let last = -Infinity;
    let settleOrder = false;
    for (const line of data.split('\n')) {
      if (line === '') continue;
      const a = parseLine(line);
      if (!a) {
        bad++;
        continue;
      }
      if ('mark' in a) {
        this.fileMark = { at: a.mark, pending: new Set(a.pending) };
        continue;
      }
      if ('forget' in a) {
        const old = this.entries.get(a.forget);
        if (old && old.at <= a.at) this.drop(a.forget, old);
        if (a.at > (this.forgotten.get(a.forget) ?? -Infinity)) this.forgotten.set(a.forget, a.at);
        continue;
      }
      if (a.at < oldest) continue;
      const old = this.entries.get(a.k);
      if (old) this.drop(a.k, old);
      // Its line length is set by the compaction that follows the load.
      if (!this.admit(a, 0)) bad++;
      if (a.at < last) settleOrder = true;
      last = a.at;
    }
    // Lines are appended as calls end: a call that ran long follows calls that came after it.
    if (settleOrder) this.inArrivalOrder();
    this.settleRing();
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
      if (!a || a.at < oldest || this.wasForgotten(a)) continue;
      const old = this.entries.get(a.k);
      if (old && old.at >= a.at) continue;
      // A later call under the same key (a retry run again after the bound dropped the first answer): its answer wins.
      if (old) this.drop(a.k, old);
      if (this.admit(a, p)) restored++;
    }
    if (restored > 0) this.inArrivalOrder();
    this.settleRing();
    this.evict();
    this.updateStats();
    if (restored > 0)
      this.options.log.info({ answers: restored }, 'request log: answers only the journal had, taken from it');
  }

  /**
   * Keeps a settled answer read back (from the file or the journal), counted
   * against the bounds; false when it is not a consistent one. Its pages'
   * region is claimed in the ring; pages inline are moved there by settleRing().
   */
  private admit(a: StoredAnswer, stored: number | Buffer): boolean {
    let answer: unknown;
    let pages: PageRef | undefined;
    let inline: Buffer[] | undefined;
    if (!a.ok) {
      const [code, message] = a.v as [Status, string];
      answer = new Failure(new VswapError(code, message));
    } else if (a.ring !== undefined) {
      pages = decodeRef(a.ring);
      if (!pages) return false;
      this.ring.claim(pages);
      answer = packAnswer(a.v);
    } else {
      inline = pagesOf(a.v);
      answer = packAnswer(inline ? withoutPages(a.v) : a.v);
    }
    if (a.at > this.lastArrival) this.lastArrival = a.at;
    const e: Entry = {
      method: a.m,
      digest: memoryDigest(a.d),
      at: a.at,
      size: a.size,
      bytes: pages?.bytes ?? 0,
      answer,
      pages,
      flight: undefined,
      stored,
    };
    this.add(a.k, e);
    this.slots += a.size;
    this.pageBytes += e.bytes;
    if (pages && pages.bytes > 0) this.ringOrder.push({ k: a.k, e, pages });
    if (inline) this.inline.push({ k: a.k, e, pages: inline });
    return true;
  }

  /**
   * After answers were read back: puts the ring's order in order (references
   * come back in the order of their lines), forgets those written over, and
   * moves pages read back inline into the ring (now that the head is past
   * every region claimed). Such an answer's line and journal record are
   * written anew, with the reference.
   */
  private settleRing(): void {
    const order = this.ringOrder.slice(this.ringFirst).filter((r) => r.e.pages === r.pages);
    order.sort((x, y) => x.pages.at - y.pages.at);
    this.ringOrder = order;
    this.ringFirst = 0;
    for (const { k, e, pages } of this.inline.splice(0)) {
      if (this.entries.get(k) !== e) continue;
      const ref = this.ring.write(pages);
      this.dropOverwritten();
      if (!ref) {
        this.drop(k, e);
        continue;
      }
      e.pages = ref;
      e.bytes = ref.bytes;
      this.pageBytes += ref.bytes;
      if (ref.bytes > 0) this.ringOrder.push({ k, e, pages: ref });
      if (typeof e.stored === 'number')
        e.stored = 0; // its line is written anew by the compaction at start
      else if (e.stored) e.stored = Buffer.from(encodeAnswer(storedAnswer(k, e, outcomeOf(e)!)));
    }
    this.dropOverwritten();
  }

  /** Whether a journal answer record is one this log lacks (within the window, not known): restore() would add it. */
  lacks(payload: Buffer): boolean {
    const a = parseAnswer(payload.toString('utf8'));
    return (
      a !== undefined &&
      a.at >= this.options.now() - this.options.windowMs &&
      !this.entries.has(a.k) &&
      !this.wasForgotten(a)
    );
  }

  /** Whether the file says this answer (or a later call's with its key) was dropped: a forget line, or its mark. */
  private wasForgotten(a: StoredAnswer): boolean {
    if (a.at <= (this.forgotten.get(a.k) ?? -Infinity)) return true;
    const mark = this.fileMark;
    return mark !== undefined && a.at <= mark.at && !mark.pending.has(a.k);
  }

  /**
   * Adds the journal's answer records this log lacks (after a crash between
   * a commit and its append) and appends them to the file; those it cannot
   * append stay in unpersisted() for the journal's snapshots.
   */
  restoreFromJournal(payloads: readonly Buffer[]): void {
    const before = new Set(this.entries.keys());
    this.restore(payloads);
    this.forgotten.clear();
    this.fileMark = undefined;
    for (const [k, e] of this.entries) if (!before.has(k) && journaledOf(e)) this.persistRestored(k, e);
  }

  private persistRestored(k: string, e: Entry): void {
    const o = outcomeOf(e);
    if (this.fd === undefined || !o) return;
    try {
      this.append(k, e, formatLine(journaledOf(e) ?? encodeAnswer(storedAnswer(k, e, o))));
      this.syncer.written();
    } catch (err) {
      this.options.log.warn({ err: String(err) }, 'request log: could not append an answer taken from the journal');
    }
  }

  /** Journal records of the answers not yet in the file (a journal snapshot keeps them). */
  *unpersisted(): Iterable<Buffer> {
    for (const e of this.entries.values()) {
      const record = journaledOf(e);
      if (record) yield record;
    }
  }

  /** Rewrites the file with the live answers only, atomically, and opens it for appending: at start, in one go. */
  private compact(file: string): void {
    // Until the journal's start-up snapshot, the journal may still hand back what the file's mark and forget lines
    // dropped: they go on.
    const oldest = this.options.now() - this.options.windowMs;
    const mark = this.fileMark;
    const r = this.beginRewrite(file, () => [
      ...(mark ? [markLine(mark.at, [...mark.pending])] : []),
      ...[...this.forgotten].filter(([, at]) => at >= oldest).map(([k, at]) => forgetLine(k, at)),
    ]);
    try {
      while (!r.walked) this.writeSlice(r);
      this.installRewrite(r, file);
    } catch (err) {
      this.discardRewrite(r);
      throw err;
    }
    // Answers read back are not counted as they come in (settleRing() may yet rewrite their lines): counted now.
    this.liveBytes = 0;
    for (const e of this.entries.values()) if (typeof e.stored === 'number') this.liveBytes += e.stored;
    this.switchTo(file);
  }

  /** Appends to `file` (just renamed into place) from now on; the rename is made durable first. */
  private switchTo(file: string): void {
    if (this.fd !== undefined) this.syncer.retire(this.fd);
    this.fd = undefined;
    fsyncDir(path.dirname(file));
    this.fd = fs.openSync(file, 'a');
  }

  /** Appends a remembered answer; with fsync `always`, resolves once it is on disk. */
  private async persist(k: string, e: Entry): Promise<void> {
    const file = this.options.file;
    const o = outcomeOf(e);
    if (file === undefined || this.fd === undefined || !o || this.entries.get(k) !== e) return;
    // The journal record's JSON is the line's: no second encoding.
    this.append(k, e, formatLine(journaledOf(e) ?? encodeAnswer(storedAnswer(k, e, o))));
    this.maybeRewrite(file);
    // Calls answered together share one fdatasync.
    this.syncer.written();
    await this.syncer.sync();
  }

  private append(k: string, e: Entry, line: Buffer): void {
    writeAll(this.fd!, this.forgetLines.length === 0 ? line : Buffer.concat([...this.takeForgetLines(), line]));
    this.fileBytes += line.length;
    this.liveBytes += line.length;
    e.stored = line.length; // in the file now (the journal's record of it may go with the next snapshot)
    this.rewrite?.tail.push(line);
  }

  /**
   * The bound dropped an answer: a line in the file says so, so that a
   * restart drops it too. Without one, answers read back would be cut to the
   * bound oldest first, which is not always what the bound dropped while
   * running: it passes over a call in flight, however old, and drops a newer
   * answer instead. (The window needs no line: it is the same after a restart.)
   */
  private forgetAnswer(k: string, e: Entry): void {
    if (this.fd === undefined) return; // at start, before the compaction that writes only what is kept
    this.forgetLines.push({ k, line: forgetLine(k, e.at) });
  }

  /** The forget lines not yet in the file, counted as written (and for a rewrite under way, its tail). */
  private takeForgetLines(): Buffer[] {
    const taken = this.forgetLines;
    this.forgetLines = [];
    for (const f of taken) {
      this.fileBytes += f.line.length;
      this.rewrite?.tail.push(f.line);
    }
    return taken.map((f) => f.line);
  }

  /** Begins a rewrite once the file is past twice its live answers, unless one is under way. */
  private maybeRewrite(file: string): void {
    if (
      this.rewrite === undefined &&
      this.fileBytes > Math.max(2 * this.liveBytes, this.options.compactAfterBytes, this.rewriteAfterBytes)
    )
      this.startRewrite(file);
  }

  /** Begins a rewrite of the file while calls go on: a slice a turn (rewriteSlice()), then finishRewrite(). */
  private startRewrite(file: string): void {
    let r: Rewrite;
    try {
      // The file will lack the forget lines of the answers dropped so far: its mark says what it covers.
      r = this.beginRewrite(file, (inFlight) => [markLine(this.lastArrival, inFlight)]);
    } catch (err) {
      this.rewriteFailed(err);
      return;
    }
    this.rewrite = r;
    setImmediate(() => this.rewriteSlice(r, file));
  }

  private rewriteSlice(r: Rewrite, file: string): void {
    if (this.rewrite !== r) return; // closed, or given up
    try {
      if (r.walked) this.writeTailSlice(r);
      else this.writeSlice(r);
    } catch (err) {
      this.rewriteFailed(err);
      return;
    }
    if (!r.walked || r.tailWritten < r.catchUp) {
      setImmediate(() => this.rewriteSlice(r, file));
      return;
    }
    // The bulk of it reaches the disk off the event loop; installRewrite() syncs only what was appended meanwhile.
    this.rewriteSyncs.fdatasync(r.fd, (err) => {
      if (this.rewrite !== r) return; // given up meanwhile (closed): its descriptor is closed by now
      if (err) this.rewriteFailed(err);
      else this.finishRewrite(r, file);
    });
  }

  private finishRewrite(r: Rewrite, file: string): void {
    try {
      this.installRewrite(r, file);
    } catch (err) {
      this.rewriteFailed(err);
      return;
    }
    this.rewrite = undefined;
    try {
      this.switchTo(file);
    } catch (err) {
      // Appends stop (the journal's answer records keep the answers to come); the file in place holds the rest.
      this.options.log.error({ err: String(err), file }, 'request log: could not open the rewritten file');
      return;
    }
    // What was appended while it ran came along (its tail): that may have grown the file past the bound again,
    // and with no append after this one, nothing else would notice. (With no tail there is nothing to drop.)
    if (r.tail.length > 0) this.maybeRewrite(file);
  }

  /**
   * Opens the new file and writes the lines `head` gives for the calls in
   * flight now; the slices then write the answers the old file holds now
   * (those whose `stored` is set: in the file, or journal records not in it
   * yet), in the log's order.
   */
  private beginRewrite(file: string, head: (inFlight: string[]) => Buffer[]): Rewrite {
    const pending = [...this.inFlight.keys()];
    const r: Rewrite = {
      tmp: `${file}.tmp`,
      fd: fs.openSync(`${file}.tmp`, 'w'),
      walk: this.entries.entries(),
      began: this.lastArrival,
      pending: new Set(pending),
      walked: false,
      catchUp: 0,
      tail: [],
      tailWritten: 0,
      restamp: [],
      bytes: 0,
    };
    try {
      this.writeLines(r, head(pending));
    } catch (err) {
      this.discardRewrite(r);
      throw err;
    }
    return r;
  }

  /** Writes the next REWRITE_SLICE_BYTES of answers' lines (one write), walking on from where the last slice stopped. */
  private writeSlice(r: Rewrite): void {
    const lines: Buffer[] = [];
    let bytes = 0;
    while (bytes < REWRITE_SLICE_BYTES) {
      const next = r.walk.next();
      if (next.done === true) {
        r.walked = true;
        r.catchUp = r.tail.length;
        break;
      }
      const [k, e] = next.value;
      if (e.at > r.began || e.stored === undefined || r.pending.has(k)) continue;
      const line = formatLine(encodeAnswer(storedAnswer(k, e, outcomeOf(e)!)));
      lines.push(line);
      bytes += line.length;
      if (e.stored !== line.length) r.restamp.push({ k, e, n: line.length });
    }
    this.writeLines(r, lines);
  }

  /**
   * Once walked: writes the next REWRITE_SLICE_BYTES of the tail appended
   * meanwhile (up to `catchUp`), so that the end writes only what is
   * appended during the bulk fdatasync (a tail of 6,000 lines written at the
   * end stalled calls for ~10 ms).
   */
  private writeTailSlice(r: Rewrite): void {
    const lines: Buffer[] = [];
    let bytes = 0;
    while (r.tailWritten < r.catchUp && bytes < REWRITE_SLICE_BYTES) {
      const line = r.tail[r.tailWritten++]!;
      lines.push(line);
      bytes += line.length;
    }
    this.writeLines(r, lines);
  }

  private writeLines(r: Rewrite, lines: Buffer[]): void {
    if (lines.length === 0) return;
    const out = Buffer.concat(lines);
    writeAll(r.fd, out);
    r.bytes += out.length;
  }

  /**
   * Adds the lines appended to the old file meanwhile, syncs, and renames the
   * new file into the old one's place (not yet appended to: switchTo()).
   */
  private installRewrite(r: Rewrite, file: string): void {
    this.writeLines(r, r.tail.slice(r.tailWritten));
    r.tailWritten = r.tail.length;
    fs.fsyncSync(r.fd);
    fs.renameSync(r.tmp, file);
    // Nothing after the rename may fail: the new file is in place.
    closeInBackground(r.fd);
    this.fileBytes = r.bytes;
    // Only now in the file: until then a journaled answer stays in the journal's snapshots. (The tail's answers
    // were stamped as they were appended; one dropped since is no longer in `entries`.)
    for (const { k, e, n } of r.restamp)
      if (this.entries.get(k) === e) {
        if (typeof e.stored === 'number') this.liveBytes -= e.stored;
        e.stored = n;
        this.liveBytes += n;
      }
  }

  /** Gives up a rewrite (the old file goes on) until the file has grown by another compactAfterBytes. */
  private rewriteFailed(err: unknown): void {
    const r = this.rewrite;
    this.rewrite = undefined;
    if (r) this.discardRewrite(r);
    this.rewriteAfterBytes = this.fileBytes + this.options.compactAfterBytes;
    this.options.log.warn(
      { err: String(err), file: this.options.file },
      'request log: could not rewrite the file; appending to it as it is',
    );
  }

  private discardRewrite(r: Rewrite): void {
    fs.rmSync(r.tmp, { force: true });
    this.rewriteSyncs.retire(r.fd);
  }

  /** Syncs and closes the file and the ring (a rewrite under way is given up: the file as it is holds every answer). */
  close(): void {
    if (this.rewrite) this.discardRewrite(this.rewrite);
    this.rewrite = undefined;
    this.syncer.close();
    this.ring.close();
    if (this.fd === undefined) return;
    if (this.forgetLines.length > 0) writeAll(this.fd, Buffer.concat(this.takeForgetLines()));
    fs.fdatasyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = undefined;
  }

  /**
   * Runs `apply` once per owner and request_id within the window: a retry
   * gets the remembered answer, or waits for the first call's (until
   * `signal` aborts). `sizeOf` says how many slot ids and counts an answer
   * holds. `apply` is given the recorder of its answer (undefined without a
   * request_id): its pages go to the ring before the change, its journal
   * record is committed with the change.
   */
  async run<T>(
    key: RequestKey,
    signal: CallerSignal | undefined,
    apply: (answer: AnswerRecorder<T> | undefined) => Promise<T>,
    sizeOf: (value: T) => number,
  ): Promise<T> {
    if (key.requestId === '') return apply(undefined);
    checkRequestId(key.requestId);
    const k = flatString(`${key.owner}\0${key.requestId}`);
    for (;;) {
      this.expire();
      const e = this.entries.get(k);
      if (!e) break;
      if (e.method !== key.method || (e.digest !== key.digest && e.digest !== key.legacyDigest?.())) {
        this.stats.conflicts++;
        const ago = Math.round((this.options.now() - e.at) / 1000);
        throw new VswapError(
          Status.ALREADY_EXISTS,
          `request_id "${key.requestId}" of owner ${key.owner} was used ${ago} s ` +
            `ago for a different ${e.method} request: a retry must repeat the ` +
            'request exactly; a new request needs a new request_id',
        );
      }
      let outcome: Outcome | undefined;
      if (e.answer === IN_FLIGHT) {
        outcome = await waitFor(e.flight!.settled, signal);
        if (!outcome) continue; // the first call changed nothing and was forgotten: run this one
      } else if (e.pages) {
        const pages = this.ring.read(e.pages);
        if (!pages) {
          // Written over, or not the bytes written (a crash, a changed file): forgotten, never other bytes.
          this.drop(k, e);
          this.evicted(1);
          this.updateStats();
          continue;
        }
        outcome = { ok: true, value: { pages, ...(unpackAnswer(e.answer) as object) } };
      } else outcome = outcomeOf(e)!;
      this.stats.replayed++;
      if (!outcome.ok) throw outcome.error;
      return unpackAnswer(outcome.value) as T;
    }
    let settle!: (o: Outcome | undefined) => void;
    const flight: Flight = { settled: new Promise((r) => (settle = r)), kept: undefined, lost: false };
    const entry: Entry = {
      method: key.method,
      digest: key.digest,
      at: this.arrival(),
      size: 0,
      bytes: 0,
      answer: IN_FLIGHT,
      pages: undefined,
      flight,
      stored: undefined,
    };
    this.add(k, entry);
    this.inFlight.set(k, entry);
    this.stats.entries = this.entries.size;
    const recorder: AnswerRecorder<T> = {
      keepPages: async (pages, sums) => {
        this.keep(k, entry, flight, pages, sums);
        if (!entry.pages) return;
        try {
          await this.ring.sync();
        } catch (err) {
          // The call goes on (nothing has changed yet); only its answer is not remembered.
          this.options.log.error({ err: String(err) }, 'answer ring: fdatasync failed; the answer is not remembered');
          flight.lost = true;
        }
      },
      record: (v) => {
        const pages = pagesOf(v);
        if (pages && flight.kept !== pages) this.keep(k, entry, flight, pages, undefined);
        if (pages && flight.lost) return undefined;
        const a: StoredAnswer = {
          k,
          m: entry.method,
          d: storedDigest(entry.digest),
          at: entry.at,
          size: sizeOf(v),
          ok: true,
          v: pages ? withoutPages(v) : v,
          ...(pages && entry.pages ? { ring: encodeRef(entry.pages) } : {}),
        };
        const record = Buffer.from(encodeAnswer(a));
        entry.stored = record;
        return record;
      },
    };
    let value: T;
    try {
      value = await apply(recorder);
    } catch (err) {
      flight.kept = undefined;
      if (CHANGED_NOTHING.has(codeOf(err))) {
        this.forget(k);
        this.stats.entries = this.entries.size;
        settle(undefined);
        this.landed(k, entry);
      } else {
        entry.pages = undefined;
        this.remember(k, entry, new Failure(rememberedError(err)), 0);
        settle(outcomeOf(entry));
        this.landed(k, entry);
        await this.persistOrLog(k, entry);
      }
      throw err;
    }
    this.options.afterCommit?.(key.method, k);
    const pages = pagesOf(value);
    if (pages) {
      // An apply that did not keep its result's pages (nor record them): kept now.
      if (flight.kept !== pages && !flight.lost) this.keep(k, entry, flight, pages, undefined);
      flight.kept = undefined;
      if (flight.lost) {
        // More than the ring holds, a failed write, or written over already: the retries waiting get the
        // answer; later ones run afresh.
        this.forget(k);
        this.evicted(1);
        this.updateStats();
        settle({ ok: true, value });
        this.landed(k, entry);
        return value;
      }
    }
    this.remember(k, entry, packAnswer(pages ? withoutPages(value) : value), sizeOf(value));
    settle(pages ? { ok: true, value } : outcomeOf(entry));
    this.landed(k, entry);
    await this.persistOrLog(k, entry);
    return value;
  }

  /** The first run of the call under `k` has ended: its entry holds its answer, or is gone. */
  private landed(k: string, e: Entry): void {
    e.flight = undefined;
    if (this.inFlight.get(k) === e) this.inFlight.delete(k);
  }

  /** Puts an in-flight call's pages in the ring (or marks them lost) and forgets the answers they wrote over. */
  private keep(k: string, e: Entry, flight: Flight, pages: readonly Buffer[], sums: Uint32Array | undefined): void {
    const ref = this.ring.write(pages, sums);
    flight.kept = pages;
    e.pages = ref;
    flight.lost = ref === undefined;
    this.dropOverwritten();
    if (ref && ref.bytes > 0) this.ringOrder.push({ k, e, pages: ref });
  }

  /** Forgets the answers whose pages the ring's head has passed by a ring's length (written over). */
  private dropOverwritten(): void {
    let early = 0;
    const order = this.ringOrder;
    while (this.ringFirst < order.length) {
      const r = order[this.ringFirst]!;
      if (this.ring.holds(r.pages)) break;
      this.ringFirst++;
      if (r.e.pages !== r.pages) continue;
      if (r.e.flight) r.e.flight.lost = true;
      else if (this.entries.get(r.k) === r.e) {
        this.drop(r.k, r.e);
        this.forgetAnswer(r.k, r.e);
        if (this.options.now() - r.e.at < this.options.windowMs) early++;
      }
    }
    // Drop what was passed, and entries since dropped, once they are most of the array.
    if (this.ringFirst > 1024 && this.ringFirst * 2 > order.length) {
      this.ringOrder = order.slice(this.ringFirst);
      this.ringFirst = 0;
    } else if (order.length - this.ringFirst > 2 * this.entries.size + 1024) {
      this.ringOrder = order
        .slice(this.ringFirst)
        .filter((r) => r.e.pages === r.pages && this.entries.get(r.k) === r.e);
      this.ringFirst = 0;
    }
    if (early > 0) {
      this.evicted(early);
      this.updateStats();
    }
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

  private remember(k: string, e: Entry, answer: unknown, size: number): void {
    e.answer = answer;
    e.size = size;
    e.bytes = e.pages?.bytes ?? 0;
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
    let dropped = 0;
    this.oldestFirst((k, e) => {
      if (e.at >= oldest) return false;
      this.drop(k, e);
      dropped++;
      return true;
    });
    // Even when the call is then answered from memory: stats (and the metrics made of them) stay current.
    if (dropped > 0) this.updateStats();
  }

  /**
   * Offers settled entries to `take` oldest first, until it returns false
   * (it drops those it takes); entries in flight are passed over, not
   * offered. Resumes at `head` (see `cursor`); while the oldest entry is in
   * flight (a call older than the rest of the log) it walks from the front.
   */
  private oldestFirst(take: (k: string, e: Entry) => boolean): void {
    for (;;) {
      if (this.head === undefined || this.entries.get(this.head[0]) !== this.head[1]) {
        this.cursor ??= this.entries.entries();
        const next = this.cursor.next();
        // A finished iterator sees nothing added later: the next walk starts a new one.
        if (next.done === true) {
          this.cursor = undefined;
          this.head = undefined;
          return;
        }
        this.head = next.value;
        continue;
      }
      const [k, e] = this.head;
      if (e.answer === IN_FLIGHT) break;
      if (!take(k, e)) {
        // An iterator keeps each table the Map outgrew alive until it is next
        // advanced (~36 B an entry while the log only grows): once a quarter of
        // the log was added with nothing deleted, there are no holes worth
        // skipping, and the next walk starts a new one.
        if (this.added - this.addedAtDelete >= this.entries.size / 4) {
          this.cursor = undefined;
          this.head = undefined;
        }
        return;
      }
    }
    for (const [k, e] of this.entries) {
      if (e.answer === IN_FLIGHT) continue;
      if (!take(k, e)) return;
    }
  }

  /** Keeps within maxEntries and maxSlots, oldest answers first (the ring bounds the pages). */
  private evict(): void {
    const { maxEntries, maxSlots } = this.options;
    if (this.entries.size <= maxEntries && this.slots <= maxSlots) return;
    const now = this.options.now();
    let early = 0;
    this.oldestFirst((k, e) => {
      if (this.entries.size <= maxEntries && this.slots <= maxSlots) return false;
      this.drop(k, e);
      this.forgetAnswer(k, e);
      if (now - e.at < this.options.windowMs) early++;
      return true;
    });
    this.evicted(early);
  }

  /** Counts answers forgotten before their window ended, with a warning at most once a minute. */
  private evicted(early: number): void {
    if (early === 0) return;
    this.stats.evictedEarly += early;
    const now = this.options.now();
    if (now - this.lastEvictWarning < 60_000) return;
    this.lastEvictWarning = now;
    const { maxEntries, maxSlots, maxPageBytes } = this.options;
    this.options.log.warn(
      { dropped: early, droppedSoFar: this.stats.evictedEarly, maxEntries, maxSlots, maxPageBytes },
      'request log: answers dropped before their retry window ended (a retry of those is applied again)',
    );
  }

  /**
   * Puts the entries back in the order their first calls arrived (arrival
   * times are distinct: arrival(); a stable sort keeps the order of equal
   * ones an earlier build wrote). The walks that
   * forget the oldest first go in the Map's order, which while running is
   * arrival order; answers read back are not in it: the file has them in the
   * order the calls ended, and answers taken from the journal are added after
   * those, though most are older (the journal keeps the answers the bound had
   * dropped). Left so, the walks would drop newer answers instead, and a
   * retry of one would be applied again.
   */
  private inArrivalOrder(): void {
    const sorted = [...this.entries].sort((x, y) => x[1].at - y[1].at);
    this.entries.clear();
    for (const [k, e] of sorted) this.entries.set(k, e);
    this.cursor = undefined;
    this.head = undefined;
  }

  /**
   * A call's arrival time: now, or just after the last one (by 1/1024 ms,
   * exact in a double) when the clock has not moved on or went back. Answers
   * read back after a restart are put in arrival order by it (inArrivalOrder),
   * and calls of one millisecond that ended in another order than they came
   * must keep theirs too. The window counts from it: a clock set back keeps
   * answers longer, never shorter.
   */
  private arrival(): number {
    const now = this.options.now();
    this.lastArrival = now > this.lastArrival ? now : this.lastArrival + 1 / 1024;
    return this.lastArrival;
  }

  private add(k: string, e: Entry): void {
    this.entries.set(k, e);
    this.added++;
  }

  /** Every delete leaves a hole in the Map's table until V8 rehashes it (see `cursor`). */
  private forget(k: string): void {
    this.entries.delete(k);
    this.addedAtDelete = this.added;
  }

  private drop(k: string, e: Entry): void {
    this.forget(k);
    this.slots -= e.size;
    this.pageBytes -= e.bytes;
    if (typeof e.stored === 'number') this.liveBytes -= e.stored;
  }
}

/** The entry's answer as an Outcome (without its pages); undefined while the first call is in flight. */
function outcomeOf(e: Entry): Outcome | undefined {
  if (e.answer === IN_FLIGHT) return undefined;
  return e.answer instanceof Failure ? { ok: false, error: e.answer.error } : { ok: true, value: e.answer };
}

/** An answer's line in the requests file (and journal record payload). */
function storedAnswer(k: string, e: Entry, o: Outcome): StoredAnswer {
  return {
    k,
    m: e.method,
    d: storedDigest(e.digest),
    at: e.at,
    size: e.size,
    ok: o.ok,
    v: o.ok ? unpackAnswer(o.value) : [o.error.code, o.error.message],
    ...(e.pages ? { ring: encodeRef(e.pages) } : {}),
  };
}

/** An answer's `pages` (a Load's), if it has any. */
function pagesOf(value: unknown): Buffer[] | undefined {
  const pages = (value as { pages?: unknown } | null)?.pages;
  return Array.isArray(pages) && pages.every((p) => Buffer.isBuffer(p)) ? pages : undefined;
}

/** The answer without its `pages` (they are in the ring). */
function withoutPages(value: unknown): unknown {
  const { pages: _pages, ...rest } = value as { pages: unknown };
  return rest;
}

/** Buffers inside JSON written before the ring (a Load's pages as {"$b": base64}), turned back into Buffers. */
function reviveBuffers(_key: string, value: unknown): unknown {
  const b = (value as { $b?: unknown } | null)?.$b;
  return typeof b === 'string' && Object.keys(value as object).length === 1 ? Buffer.from(b, 'base64') : value;
}

/** The marker of an answer whose pages are in the ring: invalid JSON to a build that kept pages inline. */
const RING_MARK = 'R';
/** The marker of a forget line: `-["<key>",<arrival>]`. */
const FORGET_MARK = '-';

/** A forget line: the bound dropped the answer of `forget` whose first call arrived at `at`. */
interface ForgetLine {
  forget: string;
  at: number;
}
/** The marker of a mark line: `W[<arrival>,["<key>",...]]`. */
const MARK_MARK = 'W';

/**
 * A mark line, the first line of a file rewritten while calls went on: every
 * call that had arrived by `mark` is in the file unless it was dropped,
 * except those in flight then (`pending`), whose answers may be only in the
 * journal.
 */
interface MarkLine {
  mark: number;
  pending: string[];
}

/** A journal answer record's payload, and the JSON of its line in the requests file. */
function encodeAnswer(a: StoredAnswer): string {
  const json = JSON.stringify(a);
  return a.ring === undefined ? json : RING_MARK + json;
}

/** A line of the requests file: the payload's CRC-32 in hex, a space, the payload, a newline. */
function formatLine(payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const line = Buffer.allocUnsafe(body.length + 10);
  line.write(zlib.crc32(body).toString(16).padStart(8, '0'), 0, 'latin1');
  line[8] = 0x20;
  body.copy(line, 9);
  line[line.length - 1] = 0x0a;
  return line;
}

/** The line that says the bound dropped the answer of `k` whose first call arrived at `at`. */
function forgetLine(k: string, at: number): Buffer {
  return formatLine(FORGET_MARK + JSON.stringify([k, at]));
}

/** The mark line of a rewrite that began after the arrival at `at`, with the calls then in flight. */
function markLine(at: number, pending: string[]): Buffer {
  return formatLine(MARK_MARK + JSON.stringify([at, pending]));
}

function parseLine(line: string): StoredAnswer | ForgetLine | MarkLine | undefined {
  const json = line.slice(9);
  if (line[8] !== ' ' || Number.parseInt(line.slice(0, 8), 16) !== zlib.crc32(json)) return undefined;
  if (json.startsWith(MARK_MARK)) {
    const [mark, pending] = pairAfter(json, MARK_MARK);
    return typeof mark === 'number' && Array.isArray(pending) && pending.every((k) => typeof k === 'string')
      ? { mark, pending: pending as string[] }
      : undefined;
  }
  if (json.startsWith(FORGET_MARK)) {
    const [forget, at] = pairAfter(json, FORGET_MARK);
    return typeof forget === 'string' && typeof at === 'number' ? { forget, at } : undefined;
  }
  return parseAnswer(json);
}

/** The two values of a `<marker>[a,b]` line; undefined ones when it does not parse (the caller's checks fail). */
function pairAfter(json: string, marker: string): [unknown, unknown] {
  try {
    const v = JSON.parse(json.slice(marker.length)) as unknown;
    return Array.isArray(v) ? [v[0], v[1]] : [undefined, undefined];
  } catch {
    return [undefined, undefined];
  }
}

/** A line's JSON, or a journal answer record's payload (the record carries its own CRC). */
function parseAnswer(text: string): StoredAnswer | undefined {
  try {
    if (text.startsWith(RING_MARK)) return JSON.parse(text.slice(RING_MARK.length)) as StoredAnswer;
    // Written before the ring: pages inline.
    return JSON.parse(text, reviveBuffers) as StoredAnswer;
  } catch {
    return undefined;
  }
}

function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
}
