import { describe, expect, it } from 'vitest';
import { CLASS_COUNT, CLASS_STEP, SLAB_TARGET_BYTES, ZsPool } from '../../../services/zswap/pool';

const obj = (len: number, fill: number): Buffer => Buffer.alloc(len, fill);

describe('ZsPool size classes', () => {
  it('rounds objects up to the next 64-byte class, 64 classes up to a page', () => {
    expect(CLASS_COUNT).toBe(64);
    expect(ZsPool.classOf(1)).toBe(0);
    expect(ZsPool.classOf(64)).toBe(0);
    expect(ZsPool.classOf(65)).toBe(1);
    expect(ZsPool.classOf(4096)).toBe(63);
    expect(ZsPool.classSize(ZsPool.classOf(3000))).toBe(3008);
    for (let c = 0; c < CLASS_COUNT; c++) {
      expect(ZsPool.slabBytes(c)).toBeLessThanOrEqual(SLAB_TARGET_BYTES);
      expect(ZsPool.slabBytes(c) % ZsPool.classSize(c)).toBe(0);
    }
  });

  it('keeps each object intact next to its neighbours in one slab', () => {
    const pool = new ZsPool();
    const ids = [100, 120, 90, 128].map((len, i) => ({ id: pool.store(obj(len, i + 1)), len, fill: i + 1 }));
    expect(pool.slabCount(1)).toBe(1); // 65..128 bytes: all in class 1
    for (const { id, len, fill } of ids) expect(pool.view(id, len).equals(obj(len, fill))).toBe(true);
  });
});

describe('ZsPool accounting', () => {
  it('counts held slab bytes, not requested bytes, and reports fragmentation', () => {
    const pool = new ZsPool();
    expect(pool.heldBytes).toBe(0);
    expect(pool.fragmentation).toBe(0);
    pool.store(obj(100, 1));
    expect(pool.heldBytes).toBe(ZsPool.slabBytes(1));
    expect(pool.objectBytes).toBe(100);
    expect(pool.fragmentation).toBeCloseTo(ZsPool.slabBytes(1) / 100);
    // Fill the slab: no new memory until it is full.
    const per = ZsPool.objectsPerSlab(1);
    for (let i = 1; i < per; i++) pool.store(obj(128, 2));
    expect(pool.heldBytes).toBe(ZsPool.slabBytes(1));
    expect(pool.growthFor(128)).toBe(ZsPool.slabBytes(1));
    pool.store(obj(128, 3));
    expect(pool.slabCount(1)).toBe(2);
    expect(pool.heldBytes).toBe(2 * ZsPool.slabBytes(1));
    const full = new ZsPool();
    for (let i = 0; i < per; i++) full.store(obj(128, 4));
    expect(full.fragmentation).toBe(1);
  });

  it('growthFor is 0 while the class has a free object', () => {
    const pool = new ZsPool();
    expect(pool.growthFor(3000)).toBe(ZsPool.slabBytes(ZsPool.classOf(3000)));
    pool.store(obj(3000, 1));
    expect(pool.growthFor(3000)).toBe(0);
  });

  it('releases an emptied slab when its class has spare room, keeps the last one', () => {
    const pool = new ZsPool();
    const cls = ZsPool.classOf(4096);
    const per = ZsPool.objectsPerSlab(cls); // 16
    const ids: number[] = [];
    for (let i = 0; i < per * 3; i++) ids.push(pool.store(obj(4096, i & 0xff)));
    expect(pool.slabCount(cls)).toBe(3);
    // Empty the first slab: the third is full, the second full, so no spare yet -> kept.
    for (const id of ids.slice(0, per)) pool.free(id, 4096);
    expect(pool.slabCount(cls)).toBe(3);
    // Empty the second: the first is already spare -> released.
    for (const id of ids.slice(per, 2 * per)) pool.free(id, 4096);
    expect(pool.slabCount(cls)).toBe(2);
    expect(pool.heldBytes).toBe(2 * ZsPool.slabBytes(cls));
    for (const id of ids.slice(2 * per)) pool.free(id, 4096);
    expect(pool.slabCount(cls)).toBe(1); // one spare kept
    expect(pool.objectBytes).toBe(0);
    // The spare is reused without allocating.
    expect(pool.growthFor(4096)).toBe(0);
    const again = pool.store(obj(4096, 9));
    expect(pool.view(again, 4096).equals(obj(4096, 9))).toBe(true);
    expect(pool.slabCount(cls)).toBe(1);
  });

  it('reuses freed objects and released slab ids without mixing data', () => {
    const pool = new ZsPool();
    const live = new Map<number, { len: number; fill: number }>();
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    for (let round = 0; round < 5000; round++) {
      if (live.size > 0 && rand(3) === 0) {
        const keys = [...live.keys()];
        const id = keys[rand(keys.length)]!;
        pool.free(id, live.get(id)!.len);
        live.delete(id);
      } else {
        const len = 1 + rand(4096);
        const fill = rand(256);
        live.set(pool.store(obj(len, fill)), { len, fill });
      }
    }
    let bytes = 0;
    for (const [id, { len, fill }] of live) {
      expect(pool.view(id, len).equals(obj(len, fill))).toBe(true);
      bytes += len;
    }
    expect(pool.objectBytes).toBe(bytes);
    expect(pool.heldBytes).toBeGreaterThanOrEqual(bytes);
  });

  it('lets an allocation failure surface to the caller and keeps accounting', () => {
    let fail = false;
    const pool = new ZsPool({
      allocSlab: (n) => {
        if (fail) throw new Error('out of memory');
        return Buffer.alloc(n);
      },
    });
    pool.store(obj(64, 1));
    fail = true;
    expect(() => pool.store(obj(4096, 1))).toThrow(/out of memory/);
    expect(pool.heldBytes).toBe(ZsPool.slabBytes(0));
    expect(pool.objectBytes).toBe(64);
    expect(CLASS_STEP).toBe(64);
  });
});
