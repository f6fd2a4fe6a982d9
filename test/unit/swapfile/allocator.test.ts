import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SwapAllocator } from '../../../services/swapfile/allocator';

function alloc(a: SwapAllocator, n: number): number[] {
  const out = new Int32Array(n);
  a.allocate(n, out);
  return Array.from(out);
}

const range = (start: number, n: number): number[] => Array.from({ length: n }, (_, i) => start + i);

describe('SwapAllocator: contiguity', () => {
  it('gives a full batch of 512 one whole cluster', () => {
    const a = new SwapAllocator({ capacity: 4096 });
    expect(alloc(a, 512)).toEqual(range(0, 512));
    expect(a.clusterState(0)).toEqual({ list: 'full', order: 9, used: 512 });
    expect(alloc(a, 512)).toEqual(range(512, 512));
    expect(a.used).toBe(1024);
  });

  it('lays consecutive batches of one size side by side in one cluster', () => {
    const a = new SwapAllocator({ capacity: 4096 });
    const slots = [...alloc(a, 64), ...alloc(a, 64), ...alloc(a, 64)];
    expect(slots).toEqual(range(0, 192));
    expect(a.clusterState(0)).toEqual({ list: 'nonfull', order: 6, used: 192 });
  });

  it('cuts an odd batch into aligned power-of-two runs, each in a cluster of its order', () => {
    const a = new SwapAllocator({ capacity: 4096 });
    const slots = alloc(a, 100);
    // 100 = 64 + 32 + 4: three contiguous runs, three clusters.
    expect(slots.slice(0, 64)).toEqual(range(0, 64));
    expect(slots.slice(64, 96)).toEqual(range(512, 32));
    expect(slots.slice(96)).toEqual(range(1024, 4));
    expect([0, 1, 2].map((c) => a.clusterState(c).order)).toEqual([6, 5, 2]);
    expect(a.listCounts()).toEqual({ free: 5, nonfull: 3, frag: 0, full: 0 });
    // The next batch of 64 continues right after the first run.
    expect(alloc(a, 64)).toEqual(range(64, 64));
  });
});

describe('SwapAllocator: a full device', () => {
  it('stores what fits at the edge and -1 for the rest, then nothing', () => {
    const a = new SwapAllocator({ capacity: 1000 }); // last cluster has 488 slots
    expect(alloc(a, 512)).toEqual(range(0, 512));
    const out = new Int32Array(500);
    expect(a.allocate(500, out)).toBe(488);
    expect(Array.from(out.subarray(0, 488)).sort((x, y) => x - y)).toEqual(range(512, 488));
    expect(Array.from(out.subarray(488))).toEqual(new Array(12).fill(-1));
    expect(a.used).toBe(1000);
    const none = new Int32Array(3);
    expect(a.allocate(3, none)).toBe(0);
    expect(Array.from(none)).toEqual([-1, -1, -1]);
    expect(a.listCounts()).toEqual({ free: 0, nonfull: 0, frag: 0, full: 2 });
  });

  it('never hands out a slot beyond the capacity', () => {
    const a = new SwapAllocator({ capacity: 3 });
    expect(alloc(a, 8).sort((x, y) => x - y)).toEqual([-1, -1, -1, -1, -1, 0, 1, 2]);
    expect(a.isUsed(3)).toBe(false);
    expect(a.free(3)).toBe(false);
  });
});

describe('SwapAllocator: free and reuse', () => {
  it('moves a cluster full -> nonfull -> free as its slots are freed', () => {
    const a = new SwapAllocator({ capacity: 1024 });
    alloc(a, 512);
    expect(a.free(10)).toBe(true);
    expect(a.clusterState(0)).toEqual({ list: 'nonfull', order: 9, used: 511 });
    for (let s = 0; s < 512; s++) a.free(s);
    expect(a.clusterState(0)).toEqual({ list: 'free', order: 0, used: 0 });
    expect(a.used).toBe(0);
  });

  it('refuses to free a slot twice, changing nothing', () => {
    const a = new SwapAllocator({ capacity: 1024 });
    alloc(a, 4);
    expect(a.free(2)).toBe(true);
    expect(a.free(2)).toBe(false);
    expect(a.free(-1)).toBe(false);
    expect(a.free(1.5)).toBe(false);
    expect(a.used).toBe(3);
  });

  it('reuses freed slots once the device is full', () => {
    const a = new SwapAllocator({ capacity: 1024 });
    alloc(a, 512);
    alloc(a, 512);
    a.free(7);
    a.free(900);
    expect(alloc(a, 3).sort((x, y) => x - y)).toEqual([-1, 7, 900]);
  });
});

describe('SwapAllocator: fragmentation', () => {
  it('moves a cluster whose holes fit no aligned run to frag, and fills the holes with single slots', () => {
    const a = new SwapAllocator({ capacity: 1024 });
    for (let i = 0; i < 16; i++) alloc(a, 64); // two full clusters of order 6
    a.free(5); // a single hole in cluster 0
    for (let s = 512; s < 576; s++) a.free(s); // an aligned run of 64 in cluster 1
    expect(a.clusterState(0).list).toBe('nonfull');
    // Cluster 0 is tried first, fails, and goes to frag; cluster 1 serves.
    expect(alloc(a, 64)).toEqual(range(512, 64));
    expect(a.clusterState(0)).toEqual({ list: 'frag', order: 6, used: 511 });
    expect(a.clusterState(1).list).toBe('full');
    // A single page takes the hole.
    expect(alloc(a, 1)).toEqual([5]);
    expect(a.clusterState(0).list).toBe('full');
  });

  it('stores a large batch in scattered holes when no run is left', () => {
    const a = new SwapAllocator({ capacity: 1024 });
    alloc(a, 512);
    alloc(a, 512);
    const holes = range(0, 1024).filter((s) => s % 16 === 3);
    for (const s of holes) a.free(s);
    expect(alloc(a, 64).sort((x, y) => x - y)).toEqual(holes);
    expect(a.used).toBe(1024);
  });

  it('reports how spread the used slots are', () => {
    const a = new SwapAllocator({ capacity: 4096 });
    expect(a.fragmentation()).toBe(1);
    alloc(a, 512);
    expect(a.fragmentation()).toBe(1);
    alloc(a, 1); // one slot in a second cluster
    expect(a.fragmentation()).toBeCloseTo(1024 / 513);
  });
});

describe('SwapAllocator: persistence', () => {
  it('rebuilds the same used slots from its bitmap', () => {
    const a = new SwapAllocator({ capacity: 2000 });
    alloc(a, 300);
    alloc(a, 512);
    for (const s of [0, 5, 400, 700]) a.free(s);
    const b = new SwapAllocator({ capacity: 2000 });
    expect(b.restore(a.toBitmap())).toBe(0);
    expect(b.used).toBe(a.used);
    for (let s = 0; s < 2000; s++) expect(b.isUsed(s)).toBe(a.isUsed(s));
    // It goes on allocating only free slots.
    const more = alloc(b, 2000 - b.used);
    expect(more.every((s) => s >= 0 && !a.isUsed(s))).toBe(true);
  });

  it('counts used bits beyond the capacity', () => {
    const a = new SwapAllocator({ capacity: 10 });
    expect(a.restore(Uint8Array.of(0x80, 0xff))).toBe(6); // slot 0, then slots 8..15
    expect(a.used).toBe(3);
  });
});

describe('SwapAllocator: against a simple model', () => {
  it('stores exactly min(n, free) pages per batch, never one slot twice, and keeps its lists whole', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('alloc' as const), n: fc.integer({ min: 1, max: 512 }) }),
      fc.record({ kind: fc.constant('free' as const), pick: fc.nat(), count: fc.integer({ min: 1, max: 300 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), fc.array(op, { maxLength: 60 }), (capacity, ops) => {
        const a = new SwapAllocator({ capacity });
        const model = new Set<number>();
        for (const o of ops) {
          if (o.kind === 'alloc') {
            const out = new Int32Array(o.n);
            const got = a.allocate(o.n, out);
            expect(got).toBe(Math.min(o.n, capacity - model.size));
            for (let i = 0; i < o.n; i++) {
              const s = out[i]!;
              if (i >= got) {
                expect(s).toBe(-1);
                continue;
              }
              expect(s).toBeGreaterThanOrEqual(0);
              expect(s).toBeLessThan(capacity);
              expect(model.has(s)).toBe(false);
              model.add(s);
            }
          } else {
            const used = [...model];
            for (let k = 0; k < o.count && used.length > 0; k++) {
              const idx = (o.pick + k * 7919) % used.length;
              const s = used[idx]!;
              used.splice(idx, 1);
              expect(a.free(s)).toBe(true);
              model.delete(s);
            }
          }
          expect(a.used).toBe(model.size);
          const l = a.listCounts();
          expect(l.free + l.nonfull + l.frag + l.full).toBe(a.clusterCount);
        }
      }),
      { numRuns: 100 },
    );
  });
});
