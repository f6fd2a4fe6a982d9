/**
 * The file store: a real swap file with the page of slot n at byte n * 4096,
 * plus an allocation map next to it (`<path>.map`).
 *
 * I/O is positioned and batched: a run of consecutive slots is one
 * writev/pread of several pages, and a Get reads into one buffer allocated for
 * the whole batch. Writes are synchronous calls (page cache writes are far
 * cheaper than a round trip through the libuv pool); only fdatasync, which
 * may take milliseconds, runs in the pool.
 *
 * The map file: a 64-byte header (magic, version, capacity, epoch) and one
 * 16-bit word per slot (used bit and generation, big-endian; version 1 had one
 * bit per slot and is read as generation 0), written with the same fsync
 * policy as the data. The generations must survive a restart: a handle freed
 * before it must stay stale after it. Its epoch is a
 * random id made when the swap file is created; it stays the same across
 * restarts, since the data is in the file. Missing or unreadable map with an
 * existing swap file: the allocation state is lost, so a new epoch starts and
 * every slot is free (the coordinator's Reconcile then reports its handles as
 * missing, as it must).
 *
 * Discard: Node has no fallocate(PUNCH_HOLE), and writing zeros would
 * allocate blocks rather than release them, so a freed slot keeps its old
 * bytes until the next Put overwrites it; only the map changes.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../common/logger';
import { resourceExhausted, unavailable, VswapError } from '../common/errors';
import { PAGE_SIZE } from '../common/limits';
import { ConfigError } from '../common/config';
import { WORD_USED } from './allocator';
import { decodeWords, encodeWords, type PageStore, type SlotWords, type StoreResult } from './page-store';
import type { FsyncPolicy } from '../common/fsync-policy';

const fdatasync = promisify(fs.fdatasync);

const MAP_MAGIC = 'VSWAPMAP';
const MAP_VERSION = 2;
const MAP_HEADER = 64;
const EPOCH_OFFSET = 24;
const EPOCH_LENGTH = 32;

export type { FsyncPolicy };

export interface FileStoreOptions {
  /** The swap file; its directory is created. */
  path: string;
  /** Slots of the device. */
  capacity: number;
  /** Default "batch". */
  fsync?: FsyncPolicy;
  /** fsync=batch: delay before the coalesced fdatasync; default 50 ms. */
  fsyncDelayMs?: number;
  log: Logger;
}

const OK: StoreResult<void> = { ok: true, value: undefined };

export class FileStore implements PageStore {
  readonly kind = 'file';
  readonly volatile = false;
  fsyncs = 0;

  private readonly fsync: FsyncPolicy;
  private readonly fsyncDelayMs: number;
  /** In-memory copy of the map file's slot words. */
  private readonly words: Uint16Array;
  private timer: NodeJS.Timeout | undefined;
  /** Writes done so far, and how many of them the last completed sync covered. */
  private writeSeq = 0;
  private syncedSeq = 0;
  private syncing: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly options: FileStoreOptions,
    private readonly dataFd: number,
    private readonly mapFd: number,
    readonly epoch: string,
    readonly restoredWords: Uint16Array,
  ) {
    this.fsync = options.fsync ?? 'batch';
    this.fsyncDelayMs = options.fsyncDelayMs ?? 50;
    this.words = restoredWords.slice();
  }

  /** Opens (or creates, sparse) the swap file and its map. */
  static open(options: FileStoreOptions): FileStore {
    const { log, capacity } = options;
    const file = path.resolve(options.path);
    const mapFile = `${file}.map`;
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
    } catch (err) {
      throw new ConfigError(`--path (VSWAP_SWAPFILE_PATH): cannot create the directory of ${file}: ${errMessage(err)}`);
    }
    let dataFd: number;
    let created = false;
    try {
      dataFd = fs.openSync(file, fs.constants.O_RDWR);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new ConfigError(`--path (VSWAP_SWAPFILE_PATH): cannot open ${file}: ${errMessage(err)}`);
      try {
        dataFd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
        created = true;
      } catch (err2) {
        throw new ConfigError(`--path (VSWAP_SWAPFILE_PATH): cannot create ${file}: ${errMessage(err2)}`);
      }
    }
    try {
      let map = created ? undefined : readMap(mapFile, log);
      if (!created && !map)
        log.warn(
          { file, mapFile },
          'swap file without a readable allocation map: starting over with a new epoch, every slot free',
        );
      if (map) {
        const beyond = countUsedFrom(map.words, capacity);
        if (beyond > 0) {
          throw new ConfigError(
            `--capacity-pages (VSWAP_SWAPFILE_CAPACITY_PAGES): ${file} holds ` +
              `${beyond} page(s) beyond slot ${capacity}; ` +
              `use at least ${lastUsed(map.words) + 1} pages or another --path`,
          );
        }
      }
      map ??= { epoch: newEpoch(), words: new Uint16Array(0) };
      // Sparse: no block is allocated until a page is written there.
      if (fs.fstatSync(dataFd).size !== capacity * PAGE_SIZE) fs.ftruncateSync(dataFd, capacity * PAGE_SIZE);
      // Generations of slots past a smaller capacity are dropped: no handle of them can be valid again (they were
      // free).
      const words = new Uint16Array(capacity);
      words.set(map.words.subarray(0, capacity));
      writeMapAtomically(mapFile, capacity, map.epoch, words);
      if (created) fs.fsyncSync(dataFd);
      const mapFd = fs.openSync(mapFile, fs.constants.O_RDWR);
      log.info({ file, capacity, epoch: map.epoch, created }, 'swap file open');
      return new FileStore(options, dataFd, mapFd, map.epoch, words);
    } catch (err) {
      fs.closeSync(dataFd);
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(`--path (VSWAP_SWAPFILE_PATH): cannot prepare ${file}: ${errMessage(err)}`);
    }
  }

  async write(slots: Int32Array, pages: readonly Buffer[], n: number, words: SlotWords): Promise<StoreResult<void>> {
    this.assertOpen();
    try {
      let i = 0;
      while (i < n) {
        if (slots[i]! < 0) {
          i++;
          continue;
        }
        let j = i + 1;
        while (j < n && slots[j] === slots[j - 1]! + 1) j++;
        const position = slots[i]! * PAGE_SIZE;
        const expected = (j - i) * PAGE_SIZE;
        const written =
          j - i === 1
            ? fs.writeSync(this.dataFd, pages[i]!, 0, PAGE_SIZE, position)
            : fs.writevSync(this.dataFd, pages.slice(i, j), position);
        if (written !== expected)
          throw Object.assign(new Error(`short write: ${written} of ${expected} bytes`), { code: 'ENOSPC' });
        i = j;
      }
    } catch (err) {
      throw this.ioError('writing', err);
    }
    this.markSlots(slots, n, words);
    await this.afterChange(true);
    return OK;
  }

  read(slots: Int32Array, n: number): Promise<StoreResult<(Buffer | null)[]>> {
    this.assertOpen();
    const buf = Buffer.allocUnsafe(n * PAGE_SIZE);
    const pages: Buffer[] = new Array<Buffer>(n);
    try {
      let i = 0;
      while (i < n) {
        let j = i + 1;
        while (j < n && slots[j] === slots[j - 1]! + 1) j++;
        const length = (j - i) * PAGE_SIZE;
        const got = fs.readSync(this.dataFd, buf, i * PAGE_SIZE, length, slots[i]! * PAGE_SIZE);
        if (got !== length) throw new Error(`short read: ${got} of ${length} bytes at slot ${slots[i]}`);
        for (let k = i; k < j; k++) pages[k] = buf.subarray(k * PAGE_SIZE, (k + 1) * PAGE_SIZE);
        i = j;
      }
    } catch (err) {
      return Promise.reject(this.ioError('reading', err));
    }
    return Promise.resolve({ ok: true, value: pages });
  }

  async release(slots: Int32Array, n: number, words: SlotWords): Promise<StoreResult<void>> {
    this.assertOpen();
    this.markSlots(slots, n, words);
    // A free that is lost in a crash only brings the slot back as used, and
    // the coordinator's Reconcile frees it: never worth an fdatasync of its own.
    await this.afterChange(false);
    return OK;
  }

  check(): Promise<StoreResult<void>> {
    return Promise.resolve(OK);
  }

  async flush(): Promise<void> {
    if (this.fsync === 'never') return;
    await this.syncUpTo(this.writeSeq);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      fs.closeSync(this.mapFd);
      fs.closeSync(this.dataFd);
    }
  }

  // ---- internals ----------------------------------------------------------

  /** Copies the words of slots[0..n) and writes the range of the map that changed (one positioned write). */
  private markSlots(slots: Int32Array, n: number, words: SlotWords): void {
    let lo = Infinity;
    let hi = -1;
    for (let i = 0; i < n; i++) {
      const s = slots[i]!;
      if (s < 0) continue;
      this.words[s] = words.slotWord(s);
      if (s < lo) lo = s;
      if (s > hi) hi = s;
    }
    if (hi < 0) return;
    try {
      fs.writeSync(this.mapFd, encodeWords(this.words, lo, hi + 1), 0, (hi + 1 - lo) * 2, MAP_HEADER + lo * 2);
    } catch (err) {
      throw this.ioError('writing the allocation map of', err);
    }
  }

  private async afterChange(isPut: boolean): Promise<void> {
    const seq = ++this.writeSeq;
    if (this.fsync === 'always' && isPut) {
      await this.syncUpTo(seq);
    } else if (this.fsync !== 'never' && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (this.closed) return;
        this.syncUpTo(this.writeSeq).catch((err: unknown) =>
          this.options.log.error({ err }, 'batched fdatasync of the swap file failed'),
        );
      }, this.fsyncDelayMs);
      this.timer.unref();
    }
  }

  /**
   * Resolves once a completed fdatasync of both files began after write
   * number `seq`. Concurrent callers share one sync (group commit).
   */
  private async syncUpTo(seq: number): Promise<void> {
    while (this.syncedSeq < seq) {
      if (this.syncing) {
        await this.syncing;
        continue;
      }
      const target = this.writeSeq;
      this.syncing = Promise.all([fdatasync(this.dataFd), fdatasync(this.mapFd)]).then(
        () => {
          this.syncedSeq = Math.max(this.syncedSeq, target);
          this.fsyncs++;
          this.syncing = undefined;
        },
        (err: unknown) => {
          this.syncing = undefined;
          throw this.ioError('syncing', err);
        },
      );
      await this.syncing;
    }
  }

  private ioError(what: string, err: unknown): VswapError {
    const code = (err as NodeJS.ErrnoException).code;
    const msg = `${what} the swap file ${this.options.path}: ${errMessage(err)}`;
    // EFBIG (past the file size limit, RLIMIT_FSIZE) is a full device too: the
    // backend answered, it has no room; UNAVAILABLE would tell the coordinator
    // to wait for it (found by the fault harness, disk-full).
    return code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG' ? resourceExhausted(msg) : unavailable(msg);
  }

  private assertOpen(): void {
    if (this.closed) throw unavailable('the swap file is closed: the service is stopping');
  }
}

function newEpoch(): string {
  return crypto.randomBytes(EPOCH_LENGTH / 2).toString('hex');
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The map file's epoch and slot words, or undefined when missing or unreadable. */
function readMap(mapFile: string, log: Logger): { epoch: string; words: Uint16Array } | undefined {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(mapFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ err, mapFile }, 'cannot read the allocation map');
    return undefined;
  }
  const version = buf.length >= MAP_HEADER ? buf.readUInt32LE(8) : 0;
  if (
    buf.length < MAP_HEADER ||
    buf.toString('latin1', 0, 8) !== MAP_MAGIC ||
    (version !== 1 && version !== MAP_VERSION)
  ) {
    log.warn({ mapFile }, 'the allocation map has no valid header');
    return undefined;
  }
  const capacity = buf.readUInt32LE(16);
  const epoch = buf.toString('latin1', EPOCH_OFFSET, EPOCH_OFFSET + EPOCH_LENGTH);
  const bytes = version === 1 ? Math.ceil(capacity / 8) : capacity * 2;
  if (buf.length < MAP_HEADER + bytes || !/^[0-9a-f]+$/.test(epoch)) {
    log.warn({ mapFile }, 'the allocation map is truncated');
    return undefined;
  }
  const body = new Uint8Array(buf.buffer, buf.byteOffset + MAP_HEADER, bytes);
  if (version === MAP_VERSION) return { epoch, words: decodeWords(body) };
  // Version 1: one bit per slot, every slot in its first generation.
  const words = new Uint16Array(capacity);
  for (let slot = 0; slot < capacity; slot++)
    if ((body[slot >> 3]! & (0x80 >> (slot & 7))) !== 0) words[slot] = WORD_USED;
  return { epoch, words };
}

/** Writes a fresh map file next to the old one and renames it over (crash-safe). */
function writeMapAtomically(mapFile: string, capacity: number, epoch: string, words: Uint16Array): void {
  const header = Buffer.alloc(MAP_HEADER);
  header.write(MAP_MAGIC, 0, 'latin1');
  header.writeUInt32LE(MAP_VERSION, 8);
  header.writeUInt32LE(PAGE_SIZE, 12);
  header.writeUInt32LE(capacity, 16);
  header.write(epoch, EPOCH_OFFSET, 'latin1');
  const tmp = `${mapFile}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, header, 0, MAP_HEADER, 0);
    const body = encodeWords(words);
    fs.writeSync(fd, body, 0, body.length, MAP_HEADER);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, mapFile);
}

function countUsedFrom(words: Uint16Array, fromSlot: number): number {
  let n = 0;
  for (let slot = fromSlot; slot < words.length; slot++) if ((words[slot]! & WORD_USED) !== 0) n++;
  return n;
}

function lastUsed(words: Uint16Array): number {
  for (let slot = words.length - 1; slot >= 0; slot--) if ((words[slot]! & WORD_USED) !== 0) return slot;
  return -1;
}
