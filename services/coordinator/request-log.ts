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
 * Memory is bounded: at most `maxEntries` answers and `maxSlots` slot ids and
 * counts among them; past either, the oldest answers go first. A retry whose
 * answer was forgotten (outside the window, or evicted early) is a new
 * request and is applied again.
 */
import { createHash } from 'node:crypto';
import { status as Status } from '@grpc/grpc-js';
import type { Logger } from '../common/logger';
import { VswapError, invalidArgument, isServiceError } from '../common/errors';

/** The contract's limit on request_id (API.md). */
export const MAX_REQUEST_ID_LENGTH = 64;

export type MutatingMethod = 'SwapOut' | 'Allocate' | 'Store' | 'Duplicate' | 'Free';

export interface RequestLogOptions {
  /** How long an answer is remembered after the first call arrived, in ms; default 600000 (10 minutes). */
  windowMs?: number;
  /** Most answers remembered at once; default 100000. */
  maxEntries?: number;
  /** Most slot ids (and counts) remembered across all answers; default 4000000 (about 32 MiB). */
  maxSlots?: number;
  /** Clock in ms (a test seam); default Date.now. */
  now?: () => number;
  log: Logger;
}

export type ResolvedRequestLogOptions = Required<RequestLogOptions>;

export function addRequestLogDefaults(o: RequestLogOptions): ResolvedRequestLogOptions {
  return { windowMs: o.windowMs ?? 600_000, maxEntries: o.maxEntries ?? 100_000, maxSlots: o.maxSlots ?? 4_000_000, now: o.now ?? Date.now, log: o.log };
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

/** A first call's answer, as a retry gets it. */
type Outcome = { ok: true; value: unknown } | { ok: false; error: VswapError };

interface Entry {
  method: MutatingMethod;
  digest: string;
  /** When the first call arrived (ms): the window counts from here. */
  at: number;
  /** Slot ids and counts the answer holds (the memory bound counts these). */
  size: number;
  /** Undefined while the first call is in flight. */
  outcome: Outcome | undefined;
  /** Resolves when the first call ends: its outcome, or undefined when it is not remembered. */
  settled: Promise<Outcome | undefined>;
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
  if (requestId.length > MAX_REQUEST_ID_LENGTH) throw invalidArgument(`request_id is ${requestId.length} characters: at most ${MAX_REQUEST_ID_LENGTH}`);
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
  return new VswapError(Status.UNKNOWN, 'internal error (the first call with this request_id failed; the coordinator log has the details)');
}

function waitFor<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  const gaveUp = (): VswapError => new VswapError(Status.CANCELLED, 'cancelled while waiting for the first call with this request_id to finish');
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
  readonly stats: RequestLogStats = { entries: 0, slots: 0, replayed: 0, conflicts: 0, evictedEarly: 0 };

  constructor(options: RequestLogOptions) {
    this.options = addRequestLogDefaults(options);
  }

  /**
   * Runs `apply` once per owner and request_id within the window: a retry
   * gets the remembered answer, or waits for the first call's (until
   * `signal` aborts). `sizeOf` says how many slot ids and counts an answer
   * holds.
   */
  async run<T>(key: RequestKey, signal: AbortSignal | undefined, apply: () => Promise<T>, sizeOf: (value: T) => number): Promise<T> {
    if (key.requestId === '') return apply();
    checkRequestId(key.requestId);
    const k = `${key.owner}\0${key.requestId}`;
    for (;;) {
      this.expire();
      const e = this.entries.get(k);
      if (!e) break;
      if (e.digest !== key.digest || e.method !== key.method) {
        this.stats.conflicts++;
        const ago = Math.round((this.options.now() - e.at) / 1000);
        throw new VswapError(
          Status.ALREADY_EXISTS,
          `request_id "${key.requestId}" of owner ${key.owner} was used ${ago} s ago for a different ${e.method} request: a retry must repeat the request exactly; a new request needs a new request_id`,
        );
      }
      const outcome = e.outcome ?? (await waitFor(e.settled, signal));
      if (!outcome) continue; // the first call changed nothing and was forgotten: run this one
      this.stats.replayed++;
      if (!outcome.ok) throw outcome.error;
      return outcome.value as T;
    }
    let settle!: (o: Outcome | undefined) => void;
    const entry: Entry = { method: key.method, digest: key.digest, at: this.options.now(), size: 0, outcome: undefined, settled: new Promise((r) => (settle = r)) };
    this.entries.set(k, entry);
    this.stats.entries = this.entries.size;
    try {
      const value = await apply();
      this.remember(k, entry, { ok: true, value }, sizeOf(value));
      settle(entry.outcome);
      return value;
    } catch (err) {
      if (CHANGED_NOTHING.has(codeOf(err))) {
        this.entries.delete(k);
        this.stats.entries = this.entries.size;
        settle(undefined);
      } else {
        this.remember(k, entry, { ok: false, error: rememberedError(err) }, 0);
        settle(entry.outcome);
      }
      throw err;
    }
  }

  private remember(k: string, e: Entry, outcome: Outcome, size: number): void {
    e.outcome = outcome;
    e.size = size;
    if (this.entries.get(k) === e) this.slots += size;
    this.evict();
    this.stats.entries = this.entries.size;
    this.stats.slots = this.slots;
  }

  /** Drops answers older than the window (in-flight ones stay until they end). */
  private expire(): void {
    const oldest = this.options.now() - this.options.windowMs;
    for (const [k, e] of this.entries) {
      if (e.at >= oldest) break;
      if (e.outcome) this.drop(k, e);
    }
  }

  /** Keeps within maxEntries and maxSlots, oldest answers first. */
  private evict(): void {
    const { maxEntries, maxSlots } = this.options;
    if (this.entries.size <= maxEntries && this.slots <= maxSlots) return;
    const now = this.options.now();
    let early = 0;
    for (const [k, e] of this.entries) {
      if (this.entries.size <= maxEntries && this.slots <= maxSlots) break;
      if (!e.outcome) continue;
      this.drop(k, e);
      if (now - e.at < this.options.windowMs) early++;
    }
    this.stats.evictedEarly += early;
    if (early > 0 && now - this.lastEvictWarning >= 60_000) {
      this.lastEvictWarning = now;
      this.options.log.warn({ dropped: early, droppedSoFar: this.stats.evictedEarly, maxEntries, maxSlots }, 'request log: answers dropped before their retry window ended (a retry of those is applied again)');
    }
  }

  private drop(k: string, e: Entry): void {
    this.entries.delete(k);
    this.slots -= e.size;
  }
}
