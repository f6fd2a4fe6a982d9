import { describe, expect, it } from 'vitest';
import * as fc from 'fast-check';
import * as zlib from 'node:zlib';
import { PageLru } from '../../../clients/workload/page-lru';
import { ZipfSampler } from '../../../clients/workload/zipf-sampler';
import { Rng } from '../../../clients/workload/prng';
import { PageGenerator } from '../../../clients/workload/page-generator';
import { AccessPatternFactory } from '../../../clients/workload/access-pattern';
import { resolveWorkloadOptions } from '../../../clients/workload/options';
import { distinctChunks } from '../../../clients/workload/workload';
import { PAGE_SIZE } from '../../../services/common/limits';

describe('PageLru', () => {
  it('evicts least recently used first, and a touch moves a page to the back', () => {
    const lru = new PageLru(10);
    for (const p of [3, 1, 4, 5]) lru.touch(p);
    lru.touch(1);
    expect([...lru.pages()]).toEqual([3, 4, 5, 1]);
    expect(lru.popLeastRecent()).toBe(3);
    expect(lru.popLeastRecent()).toBe(4);
    expect(lru.size).toBe(2);
    expect(lru.has(4)).toBe(false);
    expect(lru.has(5)).toBe(true);
  });

  it('puts a page whose eviction failed back first in line', () => {
    const lru = new PageLru(10);
    for (const p of [1, 2, 3]) lru.touch(p);
    const a = lru.popLeastRecent();
    const b = lru.popLeastRecent();
    lru.insertLeastRecent(b);
    lru.insertLeastRecent(a);
    expect([...lru.pages()]).toEqual([1, 2, 3]);
  });

  it('behaves like a reference list under any sequence of operations', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('touch', 'remove', 'pop', 'front'), fc.nat(15)), { maxLength: 200 }),
        (ops) => {
          const lru = new PageLru(16);
          let model: number[] = [];
          for (const [op, p] of ops) {
            if (op === 'touch') {
              lru.touch(p);
              model = [...model.filter((x) => x !== p), p];
            } else if (op === 'front') {
              lru.insertLeastRecent(p);
              model = [p, ...model.filter((x) => x !== p)];
            } else if (op === 'remove') {
              expect(lru.remove(p)).toBe(model.includes(p));
              model = model.filter((x) => x !== p);
            } else {
              expect(lru.popLeastRecent()).toBe(model.length ? model[0] : -1);
              model = model.slice(1);
            }
            expect(lru.size).toBe(model.length);
          }
          expect([...lru.pages()]).toEqual(model);
          expect([...lru.clone().pages()]).toEqual(model);
        },
      ),
    );
  });
});

describe('ZipfSampler', () => {
  it('draws every rank in range, the first ranks far more often, matching the probabilities', () => {
    const z = new ZipfSampler(1000, 0.99);
    const rng = new Rng(7);
    const hist = new Uint32Array(1000);
    const n = 200_000;
    for (let i = 0; i < n; i++) hist[z.sample(rng)]!++;
    expect(hist.reduce((a, b) => a + b, 0)).toBe(n);
    expect(hist[0]!).toBeGreaterThan(hist[9]! * 5);
    expect(hist[0]! / n).toBeCloseTo(z.probability(0), 2);
    expect(hist[1]! / n).toBeCloseTo(z.probability(1), 2);
    let sum = 0;
    for (let k = 0; k < 1000; k++) sum += z.probability(k);
    expect(sum).toBeCloseTo(1, 9);
  });

  it('exponent 0 is uniform; one item always draws rank 0', () => {
    const z = new ZipfSampler(4, 0);
    for (let k = 0; k < 4; k++) expect(z.probability(k)).toBeCloseTo(0.25, 9);
    const one = new ZipfSampler(1);
    expect(one.sample(new Rng(1))).toBe(0);
    expect(() => new ZipfSampler(0)).toThrow(RangeError);
  });
});

describe('access patterns', () => {
  it('sequential scans wrap around; uniform and zipfian stay in range', () => {
    const rng = new Rng(3);
    const seq = new AccessPatternFactory('sequential').create(5, rng);
    const first = seq.next(rng);
    const got = Array.from({ length: 6 }, () => seq.next(rng));
    expect(got).toEqual([1, 2, 3, 4, 5, 6].map((i) => (first + i) % 5));
    for (const kind of ['uniform', 'zipfian'] as const) {
      const p = new AccessPatternFactory(kind).create(37, rng);
      for (let i = 0; i < 1000; i++) {
        const v = p.next(rng);
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThan(37);
      }
    }
  });
});

describe('PageGenerator', () => {
  const gen = new PageGenerator(42);

  it('is deterministic: the same (family, writer, page, generation) gives the same bytes', () => {
    for (let page = 0; page < 50; page++) expect(gen.page(1, 1, page, 3).equals(gen.page(1, 1, page, 3))).toBe(true);
  });

  it('a new generation or another writer gives other bytes (unless the page is a zero page)', () => {
    let compared = 0;
    for (let page = 0; page < 50; page++) {
      if (gen.kindOf(1, page) === 'zero') {
        expect(gen.page(1, 1, page, 1).equals(Buffer.alloc(PAGE_SIZE))).toBe(true);
        continue;
      }
      expect(gen.page(1, 1, page, 1).equals(gen.page(1, 1, page, 2))).toBe(false);
      expect(gen.page(1, 1, page, 1).equals(gen.page(1, 2, page, 1))).toBe(false);
      compared++;
    }
    expect(compared).toBeGreaterThan(20);
  });

  it('makes a memory-like mix: zero pages, text that compresses, random pages that do not', () => {
    const kinds = { zero: 0, text: 0, random: 0 };
    const ratio = { text: [] as number[], random: [] as number[] };
    const buf = Buffer.alloc(PAGE_SIZE);
    for (let page = 0; page < 2000; page++) {
      const k = gen.kindOf(9, page);
      kinds[k]++;
      if (page < 200 && k !== 'zero') {
        gen.fill(buf, 9, 9, page, 1);
        ratio[k].push(PAGE_SIZE / zlib.deflateRawSync(buf).length);
      }
    }
    expect(kinds.zero / 2000).toBeCloseTo(0.2, 1);
    expect(kinds.random / 2000).toBeCloseTo(0.2, 1);
    expect(Math.min(...ratio.text)).toBeGreaterThan(1.8);
    expect(Math.max(...ratio.random)).toBeLessThan(1.01);
  });

  it('fills unaligned views the same as aligned ones', () => {
    const backing = Buffer.alloc(PAGE_SIZE + 1);
    const unaligned = backing.subarray(1);
    for (let page = 0; page < 30; page++) {
      gen.fill(unaligned, 2, 2, page, 5);
      expect(unaligned.equals(gen.page(2, 2, page, 5))).toBe(true);
    }
  });

  it('refuses a mix that does not add up', () => {
    expect(() => new PageGenerator(1, { zero: 0.7, random: 0.5 })).toThrow(RangeError);
  });
});

describe('distinctChunks', () => {
  it('never puts a slot twice in one request and keeps every occurrence', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 20 }), { maxLength: 200 }),
        fc.integer({ min: 1, max: 8 }),
        (slots, max) => {
          const chunks = distinctChunks(slots, max);
          for (const c of chunks) {
            expect(c.length).toBeLessThanOrEqual(max);
            expect(new Set(c).size).toBe(c.length);
          }
          expect(chunks.flat().sort((a, b) => a - b)).toEqual([...slots].sort((a, b) => a - b));
        },
      ),
    );
  });
});

describe('resolveWorkloadOptions', () => {
  it('fills documented defaults', () => {
    const o = resolveWorkloadOptions({});
    expect(o).toMatchObject({
      processes: 4,
      maxProcesses: 8,
      pagesPerProcess: 1024,
      memoryLimitPages: 256,
      pattern: 'zipfian',
      durationMs: 10_000,
      batchPages: 64,
      concurrency: 4,
      owners: 'per-process',
    });
    expect(resolveWorkloadOptions({ operations: 10 }).durationMs).toBeUndefined();
  });

  it('names the bad option', () => {
    expect(() => resolveWorkloadOptions({ processes: 0 })).toThrow(/processes/);
    expect(() => resolveWorkloadOptions({ batchPages: 513 })).toThrow(/batchPages/);
    expect(() => resolveWorkloadOptions({ forkRate: 2 })).toThrow(/forkRate/);
    expect(() => resolveWorkloadOptions({ pattern: 'random' as never })).toThrow(/pattern/);
  });
});
