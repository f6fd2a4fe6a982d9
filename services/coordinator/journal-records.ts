/**
 * The journal's binary records. Every SET carries a slot's whole state after a
 * change, so replay is idempotent: applying a record twice, or a record the
 * snapshot already reflects, leaves the same table.
 *
 * Format 2 (this one): every file starts with a 16-byte header naming its
 * kind and generation, and every record ends with a CRC-32 of its bytes, so a
 * reader tells a torn tail (a crash mid-append: nothing valid follows) from
 * corruption (valid records follow bad bytes). A snapshot ends with an END
 * record counting its records. Format 1 (`snapshot.bin` + `journal.log`, no
 * header, no CRC) is still read, to migrate existing data directories.
 */
import type { TierCode } from './slot-table';

export const enum RecordType {
  /** A slot's full state: owner, cluster order, swap count, backing. */
  Set = 1,
  /** The slot was released (count and swap-cache pin reached zero). */
  Release = 2,
  /** Names a journal owner id. */
  Owner = 3,
  /** Names a journal backend id. */
  Backend = 4,
  /** Last record of a snapshot: how many records precede it (format 2). */
  End = 5,
  /**
   * The answer of a call with a request_id (request-log.ts), in the commit
   * of the change it answers: replay gives it back to the request log, so a
   * retry after a crash is answered even if requests.log missed it. A Load's
   * pages are not in it: a reference to them in the answer page ring (its
   * payload marked as such); records with the pages inline, written by
   * earlier builds, are still read.
   */
  Answer = 6,
}

export interface SetRecord {
  type: RecordType.Set;
  slot: number;
  ownerId: number;
  order: number;
  count: number;
  tier: TierCode;
  backendId: number;
  handle: number;
  checksum: number;
}
export interface ReleaseRecord {
  type: RecordType.Release;
  slot: number;
}
export interface NameRecord {
  type: RecordType.Owner | RecordType.Backend;
  id: number;
  name: string;
}
export interface AnswerRecord {
  type: RecordType.Answer;
  /** The request log's line for the answer (JSON, UTF-8; request-log.ts says what it holds). */
  payload: Buffer;
}
export type JournalRecord = SetRecord | ReleaseRecord | NameRecord | AnswerRecord;

export const FORMAT_VERSION = 2;
/** "VSWJ", little-endian. */
const MAGIC = 0x4a575356;
export const HEADER_BYTES = 16;
export const enum FileKind {
  Snapshot = 1,
  Log = 2,
}

/** Record sizes in format 2 (each includes its 4-byte CRC); a name record is 12 + name bytes. */
export const SET_BYTES = 32;
export const RELEASE_BYTES = 16;
export const END_BYTES = 12;
export const NAME_OVERHEAD_BYTES = 12;
/** Longest name record (owner names are at most 128 bytes; backend names are short). */
export const MAX_NAME_RECORD_BYTES = NAME_OVERHEAD_BYTES + 1024;
/** An answer record is 12 bytes + its payload (type, 3 zero bytes, payload length, payload, CRC). */
export const ANSWER_OVERHEAD_BYTES = 12;
/**
 * Longest answer payload read (an earlier build's 512 pages inline as base64
 * JSON are about 2.8 MiB; a reference to them in the answer page ring is some 20 KiB).
 */
export const MAX_ANSWER_PAYLOAD_BYTES = 8 * 1024 * 1024;

// Format 1 sizes (no CRC).
const V1_SET_BYTES = 28;
const V1_RELEASE_BYTES = 12;

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/**
 * CRC-32 (zlib's polynomial) of buf[start, end), computed in place: a record
 * is 12 to 32 bytes, too short to pay for a native call and a subarray each.
 */
export function crc32(buf: Uint8Array, start: number, end: number): number {
  let c = -1;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** The 16-byte header of a format-2 file. */
export function fileHeader(kind: FileKind, generation: number): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  b.writeUInt32LE(MAGIC, 0);
  b.writeUInt16LE(FORMAT_VERSION, 4);
  b.writeUInt8(kind, 6);
  b.writeUInt32LE(generation, 8);
  b.writeUInt32LE(crc32(b, 0, 12), 12);
  return b;
}

/** Parses a format-2 header; a string says what is wrong with it. */
export function parseHeader(data: Buffer): { kind: FileKind; generation: number } | string {
  if (data.length < HEADER_BYTES) return `file is ${data.length} bytes, shorter than its ${HEADER_BYTES}-byte header`;
  if (data.readUInt32LE(0) !== MAGIC) return 'bad magic (not a vswap journal file)';
  if (crc32(data, 0, 12) !== data.readUInt32LE(12)) return 'header fails its CRC';
  const version = data.readUInt16LE(4);
  if (version !== FORMAT_VERSION) return `format version ${version}, this coordinator reads ${FORMAT_VERSION}`;
  return { kind: data.readUInt8(6) as FileKind, generation: data.readUInt32LE(8) };
}

/** Appends records into a growable buffer without a per-record allocation. */
export class RecordWriter {
  private buf: Buffer;
  private len = 0;
  /** Records written since the last clear(). */
  records = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.len;
  }

  private reserve(n: number): number {
    if (this.len + n > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
      this.buf.copy(next, 0, 0, this.len);
      this.buf = next;
    }
    const at = this.len;
    this.len += n;
    this.records++;
    return at;
  }

  /** Seals the record at [at, at + n) with its CRC in the last 4 bytes. */
  private seal(at: number, n: number): void {
    this.buf.writeUInt32LE(crc32(this.buf, at, at + n - 4), at + n - 4);
  }

  /** Makes room for `bytes` more at once, so that a large image is not copied again and again as it grows. */
  ensureRoom(bytes: number): void {
    if (this.len + bytes <= this.buf.length) return;
    const next = Buffer.allocUnsafe(this.len + bytes);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** Raw bytes (a file header) at the current end; not counted as a record. */
  raw(bytes: Buffer): void {
    const at = this.reserve(bytes.length);
    this.records--;
    bytes.copy(this.buf, at);
  }

  set(
    slot: number,
    ownerId: number,
    order: number,
    count: number,
    tier: number,
    backendId: number,
    handle: number,
    checksum: number,
  ): void {
    const at = this.reserve(SET_BYTES);
    const buf = this.buf;
    buf.writeUInt8(RecordType.Set, at);
    buf.writeUInt8(order, at + 1);
    buf.writeUInt8(tier, at + 2);
    buf.writeUInt8(backendId, at + 3);
    buf.writeUInt16LE(count, at + 4);
    buf.writeUInt16LE(Math.floor(handle / 0x1_0000_0000), at + 6);
    buf.writeDoubleLE(slot, at + 8);
    buf.writeUInt32LE(ownerId, at + 16);
    buf.writeUInt32LE(handle % 0x1_0000_0000, at + 20);
    buf.writeUInt32LE(checksum >>> 0, at + 24);
    this.seal(at, SET_BYTES);
  }

  release(slot: number): void {
    const at = this.reserve(RELEASE_BYTES);
    this.buf.writeUInt8(RecordType.Release, at);
    this.buf.fill(0, at + 1, at + 4);
    this.buf.writeDoubleLE(slot, at + 4);
    this.seal(at, RELEASE_BYTES);
  }

  name(type: RecordType.Owner | RecordType.Backend, id: number, name: string): void {
    const bytes = Buffer.byteLength(name);
    const n = NAME_OVERHEAD_BYTES + bytes;
    const at = this.reserve(n);
    this.buf.writeUInt8(type, at);
    this.buf.writeUInt8(0, at + 1);
    this.buf.writeUInt16LE(bytes, at + 2);
    this.buf.writeUInt32LE(id, at + 4);
    this.buf.write(name, at + 8);
    this.seal(at, n);
  }

  /** An answer for the request log (payload at most MAX_ANSWER_PAYLOAD_BYTES). */
  answer(payload: Buffer): void {
    if (payload.length > MAX_ANSWER_PAYLOAD_BYTES)
      throw new Error(`answer record of ${payload.length} bytes: at most ${MAX_ANSWER_PAYLOAD_BYTES}`);
    const n = ANSWER_OVERHEAD_BYTES + payload.length;
    const at = this.reserve(n);
    this.buf.writeUInt8(RecordType.Answer, at);
    this.buf.fill(0, at + 1, at + 4);
    this.buf.writeUInt32LE(payload.length, at + 4);
    payload.copy(this.buf, at + 8);
    this.seal(at, n);
  }

  /** Ends a snapshot: the reader checks the count, so a cut-short snapshot is an error, not a smaller table. */
  end(): void {
    const count = this.records;
    const at = this.reserve(END_BYTES);
    this.buf.writeUInt8(RecordType.End, at);
    this.buf.fill(0, at + 1, at + 4);
    this.buf.writeUInt32LE(count, at + 4);
    this.seal(at, END_BYTES);
  }

  /** The bytes written so far (a view: copy or write it before the next take). */
  view(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  clear(): void {
    this.len = 0;
    this.records = 0;
  }
}

type Parsed =
  | { record: JournalRecord | { type: RecordType.End; count: number }; bytes: number }
  | { bad: string }
  | { short: true };

/** One format-2 record at `at`: the record, or why it is not one. */
function parseAt(data: Buffer, at: number): Parsed {
  const type = data.readUInt8(at);
  let n: number;
  if (type === RecordType.Set) n = SET_BYTES;
  else if (type === RecordType.Release) n = RELEASE_BYTES;
  else if (type === RecordType.End) n = END_BYTES;
  else if (type === RecordType.Owner || type === RecordType.Backend) {
    if (at + 4 > data.length) return { short: true };
    const len = data.readUInt16LE(at + 2);
    if (NAME_OVERHEAD_BYTES + len > MAX_NAME_RECORD_BYTES) return { bad: `name of ${len} bytes is too long` };
    n = NAME_OVERHEAD_BYTES + len;
  } else if (type === RecordType.Answer) {
    if (at + 8 > data.length) return { short: true };
    const len = data.readUInt32LE(at + 4);
    if (len > MAX_ANSWER_PAYLOAD_BYTES) return { bad: `answer of ${len} bytes is too long` };
    n = ANSWER_OVERHEAD_BYTES + len;
  } else return { bad: `unknown record type ${type}` };
  if (at + n > data.length) return { short: true };
  if (crc32(data, at, at + n - 4) !== data.readUInt32LE(at + n - 4)) return { bad: 'record fails its CRC' };
  switch (type) {
    case RecordType.Set:
      return {
        bytes: n,
        record: {
          type,
          order: data.readUInt8(at + 1),
          tier: data.readUInt8(at + 2) as TierCode,
          backendId: data.readUInt8(at + 3),
          count: data.readUInt16LE(at + 4),
          slot: data.readDoubleLE(at + 8),
          ownerId: data.readUInt32LE(at + 16),
          handle: data.readUInt16LE(at + 6) * 0x1_0000_0000 + data.readUInt32LE(at + 20),
          checksum: data.readUInt32LE(at + 24),
        },
      };
    case RecordType.Release:
      return { bytes: n, record: { type, slot: data.readDoubleLE(at + 4) } };
    case RecordType.End:
      return { bytes: n, record: { type, count: data.readUInt32LE(at + 4) } };
    case RecordType.Answer:
      return { bytes: n, record: { type, payload: Buffer.from(data.subarray(at + 8, at + n - 4)) } };
    default:
      return {
        bytes: n,
        record: {
          type: type as RecordType.Owner,
          id: data.readUInt32LE(at + 4),
          name: data.toString('utf8', at + 8, at + n - 4),
        },
      };
  }
}

/** How a run of format-2 records ended. */
export type RecordsEnd =
  /** Every byte was a valid record (or trailing zeros: preallocated room). */
  | { kind: 'clean'; validBytes: number; endCount?: number }
  /** Bad bytes at validBytes and nothing valid after them: a crash mid-append. */
  | { kind: 'torn'; validBytes: number; reason: string }
  /** Bad bytes at `offset`, yet a valid record follows at `nextValid`: not a crash, corruption. */
  | { kind: 'corrupt'; validBytes: number; offset: number; reason: string; nextValid: number };

/**
 * Reads format-2 records from `start` to the end of `data`. An END record
 * stops the read (what follows it must be zeros). Reading stops at the first
 * bad record; then the rest is searched for any record that passes its CRC:
 * if one exists the file is corrupt (never truncated silently), otherwise
 * the bad bytes are a torn tail.
 */
export function readRecords(data: Buffer, start: number, onRecord: (r: JournalRecord) => void): RecordsEnd {
  let at = start;
  let records = 0;
  while (at < data.length) {
    if (data[at] === 0 && isZero(data, at)) return { kind: 'clean', validBytes: at };
    const p = parseAt(data, at);
    if ('record' in p) {
      if (p.record.type === RecordType.End) {
        const endAt = at;
        at += p.bytes;
        if (p.record.count !== records)
          return {
            kind: 'corrupt',
            validBytes: endAt,
            offset: endAt,
            reason: `END record counts ${p.record.count} records, ${records} precede it`,
            nextValid: endAt,
          };
        if (at < data.length && !isZero(data, at))
          return { kind: 'corrupt', validBytes: at, offset: at, reason: 'bytes after the END record', nextValid: at };
        return { kind: 'clean', validBytes: at, endCount: records };
      }
      onRecord(p.record);
      records++;
      at += p.bytes;
      continue;
    }
    const reason = 'bad' in p ? p.bad : 'record cut short at the end of the file';
    const nextValid = findValidRecord(data, at + 1);
    if (nextValid < 0) return { kind: 'torn', validBytes: at, reason };
    return { kind: 'corrupt', validBytes: at, offset: at, reason, nextValid };
  }
  return { kind: 'clean', validBytes: at };
}

function isZero(data: Buffer, from: number): boolean {
  for (let i = from; i < data.length; i++) if (data[i] !== 0) return false;
  return true;
}

/** The first offset at or after `from` holding a record that passes its CRC; -1 if none. */
function findValidRecord(data: Buffer, from: number): number {
  for (let at = from; at < data.length; at++) {
    const t = data[at];
    if (t === undefined || t < RecordType.Set || t > RecordType.Answer) continue;
    if ('record' in parseAt(data, at)) return at;
  }
  return -1;
}

/**
 * Reads format-1 records (no CRC) until the end, or until a torn record at
 * the tail: those bytes are ignored.
 */
export function readLegacyRecords(data: Buffer, onRecord: (r: JournalRecord) => void): { validBytes: number } {
  let at = 0;
  while (at < data.length) {
    const type = data.readUInt8(at);
    if (type === RecordType.Set) {
      if (at + V1_SET_BYTES > data.length) break;
      onRecord({
        type,
        order: data.readUInt8(at + 1),
        tier: data.readUInt8(at + 2) as TierCode,
        backendId: data.readUInt8(at + 3),
        count: data.readUInt16LE(at + 4),
        slot: data.readDoubleLE(at + 8),
        ownerId: data.readUInt32LE(at + 16),
        handle: data.readUInt16LE(at + 6) * 0x1_0000_0000 + data.readUInt32LE(at + 20),
        checksum: data.readUInt32LE(at + 24),
      });
      at += V1_SET_BYTES;
    } else if (type === RecordType.Release) {
      if (at + V1_RELEASE_BYTES > data.length) break;
      onRecord({ type, slot: data.readDoubleLE(at + 4) });
      at += V1_RELEASE_BYTES;
    } else if (type === RecordType.Owner || type === RecordType.Backend) {
      if (at + 8 > data.length) break;
      const len = data.readUInt16LE(at + 2);
      if (at + 8 + len > data.length) break;
      onRecord({ type, id: data.readUInt32LE(at + 4), name: data.toString('utf8', at + 8, at + 8 + len) });
      at += 8 + len;
    } else {
      break; // garbage: a torn tail
    }
  }
  return { validBytes: at };
}
