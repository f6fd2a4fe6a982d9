/**
 * The answer page ring: where the request log keeps the pages of the answers
 * it remembers (a Load with release is answered with its pages), so that
 * neither memory nor requests.log nor the journal holds or copies them: they
 * keep a PageRef (where the pages are, their lengths and checksums).
 *
 * A file of `size` bytes (`<data dir>/answers.ring`, --retry-max-page-bytes),
 * preallocated, written as a ring: each answer's pages are one region at a
 * logical offset that only grows (physical offset: logical mod size), written
 * with one positioned write (two where the region wraps). A region is intact
 * while the head is at most `size` bytes past its start; past that a newer
 * region overwrote it, and the request log forgets that answer (evicted
 * early, as any answer past a bound). All-zero and empty pages take no room.
 *
 * Reading a region back checks every page against its checksum, so a region
 * overwritten in a way the offsets cannot tell (written after the last
 * reference a crashed coordinator kept, a torn or unsynced write, a changed
 * file) is an answer lost, never other bytes.
 *
 * Start-up: the request log claims every region it holds a reference to, so
 * the head starts past all of them.
 */
import * as fs from 'node:fs';
import { ZERO_PAGE_CHECKSUM, pageChecksum, pageChecksums } from '../common/checksum';
import type { Logger } from '../common/logger';
import { PAGE_SIZE } from '../common/limits';
import { isZeroPage } from '../common/pages';
import { SharedSync } from './shared-sync';

const NO_ZEROS: readonly number[] = [];

/** Where an answer's pages are in the ring, and what they are. */
export interface PageRef {
  /** Logical offset of the region's first byte. */
  readonly at: number;
  /** Bytes of the region: the pages that are neither all-zero nor empty, back to back. */
  readonly bytes: number;
  /** Each page's length. */
  readonly lengths: Uint32Array;
  /** Each page's checksum (pageChecksum). */
  readonly sums: Uint32Array;
  /** Indices of the all-zero pages (not in the region), ascending. */
  readonly zero: readonly number[];
}

/** A PageRef as JSON (requests.log lines and journal answer records). */
export interface PageRefJson {
  at: number;
  /** bytes */
  n: number;
  /** Every page's length, or the one length they all have. */
  len: number | number[];
  /** The checksums, little-endian uint32s, base64. */
  crc: string;
  zero?: number[];
}

export function encodeRef(r: PageRef): PageRefJson {
  const n = r.lengths.length;
  const first = n > 0 ? r.lengths[0]! : PAGE_SIZE;
  const uniform = r.lengths.every((l) => l === first);
  const sums = Buffer.from(r.sums.buffer, r.sums.byteOffset, r.sums.byteLength);
  return {
    at: r.at,
    n: r.bytes,
    len: uniform ? first : Array.from(r.lengths),
    crc: sums.toString('base64'),
    ...(r.zero.length > 0 ? { zero: [...r.zero] } : {}),
  };
}

const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

/** The PageRef of its JSON; undefined when it is not a consistent one. */
export function decodeRef(j: unknown): PageRef | undefined {
  const o = j as Partial<PageRefJson> | null;
  if (o === null || typeof o !== 'object' || !isCount(o.at) || !isCount(o.n) || typeof o.crc !== 'string')
    return undefined;
  const raw = Buffer.from(o.crc, 'base64');
  if (raw.length % 4 !== 0) return undefined;
  const sums = new Uint32Array(raw.length / 4);
  for (let i = 0; i < sums.length; i++) sums[i] = raw.readUInt32LE(4 * i);
  const count = sums.length;
  let lengths: Uint32Array;
  if (Array.isArray(o.len)) {
    if (o.len.length !== count || !o.len.every(isCount)) return undefined;
    lengths = Uint32Array.from(o.len);
  } else if (isCount(o.len)) lengths = new Uint32Array(count).fill(o.len);
  else return undefined;
  const zero = o.zero ?? NO_ZEROS;
  if (!Array.isArray(zero) || !zero.every((z, i) => isCount(z) && z < count && (i === 0 || z > zero[i - 1]!)))
    return undefined;
  let bytes = 0;
  let z = 0;
  for (let i = 0; i < count; i++) {
    if (zero[z] === i) z++;
    else bytes += lengths[i]!;
  }
  if (bytes !== o.n) return undefined;
  return { at: o.at, bytes, lengths, sums, zero };
}

export interface AnswerRingOptions {
  /** The ring's file; none: a buffer in memory (allocated at the first write). */
  file: string | undefined;
  /** Bytes of the ring (and of the file). */
  size: number;
  /** As the journal's: `always` makes sync() wait for the disk, `batch` syncs every 100 ms, `never` not at all. */
  fsync: 'always' | 'batch' | 'never';
  log: Logger;
}

export class AnswerRing {
  readonly size: number;
  /** Logical offset of the next region. */
  private next = 0;
  private fd: number | undefined;
  private memory: Buffer | undefined;
  private readonly syncer: SharedSync;
  private lastWarning = -Infinity;

  constructor(private readonly options: AnswerRingOptions) {
    this.size = options.size;
    this.syncer = new SharedSync(() => this.fd, { fsync: options.fsync, log: options.log, what: 'answer ring' });
    if (options.file === undefined) return;
    try {
      this.fd = openRing(options.file, options.size, options.log);
    } catch (err) {
      // The coordinator still starts: answers' pages are then kept in memory only (lost to a restart).
      options.log.error(
        { err: String(err), file: options.file },
        'answer ring: cannot open the file; keeping the pages of answers in memory (a retry after a restart runs afresh)',
      );
    }
  }

  /** Logical offset where the next region goes. */
  get head(): number {
    return this.next;
  }

  /** Start-up: a region a kept answer refers to; the head moves past it (nothing is written over it yet). */
  claim(ref: PageRef): void {
    this.next = Math.max(this.next, ref.at + ref.bytes);
  }

  /** Whether no later region has been written over `ref`'s (its pages may still fail their checksums). */
  holds(ref: PageRef): boolean {
    return ref.bytes === 0 || ref.at >= this.next - this.size;
  }

  /**
   * Writes the pages as the region at the head and moves the head past it.
   * `sums`: the pages' checksums when the caller has them (computed
   * otherwise). Undefined when they cannot be kept: more bytes than the ring
   * holds, or the write failed (logged; the head moved all the same, so the
   * regions it may have overwritten count as overwritten).
   */
  write(pages: readonly Buffer[], sums?: Uint32Array): PageRef | undefined {
    const n = pages.length;
    const checksums = pageChecksums(pages, sums);
    const lengths = new Uint32Array(n);
    const data: Buffer[] = [];
    let zero = NO_ZEROS;
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const p = pages[i]!;
      lengths[i] = p.length;
      if (p.length === 0) continue;
      if (checksums[i] === ZERO_PAGE_CHECKSUM && isZeroPage(p)) {
        if (zero === NO_ZEROS) zero = [];
        (zero as number[]).push(i);
        continue;
      }
      data.push(p);
      bytes += p.length;
    }
    if (bytes > this.size) return undefined;
    const at = this.next;
    this.next += bytes;
    if (bytes > 0) {
      try {
        this.put(at % this.size, data, bytes);
      } catch (err) {
        this.warn(err, 'answer ring: could not write the pages of an answer (a retry of that call runs afresh)');
        return undefined;
      }
    }
    return { at, bytes, lengths, sums: checksums, zero };
  }

  /** The region's pages, each checked against its checksum; undefined when it was overwritten or fails a check. */
  read(ref: PageRef): Buffer[] | undefined {
    if (!this.holds(ref)) return undefined;
    let region: Buffer;
    try {
      region = this.get(ref.at % this.size, ref.bytes);
    } catch (err) {
      this.warn(err, 'answer ring: could not read the pages of an answer back (the retry runs afresh)');
      return undefined;
    }
    const out = new Array<Buffer>(ref.lengths.length);
    let off = 0;
    let z = 0;
    for (let i = 0; i < out.length; i++) {
      const len = ref.lengths[i]!;
      if (ref.zero[z] === i) {
        z++;
        out[i] = Buffer.alloc(len);
        continue;
      }
      const page = region.subarray(off, off + len);
      off += len;
      if (pageChecksum(page) !== ref.sums[i]) return undefined;
      out[i] = page;
    }
    return out;
  }

  /** Resolves once every region written so far is on disk (fsync `always`; otherwise at once). */
  sync(): Promise<void> {
    return this.syncer.sync();
  }

  close(): void {
    this.syncer.close();
    if (this.fd === undefined) return;
    try {
      fs.fdatasyncSync(this.fd);
    } finally {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
  }

  /** Writes `data` (bytes in all) at physical offset `at`, wrapping at the end. */
  private put(at: number, data: Buffer[], bytes: number): void {
    const first = Math.min(bytes, this.size - at);
    if (first === bytes) this.putAt(at, data);
    else {
      const [a, b] = splitAt(data, first);
      this.putAt(at, a);
      this.putAt(0, b);
    }
    this.syncer.written();
  }

  private putAt(at: number, data: Buffer[]): void {
    if (this.fd === undefined) {
      this.memory ??= Buffer.alloc(this.size);
      for (const d of data) at += d.copy(this.memory, at);
      return;
    }
    let list = data;
    while (list.length > 0) {
      const n = fs.writevSync(this.fd, list, at);
      at += n;
      list = splitAt(list, n)[1];
    }
  }

  /** `bytes` bytes from physical offset `at`, wrapping at the end. */
  private get(at: number, bytes: number): Buffer {
    const out = Buffer.allocUnsafe(bytes);
    const first = Math.min(bytes, this.size - at);
    this.getAt(at, out.subarray(0, first));
    if (first < bytes) this.getAt(0, out.subarray(first));
    return out;
  }

  private getAt(at: number, into: Buffer): void {
    if (this.fd === undefined) {
      if (this.memory) this.memory.copy(into, 0, at, at + into.length);
      else into.fill(0);
      return;
    }
    let off = 0;
    while (off < into.length) {
      const n = fs.readSync(this.fd, into, off, into.length - off, at + off);
      if (n === 0) throw new Error(`answer ring: end of file at ${at + off}, ${this.size} bytes expected`);
      off += n;
    }
  }

  private warn(err: unknown, msg: string): void {
    const now = Date.now();
    if (now - this.lastWarning < 60_000) return;
    this.lastWarning = now;
    this.options.log.warn({ err: String(err), file: this.options.file }, msg);
  }
}

/** The buffers holding bytes [0, n) and [n, end) of `list` (a buffer across n is split, not copied). */
function splitAt(list: readonly Buffer[], n: number): [Buffer[], Buffer[]] {
  const head: Buffer[] = [];
  let i = 0;
  for (; i < list.length && n > 0; i++) {
    const b = list[i]!;
    if (b.length <= n) {
      head.push(b);
      n -= b.length;
      continue;
    }
    head.push(b.subarray(0, n));
    return [head, [b.subarray(n), ...list.slice(i + 1)]];
  }
  return [head, list.slice(i)];
}

/**
 * Opens (or creates) the ring's file at `size` bytes. A file of another size
 * (the bound changed) starts over empty: its regions would be read at other
 * offsets. The bytes are written out (zeros), so a disk that fills up later
 * does not fail a ring write; if that fails, the file is left sparse.
 */
function openRing(file: string, size: number, log: Logger): number {
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  try {
    let have = fs.fstatSync(fd).size;
    if (have === size) return fd;
    if (have !== 0) {
      log.info({ file, bytes: have, size }, 'answer ring: the file has another size; starting it over');
      fs.ftruncateSync(fd, 0);
      have = 0;
    }
    const zeros = Buffer.alloc(Math.min(size, 1024 * 1024));
    try {
      while (have < size) have += fs.writeSync(fd, zeros, 0, Math.min(zeros.length, size - have), have);
    } catch (err) {
      log.warn({ err: String(err), file }, 'answer ring: could not preallocate the file; leaving it sparse');
      fs.ftruncateSync(fd, size);
    }
    return fd;
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}
