import * as fs from 'node:fs';
import * as path from 'node:path';
import { PAGE_SIZE } from '../../services/common/limits';

/**
 * A corpus of pages that resembles what a machine swaps out: chunks of real
 * executables and shared libraries, text, and all-zero pages, in the mix
 * PERFORMANCE.md measured the codecs with. Compression ratios and codec speed
 * depend on the bytes, so random or constant data would tell us nothing.
 */
export const PAGE_KINDS = ['zero', 'node', 'lib', 'text'] as const;
export type PageKind = (typeof PAGE_KINDS)[number];

export type CorpusMix = Record<PageKind, number>;

/** 10% zero, 30% node binary, 30% shared libraries, 30% text (PERFORMANCE.md). */
export const DEFAULT_MIX: CorpusMix = { zero: 0.1, node: 0.3, lib: 0.3, text: 0.3 };

export interface CorpusOptions {
  /** Number of pages; default 4096 (16 MiB). */
  pages?: number;
  /** PRNG seed: same seed, same machine files, same bytes; default 1. */
  seed?: number;
  /** Fractions per kind (normalised); default DEFAULT_MIX. */
  mix?: CorpusMix;
  /** The executable to take "node" pages from; default process.execPath. */
  nodeBinary?: string;
  /** Directories searched (non-recursively) for *.so*; the first with any wins. Default the usual lib dirs. */
  libDirs?: string[];
  /** Directories searched recursively for text files; default /usr/share/doc and the repo's node_modules. */
  textDirs?: string[];
}

export interface Corpus {
  /** All pages back to back: pages * PAGE_SIZE bytes. */
  readonly data: Buffer;
  /** One view of `data` per page (no copies): what goes into a PutRequest. */
  readonly pages: readonly Buffer[];
  /** Index into PAGE_KINDS for each page. */
  readonly kinds: Uint8Array;
  readonly counts: CorpusMix;
  /** Where the bytes came from (for the report). */
  readonly sources: { nodeBinary: string; libs: number; textFiles: number };
}

/** mulberry32: small, fast, and good enough to pick offsets reproducibly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DEFAULT_LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib'];
const REPO_NODE_MODULES = path.resolve(__dirname, '../../node_modules');
const REPO_NODE_MODULES_DIST = path.resolve(__dirname, '../../../node_modules');
const TEXT_EXTENSIONS = new Set([
  '',
  '.txt',
  '.md',
  '.js',
  '.ts',
  '.json',
  '.html',
  '.css',
  '.c',
  '.h',
  '.py',
  '.sh',
  '.yml',
  '.yaml',
  '.debian',
  '.rst',
]);
/** Enough text files for variety; walking all of node_modules would cost seconds. */
const MAX_TEXT_FILES = 4000;

/** Builds the corpus. Synchronous and quick (~16 MiB of positioned reads). */
export function buildCorpus(options: CorpusOptions = {}): Corpus {
  const pageCount = options.pages ?? 4096;
  const rand = seededRandom(options.seed ?? 1);
  const counts = splitCounts(pageCount, options.mix ?? DEFAULT_MIX);

  // Kinds laid out by count, then shuffled, so that every batch is a mix.
  const kinds = new Uint8Array(pageCount);
  let at = 0;
  PAGE_KINDS.forEach((_, k) => {
    const n = counts[PAGE_KINDS[k]!];
    kinds.fill(k, at, at + n);
    at += n;
  });
  for (let i = pageCount - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = kinds[i]!;
    kinds[i] = kinds[j]!;
    kinds[j] = t;
  }

  const nodeBinary = options.nodeBinary ?? process.execPath;
  const libs = findLibraries(options.libDirs ?? DEFAULT_LIB_DIRS);
  const texts = findTextFiles(options.textDirs ?? defaultTextDirs());
  if (counts.lib > 0 && libs.length === 0)
    throw new Error('corpus: no shared libraries (*.so*) found for the "lib" pages');
  if (counts.text > 0 && texts.length === 0) throw new Error('corpus: no text files found for the "text" pages');

  const data = Buffer.alloc(pageCount * PAGE_SIZE);
  const files = new FileReader();
  try {
    for (let i = 0; i < pageCount; i++) {
      const page = data.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE);
      switch (PAGE_KINDS[kinds[i]!]) {
        case 'zero':
          break; // Buffer.alloc already zeroed it
        case 'node':
          files.readAlignedPage(nodeBinary, rand, page);
          break;
        case 'lib':
          files.readAlignedPage(libs[Math.floor(rand() * libs.length)]!, rand, page);
          break;
        case 'text':
          fillText(files, texts, rand, page);
          break;
      }
    }
  } finally {
    files.close();
  }
  const pages: Buffer[] = new Array<Buffer>(pageCount);
  for (let i = 0; i < pageCount; i++) pages[i] = data.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE);
  return { data, pages, kinds, counts, sources: { nodeBinary, libs: libs.length, textFiles: texts.length } };
}

/** Whole page counts per kind that add up to `total` (largest remainders). */
export function splitCounts(total: number, mix: CorpusMix): CorpusMix {
  const sum = PAGE_KINDS.reduce((s, k) => s + Math.max(0, mix[k]), 0);
  if (!(sum > 0)) throw new Error('corpus: the mix must have a positive fraction');
  const exact = PAGE_KINDS.map((k) => (Math.max(0, mix[k]) / sum) * total);
  const whole = exact.map(Math.floor);
  let left = total - whole.reduce((s, n) => s + n, 0);
  const byRemainder = PAGE_KINDS.map((_, i) => i).sort(
    (a, b) => exact[b]! - whole[b]! - (exact[a]! - whole[a]!) || a - b,
  );
  for (const i of byRemainder) {
    if (left === 0) break;
    whole[i]!++;
    left--;
  }
  return { zero: whole[0]!, node: whole[1]!, lib: whole[2]!, text: whole[3]! };
}

function defaultTextDirs(): string[] {
  const nm = fs.existsSync(REPO_NODE_MODULES) ? REPO_NODE_MODULES : REPO_NODE_MODULES_DIST;
  return ['/usr/share/doc', nm];
}

/** Real (deduplicated through symlinks) shared libraries of at least one page, sorted. */
function findLibraries(dirs: readonly string[]): string[] {
  for (const dir of dirs) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    const seen = new Set<string>();
    for (const name of names) {
      if (!/\.so(\.|$)/.test(name)) continue;
      try {
        const real = fs.realpathSync(path.join(dir, name));
        const st = fs.statSync(real);
        if (st.isFile() && st.size >= PAGE_SIZE) seen.add(real);
      } catch {
        // dangling symlink: skip
      }
    }
    if (seen.size > 0) return [...seen].sort();
  }
  return [];
}

/** Text-looking files (by extension), sorted, breadth-first, capped at MAX_TEXT_FILES per directory. */
function findTextFiles(dirs: readonly string[]): string[] {
  const out: string[] = [];
  for (const root of dirs) {
    const found: string[] = [];
    const queue = [root];
    while (queue.length > 0 && found.length < MAX_TEXT_FILES) {
      const dir = queue.shift()!;
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        continue;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const e of entries) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) queue.push(full);
        else if (e.isFile() && TEXT_EXTENSIONS.has(path.extname(e.name).toLowerCase()) && !e.name.endsWith('.min.js'))
          found.push(full);
      }
    }
    out.push(...found.slice(0, MAX_TEXT_FILES));
  }
  return out.sort();
}

/**
 * Fills a page with text the way a process's heap holds it: a stretch of one
 * file, continued with the next file when it runs out. Files with NUL bytes
 * (not text after all) are skipped.
 */
function fillText(files: FileReader, texts: readonly string[], rand: () => number, page: Buffer): void {
  let filled = 0;
  for (let attempts = 0; filled < PAGE_SIZE && attempts < 1000; attempts++) {
    const file = texts[Math.floor(rand() * texts.length)]!;
    const size = files.size(file);
    if (size === 0) continue;
    const start = size > PAGE_SIZE ? Math.floor(rand() * (size - PAGE_SIZE)) : 0;
    const n = files.read(file, page, filled, Math.min(PAGE_SIZE - filled, size - start), start);
    if (page.subarray(filled, filled + n).includes(0)) continue; // overwritten by the next attempt
    filled += n;
  }
  if (filled < PAGE_SIZE) throw new Error('corpus: could not find enough text without NUL bytes');
}

/** Keeps files open while the corpus is built: one open per file, positioned reads. */
class FileReader {
  private readonly fds = new Map<string, { fd: number; size: number }>();

  private open(file: string): { fd: number; size: number } {
    let f = this.fds.get(file);
    if (!f) {
      const fd = fs.openSync(file, 'r');
      f = { fd, size: fs.fstatSync(fd).size };
      this.fds.set(file, f);
    }
    return f;
  }

  size(file: string): number {
    return this.open(file).size;
  }

  read(file: string, into: Buffer, offset: number, length: number, position: number): number {
    const { fd } = this.open(file);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, into, offset + done, length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  /** A page-aligned page of the file, as the loader maps it. */
  readAlignedPage(file: string, rand: () => number, page: Buffer): void {
    const pagesInFile = Math.floor(this.size(file) / PAGE_SIZE);
    if (pagesInFile === 0) throw new Error(`corpus: ${file} is smaller than a page`);
    const n = this.read(file, page, 0, PAGE_SIZE, Math.floor(rand() * pagesInFile) * PAGE_SIZE);
    if (n < PAGE_SIZE) page.fill(0, n);
  }

  close(): void {
    for (const { fd } of this.fds.values()) fs.closeSync(fd);
    this.fds.clear();
  }
}
