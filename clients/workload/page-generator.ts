/**
 * Page contents that resemble real anonymous memory: some all-zero pages
 * (untouched heap, BSS), some text-like pages that compress 2-4x, some random
 * pages that do not compress at all (encrypted or already compressed data).
 * Everything is a pure function of (seed, family, page, generation), so the
 * workload never stores page contents, only their checksums.
 */
import { PAGE_SIZE } from '../../services/common/limits';
import { Rng, mix32 } from './prng';

export type PageKind = 'zero' | 'text' | 'random';

export interface PageMix {
  /** Fraction of pages that are all zero; default 0.2. */
  zero?: number;
  /** Fraction of pages of random bytes; default 0.2. The rest are text-like. */
  random?: number;
}

const WORDS = (
  'the of and to in is that for it as was with be by on not he this are ' +
  'or his from at which but have an they you were ' +
  'her she there been one all we their has would when if so no will more ' +
  'can out other into do could time these two may ' +
  'slot page swap zswap cluster tier writeback owner count backend ' +
  'memory process kernel folio 0 1 2 3 42 1024 4096 0x7f ' +
  '{ } ( ) ; = == => return const let function null undefined true false'
)
  .split(' ')
  .map((w) => Buffer.from(w));
const SEPARATORS = [
  Buffer.from(' '),
  Buffer.from(' '),
  Buffer.from(' '),
  Buffer.from('\n'),
  Buffer.from(', '),
  Buffer.from('. '),
];
const TEXT_RUN = 256;
const CORPUS_BYTES = 256 * 1024;

/** Words and separators from the small vocabulary, deterministic from the seed. */
function makeCorpus(seed: number): Buffer {
  const out = Buffer.alloc(CORPUS_BYTES);
  const rng = new Rng(mix32(seed, 0x636f7270));
  let at = 0;
  while (at < CORPUS_BYTES) {
    const r = rng.next();
    at += WORDS[r % WORDS.length]!.copy(out, at);
    if (at < CORPUS_BYTES) at += SEPARATORS[(r >>> 16) % SEPARATORS.length]!.copy(out, at);
  }
  return out;
}

export class PageGenerator {
  private readonly zero: number;
  private readonly random: number;
  private corpusCache: Buffer | undefined;

  constructor(
    readonly seed: number,
    mix: PageMix = {},
  ) {
    this.zero = mix.zero ?? 0.2;
    this.random = mix.random ?? 0.2;
    if (this.zero < 0 || this.random < 0 || this.zero + this.random > 1)
      throw new RangeError(
        `page mix fractions must be >= 0 and sum to at most 1 (zero ${this.zero}, random ${this.random})`,
      );
  }

  private get corpus(): Buffer {
    this.corpusCache ??= makeCorpus(this.seed);
    return this.corpusCache;
  }

  /** A page's kind is a stable property of the page (per family of forked processes). */
  kindOf(family: number, page: number): PageKind {
    const u = mix32(this.seed, family, page, 0x6b696e64) / 4294967296;
    if (u < this.zero) return 'zero';
    if (u < this.zero + this.random) return 'random';
    return 'text';
  }

  /**
   * Writes the contents of (family's page, generation) into `out` (exactly
   * PAGE_SIZE bytes). `writer` distinguishes processes sharing a family, so a
   * child's rewritten page differs from its parent's.
   */
  fill(out: Uint8Array, family: number, writer: number, page: number, generation: number): void {
    if (out.length !== PAGE_SIZE) throw new RangeError(`a page is ${PAGE_SIZE} bytes, got ${out.length}`);
    const kind = this.kindOf(family, page);
    if (kind === 'zero') {
      out.fill(0);
      return;
    }
    const rng = new Rng(mix32(this.seed, writer, page, generation));
    if (kind === 'random') {
      // Word at a time through a 32-bit view when aligned (Buffer pools may not be).
      if (out.byteOffset % 4 === 0) {
        const words = new Uint32Array(out.buffer, out.byteOffset, PAGE_SIZE / 4);
        for (let i = 0; i < words.length; i++) words[i] = rng.next();
      } else {
        for (let i = 0; i < PAGE_SIZE; i += 4) {
          const v = rng.next();
          out[i] = v;
          out[i + 1] = v >>> 8;
          out[i + 2] = v >>> 16;
          out[i + 3] = v >>> 24;
        }
      }
      return;
    }
    // Text: a header naming the page (so two text pages are never equal),
    // then 256-byte runs from a corpus of words at random offsets: copies,
    // not a loop per byte, and compressible like real text (~2-3x).
    let at = 0;
    const header = `#${writer}:${page}:${generation}\n`;
    for (let i = 0; i < header.length; i++) out[at++] = header.charCodeAt(i);
    const corpus = this.corpus;
    while (at < PAGE_SIZE) {
      const len = Math.min(TEXT_RUN, PAGE_SIZE - at);
      const r = rng.next();
      if (at >= TEXT_RUN + header.length && r % 5 < 2) {
        // Two runs in five repeat an earlier run of the page, as records and
        // strings in real heaps do.
        const from = header.length + TEXT_RUN * ((r >>> 8) % Math.floor((at - header.length) / TEXT_RUN));
        out.copyWithin(at, from, from + len);
      } else {
        const off = rng.int(corpus.length - len);
        out.set(corpus.subarray(off, off + len), at);
      }
      at += len;
    }
  }

  /** A fresh page buffer with those contents (tests, the CLI). */
  page(family: number, writer: number, page: number, generation: number): Buffer {
    const b = Buffer.alloc(PAGE_SIZE);
    this.fill(b, family, writer, page, generation);
    return b;
  }
}
