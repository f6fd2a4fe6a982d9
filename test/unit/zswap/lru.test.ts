import { describe, expect, it } from 'vitest';
import { Lru } from '../../../services/zswap/lru';

const coldest = (lru: Lru, n: number): number[] => {
  const out: number[] = [];
  lru.coldest(n, out);
  return out;
};

describe('Lru with second chance', () => {
  it('returns the oldest entries first and keeps them until removed', () => {
    const lru = new Lru(2);
    for (const id of [0, 1, 2, 3, 4]) lru.pushYoung(id); // grows past the initial capacity
    expect(coldest(lru, 3)).toEqual([0, 1, 2]);
    expect(coldest(lru, 3)).toEqual([0, 1, 2]);
    lru.remove(1);
    expect(coldest(lru, 10)).toEqual([0, 2, 3, 4]);
    expect(lru.size).toBe(4);
  });

  it('gives a referenced entry a second chance: bit cleared, moved to the young end', () => {
    const lru = new Lru();
    for (const id of [0, 1, 2, 3]) lru.pushYoung(id);
    lru.touch(0);
    lru.touch(2);
    expect(coldest(lru, 2)).toEqual([1, 3]);
    expect(lru.order()).toEqual([1, 3, 0, 2]);
    expect(lru.isReferenced(0)).toBe(false);
    // Now unreferenced, they come round in their new order.
    expect(coldest(lru, 4)).toEqual([1, 3, 0, 2]);
  });

  it('returns every entry when all were referenced (they come round again in one walk)', () => {
    const lru = new Lru();
    for (const id of [5, 6, 7]) lru.pushYoung(id);
    for (const id of [5, 6, 7]) lru.touch(id);
    expect(coldest(lru, 10)).toEqual([5, 6, 7]);
    lru.touch(7); // the youngest, referenced
    expect(coldest(lru, 10)).toEqual([5, 6, 7]);
  });

  it('a removed entry pushed again starts young and unreferenced', () => {
    const lru = new Lru();
    for (const id of [0, 1, 2]) lru.pushYoung(id);
    lru.touch(0);
    lru.remove(0);
    lru.pushYoung(0);
    expect(lru.isReferenced(0)).toBe(false);
    expect(lru.order()).toEqual([1, 2, 0]);
    lru.clear();
    expect(coldest(lru, 5)).toEqual([]);
  });
});
