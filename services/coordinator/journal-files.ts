/**
 * The journal's files in its data directory: which generation is current and
 * what is left over (listDir), reading a generation back (a snapshot, then
 * its log), and the writes, syncs and removals the journal makes, on the
 * event loop and on the thread pool.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  FileKind,
  HEADER_BYTES,
  type JournalRecord,
  parseHeader,
  readLegacyRecords,
  readRecords,
} from './journal-records';

/** The journal cannot be read: corruption (not a torn tail), or a file that is not what its name says. */
export class JournalCorruptError extends Error {
  override readonly name = 'JournalCorruptError';
  constructor(
    readonly file: string,
    readonly offset: number,
    reason: string,
    nextValid?: number,
  ) {
    super(
      `journal file ${file} is corrupt at byte offset ${offset}: ${reason}` +
        (nextValid !== undefined
          ? `; a valid record follows at offset ${nextValid}, so this is not a torn tail and nothing is truncated.` +
            ' Restore the data directory from a backup, or truncate the file at ' +
            `offset ${offset} to start with the records before it (later records ` +
            'are lost)'
          : ''),
    );
  }
}

const ZEROS = Buffer.alloc(64 * 1024);
export const LEGACY_SNAPSHOT = 'snapshot.bin';
export const LEGACY_LOG = 'journal.log';

export const snapshotName = (gen: number): string => `snapshot-${String(gen).padStart(8, '0')}.bin`;
export const logName = (gen: number): string => `journal-${String(gen).padStart(8, '0')}.log`;
const SNAPSHOT_RE = /^snapshot-(\d{8,})\.bin$/;
const LOG_RE = /^journal-(\d{8,})\.log$/;

/** What a data directory holds: the generation to use and the files that are left over. */
export interface DirListing {
  generation: number;
  /** Format-1 files, the base of generation 0 when no snapshot exists. */
  legacy: boolean;
  /** Files of older generations, failed switches, or a migrated format. */
  stale: string[];
}

export function listDir(dir: string): DirListing {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { generation: 0, legacy: false, stale: [] };
    throw err;
  }
  let generation = 0;
  for (const n of names) {
    const m = SNAPSHOT_RE.exec(n);
    if (m) generation = Math.max(generation, Number(m[1]));
  }
  const stale: string[] = [];
  let legacy = false;
  for (const n of names) {
    const s = SNAPSHOT_RE.exec(n);
    const l = LOG_RE.exec(n);
    if (
      (s && Number(s[1]) !== generation) ||
      (l && Number(l[1]) !== generation) ||
      (n.endsWith('.tmp') && (n.startsWith('snapshot') || n.startsWith('journal')))
    )
      stale.push(n);
    else if (n === LEGACY_SNAPSHOT || n === LEGACY_LOG) {
      if (generation > 0) stale.push(n);
      else legacy = true;
    }
  }
  return { generation, legacy, stale };
}

/** The bytes of a generation's files, read together so a concurrent switch is seen whole or not at all. */
export interface GenerationFiles {
  base: { name: string; data: Buffer }[];
  log: { name: string; data: Buffer } | undefined;
}

function readOptional(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export function readGeneration(dir: string, g: DirListing): GenerationFiles {
  const base: { name: string; data: Buffer }[] = [];
  if (g.generation > 0) {
    const name = snapshotName(g.generation);
    const data = fs.readFileSync(path.join(dir, name)); // ENOENT: removed by a switch meanwhile (the caller retries)
    base.push({ name, data });
  } else if (g.legacy) {
    for (const name of [LEGACY_SNAPSHOT, LEGACY_LOG]) {
      const data = readOptional(path.join(dir, name));
      if (data) base.push({ name, data });
    }
  }
  const name = logName(g.generation);
  const data = readOptional(path.join(dir, name));
  return { base, log: data ? { name, data } : undefined };
}

/** How the generation's log ended, for the writer to continue from. */
interface LogEnd {
  /** Offset after the last valid record (0: no usable header yet). */
  validBytes: number;
  /** Bytes of a torn tail after validBytes (cut off by the writer). */
  tornBytes: number;
  tornReason?: string;
}

/** Throws JournalCorruptError unless `data` starts with the header of a `kind` file of `generation`. */
function checkHeader(file: string, data: Buffer, kind: FileKind, generation: number): void {
  const header = parseHeader(data);
  if (typeof header === 'string') throw new JournalCorruptError(file, 0, header);
  if (header.kind !== kind || header.generation !== generation) {
    const says = header.kind === FileKind.Snapshot ? 'snapshot' : 'log';
    throw new JournalCorruptError(file, 0, `header says ${says} of generation ${header.generation}`);
  }
}

/** Replays a generation's files into `apply`; throws JournalCorruptError when they cannot be trusted. */
export function replayGeneration(
  dir: string,
  g: DirListing,
  files: GenerationFiles,
  apply: (r: JournalRecord) => void,
): LogEnd {
  for (const { name, data } of files.base) {
    const file = path.join(dir, name);
    if (g.generation === 0) {
      readLegacyRecords(data, apply); // format 1 had no CRC: its torn tail is all it could tell
      continue;
    }
    checkHeader(file, data, FileKind.Snapshot, g.generation);
    const end = readRecords(data, HEADER_BYTES, apply);
    // A snapshot is synced before it is renamed into place: any bad byte in it is corruption.
    if (end.kind === 'corrupt')
      throw new JournalCorruptError(
        file,
        end.offset,
        end.reason,
        end.nextValid === end.offset ? undefined : end.nextValid,
      );
    if (end.kind === 'torn')
      throw new JournalCorruptError(
        file,
        end.validBytes,
        `${end.reason}; a snapshot is complete before it is used, so it was damaged afterwards`,
      );
    if (end.endCount === undefined)
      throw new JournalCorruptError(file, end.validBytes, 'snapshot has no END record (cut short)');
  }
  if (!files.log) return { validBytes: 0, tornBytes: 0 };
  const { name, data } = files.log;
  const file = path.join(dir, name);
  // A log whose header never reached the disk (a crash while creating it) holds nothing.
  if (data.length <= HEADER_BYTES && data.every((b) => b === 0)) return { validBytes: 0, tornBytes: data.length };
  checkHeader(file, data, FileKind.Log, g.generation);
  const end = readRecords(data, HEADER_BYTES, apply);
  if (end.kind === 'corrupt') throw new JournalCorruptError(file, end.offset, end.reason, end.nextValid);
  if (end.kind === 'torn')
    return { validBytes: end.validBytes, tornBytes: data.length - end.validBytes, tornReason: end.reason };
  return { validBytes: end.validBytes, tornBytes: 0 };
}

/**
 * Bytes of the log the journal in `dir` appends to now (zero-filled ahead of
 * its records, so writes up to this size need no room); 0 when there is none.
 * For the fault harness, which fills "the disk" at exactly this size.
 */
export function journalLogBytes(dir: string): number {
  try {
    return fs.statSync(path.join(dir, logName(listDir(dir).generation))).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

/**
 * Reads the journal in `dir` as a restart would (snapshot, then its log),
 * without changing anything: for tools such as the fault checker, also while
 * the coordinator runs. A torn tail (an append in progress) is ignored;
 * corruption throws JournalCorruptError.
 */
export function readJournal(dir: string, onRecord: (r: JournalRecord) => void): void {
  for (let attempt = 0; ; attempt++) {
    const g = listDir(dir);
    let files: GenerationFiles;
    try {
      files = readGeneration(dir, g);
    } catch (err) {
      // A snapshot switch removed this generation between listing and reading: list again.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 10) continue;
      throw err;
    }
    replayGeneration(dir, g, files, onRecord);
    return;
  }
}

export function writeAllAt(fd: number, data: Buffer, position: number): void {
  let off = 0;
  while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off, position + off);
}

/** Writes zeros over [from, to): the blocks are allocated now, so later appends there cannot run out of space. */
export function zeroFill(fd: number, from: number, to: number): void {
  for (let at = from; at < to;) {
    const n = Math.min(ZEROS.length, to - at);
    at += fs.writeSync(fd, ZEROS, 0, n, at);
  }
}

export const openAsync = promisify(fs.open);
export const closeAsync = promisify(fs.close);
export const fsyncAsync = promisify(fs.fsync);
export const fdatasyncAsync = promisify(fs.fdatasync);
const writeAsync = promisify(fs.write);

/** writeAllAt on the thread pool. */
export async function writeAllAtAsync(fd: number, data: Buffer, position: number): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await writeAsync(fd, data, off, data.length - off, position + off);
    off += bytesWritten;
  }
}

/** zeroFill on the thread pool. */
export async function zeroFillAsync(fd: number, from: number, to: number): Promise<void> {
  for (let at = from; at < to;) {
    const n = Math.min(ZEROS.length, to - at);
    at += (await writeAsync(fd, ZEROS, 0, n, at)).bytesWritten;
  }
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Removes a file on the thread pool, ignoring errors: for a large file that
 * nothing holds open, whose removal frees its blocks there and then (a 32 MB
 * snapshot: 20-40 ms). A file left behind by a crash is a start-up's to remove.
 */
export function unlinkInBackground(file: string): Promise<void> {
  return fs.promises.unlink(file).catch(() => undefined);
}

export function unlinkQuietly(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // already gone, or left for the next start-up to remove
  }
}
