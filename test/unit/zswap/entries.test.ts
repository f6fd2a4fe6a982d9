import { describe, expect, it } from 'vitest';
import { EntryTable } from '../../../services/zswap/entries';

describe('EntryTable handles', () => {
  it('hands out non-zero handles that stop resolving once removed, even when the id is reused', () => {
    const t = new EntryTable(2);
    const ids = [t.add(100, 1), t.add(200, 2), t.add(300, 3)]; // grows past the initial capacity
    const handles = ids.map((id) => t.handleOf(id));
    expect(handles.every((h) => h > 0 && Number.isSafeInteger(h))).toBe(true);
    expect(handles.map((h) => t.lookup(h))).toEqual(ids);
    t.remove(ids[1]!);
    expect(t.lookup(handles[1]!)).toBe(-1);
    const reused = t.add(50, 9);
    expect(reused).toBe(ids[1]);
    expect(t.handleOf(reused)).not.toBe(handles[1]);
    expect(t.lookup(handles[1]!)).toBe(-1);
    expect(t.lengthOf(reused)).toBe(50);
    expect(t.size).toBe(3);
    for (const bad of [0, -1, 1.5, 2 ** 60, 123]) expect(t.lookup(bad)).toBe(-1);
  });

  it('two tables (two process lives) do not share handles', () => {
    const a = new EntryTable();
    const b = new EntryTable();
    const ha = Array.from({ length: 10 }, () => a.handleOf(a.add(10, 0)));
    const hb = Array.from({ length: 10 }, () => b.handleOf(b.add(10, 0)));
    expect(hb.filter((h) => ha.includes(h))).toEqual([]); // random generation base: 1 in 2^25 to collide
  });

  it('restores handles from a persistent store and keeps giving out fresh ones', () => {
    const a = new EntryTable();
    const kept = [a.add(10, 0), a.add(20, 0), a.add(30, 0)].map((id) => a.handleOf(id));
    const b = new EntryTable();
    b.restore(kept[0]!, 10, 0);
    b.restore(kept[2]!, 30, 0);
    b.rebuildFreeList();
    expect(b.size).toBe(2);
    expect(b.lookup(kept[1]!)).toBe(-1);
    const fresh = Array.from({ length: 5 }, () => b.handleOf(b.add(1, 0)));
    expect(fresh.filter((h) => kept.includes(h))).toEqual([]);
    expect(b.lengthOf(b.lookup(kept[2]!))).toBe(30);
    expect(() => b.restore(kept[0]!, 10, 0)).toThrow(/twice/);
  });
});
