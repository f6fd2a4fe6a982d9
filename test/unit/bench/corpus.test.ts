import { describe, expect, it } from 'vitest';
import { buildCorpus, PAGE_KINDS, splitCounts, DEFAULT_MIX } from '../../../clients/bench/corpus';
import { PAGE_SIZE } from '../../../services/common/limits';
import { median, renderTable } from '../../../clients/bench/report';

describe('benchmark corpus', () => {
  const corpus = buildCorpus({ pages: 4096, seed: 7 });

  it('holds 4096 pages of exactly 4096 bytes, views of one buffer', () => {
    expect(corpus.pages).toHaveLength(4096);
    expect(corpus.data.length).toBe(4096 * PAGE_SIZE);
    for (const page of corpus.pages) expect(page.length).toBe(PAGE_SIZE);
    expect(corpus.pages[1]!.buffer).toBe(corpus.data.buffer);
  });

  it('has the mix of PERFORMANCE.md: 10% zero, 30% node, 30% libraries, 30% text', () => {
    for (const k of PAGE_KINDS) expect(Math.abs(corpus.counts[k] - DEFAULT_MIX[k] * 4096)).toBeLessThan(1);
    expect(DEFAULT_MIX).toEqual({ zero: 0.1, node: 0.3, lib: 0.3, text: 0.3 });
    const byKind = Object.fromEntries(PAGE_KINDS.map((k) => [k, 0])) as Record<string, number>;
    for (const k of corpus.kinds) byKind[PAGE_KINDS[k]!]!++;
    expect(byKind).toEqual(corpus.counts);
  });

  it('zero pages are all zero, text pages are text, the others are not all zero', () => {
    let nonZeroBinary = 0;
    corpus.pages.forEach((page, i) => {
      const kind = PAGE_KINDS[corpus.kinds[i]!];
      if (kind === 'zero') expect(page.every((b) => b === 0)).toBe(true);
      else if (kind === 'text') expect(page.includes(0)).toBe(false);
      else if (!page.every((b) => b === 0)) nonZeroBinary++;
    });
    // Binaries hold some zero pages of their own, but most pages have data.
    expect(nonZeroBinary).toBeGreaterThan(0.8 * (corpus.counts.node + corpus.counts.lib));
  });

  it('mixes kinds within every batch of 64', () => {
    for (let b = 0; b < 4096; b += 64) {
      const kinds = new Set(corpus.kinds.subarray(b, b + 64));
      expect(kinds.size).toBeGreaterThanOrEqual(3);
    }
  });

  it('is deterministic given the seed, and differs with another seed', () => {
    expect(buildCorpus({ pages: 256, seed: 7 }).data.equals(buildCorpus({ pages: 256, seed: 7 }).data)).toBe(true);
    expect(buildCorpus({ pages: 256, seed: 7 }).data.equals(buildCorpus({ pages: 256, seed: 8 }).data)).toBe(false);
  });

  it('splits any page count into whole pages that add up', () => {
    for (const total of [1, 7, 64, 1000, 4096]) {
      const c = splitCounts(total, DEFAULT_MIX);
      expect(c.zero + c.node + c.lib + c.text).toBe(total);
    }
  });
});

describe('benchmark report helpers', () => {
  it('median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('aligns columns', () => {
    const out = renderTable({
      headers: ['target', 'pages/s'],
      rows: [
        ['echo', 12345],
        ['zswap', 987],
      ],
    });
    expect(out.split('\n').slice(0, 4)).toEqual([
      'target  pages/s',
      '------  -------',
      'echo     12,345',
      'zswap       987',
    ]);
  });
});
