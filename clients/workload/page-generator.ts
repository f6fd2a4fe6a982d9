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
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were ' +
  'her she there been one all we their has would when if so no will more can out other into do could time these two may ' +
  'slot page swap zswap cluster tier writeback owner count backend memory process kernel folio 0 1 2 3 42 1024 4096 0x7f ' +
  '{ } ( ) ; = == => return const let function null undefined true false'
)
  .split(' ')
  .map((w) => Buffer.from(w));
const SEPARATORS = [Buffer.from(' '), Buffer.from(' '), Buffer.from(' '), Buffer.from('\n'), Buffer.from(', '), Buffer.from('. ')];

export class PageGenerator {
  private readonly zero: number;
  private readonly random: number;

  constructor(
    readonly seed: number,
    mix: PageMix = {},
  ) {
    this.zero = mix.zero ?? 0.2;
    this.random = mix.random ?? 0.2;
    if (this.zero < 0 || this.random < 0 || this.zero + this.random > 1) throw new RangeError(`page mix fractions must be >= 0 and sum to at most 1 (zero ${this.zero}, random ${this.random})`);
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
    // Text: words and separators from a small vocabulary, with a header naming
    // the page so that two text pages are never equal.
    let at = 0;
    const header = `#${writer}:${page}:${generation}\n`;
    for (let i = 0; i < header.length && at < PAGE_SIZE; i++) out[at++] = header.charCodeAt(i);
    while (at < PAGE_SIZE) {
      const r = rng.next();
      const w = WORDS[r % WORDS.length]!;
      const s = SEPARATORS[(r >>> 16) % SEPARATORS.length]!;
      for (let i = 0; i < w.length && at < PAGE_SIZE; i++) out[at++] = w[i]!;
      for (let i = 0; i < s.length && at < PAGE_SIZE; i++) out[at++] = s[i]!;
    }
  }

  /** A fresh page buffer with those contents (tests, the CLI). */
  page(family: number, writer: number, page: number, generation: number): Buffer {
    const b = Buffer.alloc(PAGE_SIZE);
    this.fill(b, family, writer, page, generation);
    return b;
  }
}
