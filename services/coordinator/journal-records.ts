/**
 * The journal's binary records. Every SET carries a slot's whole state after a
 * change, so replay is idempotent: applying a record twice, or a record the
 * snapshot already reflects, leaves the same table.
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
export type JournalRecord = SetRecord | ReleaseRecord | NameRecord;

/** Fixed size of SET and RELEASE records; name records are 8 + name bytes. */
export const SET_BYTES = 28;
export const RELEASE_BYTES = 12;

/** Appends records into a growable buffer without a per-record allocation. */
export class RecordWriter {
  private buf: Buffer;
  private len = 0;

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
    return at;
  }

  set(slot: number, ownerId: number, order: number, count: number, tier: number, backendId: number, handle: number, checksum: number): void {
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
  }

  release(slot: number): void {
    const at = this.reserve(RELEASE_BYTES);
    this.buf.writeUInt8(RecordType.Release, at);
    this.buf.fill(0, at + 1, at + 4);
    this.buf.writeDoubleLE(slot, at + 4);
  }

  name(type: RecordType.Owner | RecordType.Backend, id: number, name: string): void {
    const bytes = Buffer.byteLength(name);
    const at = this.reserve(8 + bytes);
    this.buf.writeUInt8(type, at);
    this.buf.writeUInt8(0, at + 1);
    this.buf.writeUInt16LE(bytes, at + 2);
    this.buf.writeUInt32LE(id, at + 4);
    this.buf.write(name, at + 8);
  }

  /** The bytes written so far (a view: copy or write it before the next take). */
  view(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  clear(): void {
    this.len = 0;
  }
}

/**
 * Reads records until the end, or until a torn record at the tail (a crash
 * mid-append): those bytes are ignored, and their length is returned so the
 * caller can truncate them away.
 */
export function readRecords(data: Buffer, onRecord: (r: JournalRecord) => void): { validBytes: number } {
  let at = 0;
  while (at < data.length) {
    const type = data.readUInt8(at);
    if (type === RecordType.Set) {
      if (at + SET_BYTES > data.length) break;
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
      at += SET_BYTES;
    } else if (type === RecordType.Release) {
      if (at + RELEASE_BYTES > data.length) break;
      onRecord({ type, slot: data.readDoubleLE(at + 4) });
      at += RELEASE_BYTES;
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
