/**
 * Every slot as a register. Writes are SwapOuts and Stores, reads are Loads;
 * each carries the CRC-32 of its page and the logical times it was invoked
 * and answered. A Load must return the value of the latest write
 * acknowledged before it began, or of a write concurrent with it; any other
 * value of that slot's history is a stale read, and a value no write of the
 * slot ever had is a foreign read (both fail a run).
 *
 * Times are a logical clock (a counter bumped by every event), so "before"
 * is exact, never a matter of clock resolution. Writes whose outcome the
 * client could not know stay concurrent with everything after them (they
 * may take effect at any time); writes that failed definitively are kept as
 * "failed" so that a read of their value is told apart from a corruption.
 */

/** Acknowledgement time of a write whose outcome is unknown: it may take effect at any later time. */
export const UNKNOWN_ACK = Number.POSITIVE_INFINITY;

interface WriteRecord {
  crc: number;
  invoke: number;
  /** Logical time of the acknowledgement; UNKNOWN_ACK when unknown; -1 when it failed definitively. */
  ack: number;
  /** What wrote it, for problem lines. */
  what: string;
}

export type ReadVerdict = { ok: true } | { ok: false; kind: 'stale' | 'foreign'; detail: string };

/** Writes kept per slot beyond the ones a read in flight can still need. */
const KEEP_PER_SLOT = 8;

export class RegisterChecker {
  private clock = 0;
  private readonly writes = new Map<string, WriteRecord[]>();
  /** Invocation times of reads in flight -> how many (pruning keeps what they may still see). */
  private readonly readsInFlight = new Map<number, number>();
  staleReads = 0;
  foreignReads = 0;
  readsChecked = 0;
  /** Up to 50 lines describing violations. */
  readonly problems: string[] = [];

  /** A new logical time. */
  now(): number {
    return ++this.clock;
  }

  /** Opens a read window: call before the request is sent; pass the result to readEnded(). */
  readStarted(): number {
    const t = this.now();
    this.readsInFlight.set(t, (this.readsInFlight.get(t) ?? 0) + 1);
    return t;
  }

  /** Closes a read window without a value (the read failed). */
  readAbandoned(invoke: number): void {
    this.closeRead(invoke);
  }

  /**
   * Records a write of `crc` to `key` invoked at `invoke`: acknowledged now
   * (ack 'ok'), outcome unknown ('unknown'), or failed definitively ('failed').
   */
  write(key: string, crc: number, invoke: number, outcome: 'ok' | 'unknown' | 'failed', what = 'write'): void {
    const ack = outcome === 'ok' ? this.now() : outcome === 'unknown' ? UNKNOWN_ACK : -1;
    let list = this.writes.get(key);
    if (!list) this.writes.set(key, (list = []));
    list.push({ crc, invoke, ack, what });
    if (list.length > KEEP_PER_SLOT) this.prune(list);
  }

  /**
   * Checks a read of `key` that returned `crc`, invoked at `invoke` (from
   * readStarted()) and answered now. Counts and returns the verdict.
   */
  readEnded(key: string, crc: number, invoke: number, what = 'load'): ReadVerdict {
    const complete = this.now();
    this.closeRead(invoke);
    this.readsChecked++;
    const v = this.judgeRead(this.writes.get(key) ?? [], crc, invoke, complete);
    if (!v.ok) {
      if (v.kind === 'stale') this.staleReads++;
      else this.foreignReads++;
      this.problem(
        `${v.kind === 'stale' ? 'STALE READ' : 'FOREIGN READ'} ${what} ${key.replace('\0', ' slot ')}: ${v.detail}`,
      );
    }
    return v;
  }

  /** The verdict on one read against a slot's writes (pure). */
  judgeRead(list: readonly WriteRecord[], crc: number, invoke: number, complete: number): ReadVerdict {
    const done = list.filter((w) => w.ack >= 0 && w.ack < invoke);
    // A completed write is superseded when another completed write began after it was acknowledged.
    let latestInvoke = -1;
    for (const w of done) if (w.invoke > latestInvoke) latestInvoke = w.invoke;
    const allowed = new Set<number>();
    for (const w of done) if (w.ack >= latestInvoke) allowed.add(w.crc);
    for (const w of list) if (w.ack !== -1 && w.invoke < complete && w.ack >= invoke) allowed.add(w.crc);
    if (allowed.has(crc)) return { ok: true };
    const wanted = [...allowed].map(hex).join(' or ') || 'nothing written yet';
    const match = list.find((w) => w.crc === crc);
    if (match) {
      const when = match.ack === -1 ? 'a write that failed' : 'an older write, superseded before the read began';
      return {
        ok: false,
        kind: 'stale',
        detail: `read ${hex(crc)}, the value of ${when} (${match.what}); expected ${wanted}`,
      };
    }
    return {
      ok: false,
      kind: 'foreign',
      detail: `read ${hex(crc)}, a value never written to this slot; expected ${wanted}`,
    };
  }

  private closeRead(invoke: number): void {
    const n = this.readsInFlight.get(invoke) ?? 0;
    if (n <= 1) this.readsInFlight.delete(invoke);
    else this.readsInFlight.set(invoke, n - 1);
  }

  /**
   * Drops writes no read can be allowed to see any more: superseded by a
   * write acknowledged before the oldest read in flight began. The newest
   * few stay (their values still classify a stale read as stale).
   */
  private prune(list: WriteRecord[]): void {
    let oldestRead = this.clock + 1;
    for (const t of this.readsInFlight.keys()) if (t < oldestRead) oldestRead = t;
    const done = list.filter((w) => w.ack >= 0 && w.ack < oldestRead);
    let latestInvoke = -1;
    for (const w of done) if (w.invoke > latestInvoke) latestInvoke = w.invoke;
    const excess = list.length - KEEP_PER_SLOT;
    let removed = 0;
    for (let i = 0; i < list.length && removed < excess;) {
      const w = list[i]!;
      const dead = w.ack === -1 || (w.ack >= 0 && w.ack < latestInvoke && w.ack !== UNKNOWN_ACK);
      if (dead) {
        list.splice(i, 1);
        removed++;
      } else i++;
    }
  }

  private problem(text: string): void {
    if (this.problems.length < 50) this.problems.push(text);
  }
}

function hex(crc: number): string {
  return `crc ${(crc >>> 0).toString(16).padStart(8, '0')}`;
}

/** The register key of a slot. */
export function slotKey(owner: string, slot: number): string {
  return `${owner}\0${slot}`;
}
