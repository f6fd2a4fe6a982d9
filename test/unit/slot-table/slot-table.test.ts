import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { CLUSTER_STORAGE_BYTES, SHARED_ORDER } from '../../../services/coordinator/slot-cluster';
import { SHARE_LIMIT } from '../../../services/coordinator/slot-owners';
import { CLUSTER_OVERHEAD_BYTES, SlotTable, TierCode } from '../../../services/coordinator/slot-table';
import { clusterOf, expectError, ok, snapshot } from './helpers';

const zswap = (handle: number) => ({ tier: TierCode.ZSWAP, backend: 1, handle, checksum: 0xdeadbeef });

describe('small owners', () => {
  it('share clusters: each slot keeps its owner, and another owner may not touch it', () => {
    const t = new SlotTable();
    const a = ok(t.allocate('a', 3, false));
    const b = ok(t.allocate('b', 2, false));
    expect(new Set([...a, ...b].map(clusterOf)).size).toBe(1);
    expect(t.clusterCount()).toBe(1);
    for (const s of a) expect(t.ownerOf(s)).toBe('a');
    for (const s of b) expect(t.ownerOf(s)).toBe('b');
    expect(t.usedSlots('a')).toBe(3);
    expectError(t.free('b', [a[0]!]), status.PERMISSION_DENIED);
    expectError(t.duplicate('a', [b[0]!]), status.PERMISSION_DENIED);
    expectError(t.check('b', [...b, a[1]!]), status.PERMISSION_DENIED);
    // The owner is forgotten with its last slot; the shared cluster stays for b.
    ok(t.free('a', a));
    expect(t.owners()).toEqual(['b']);
    expect(t.clusterCount()).toBe(1);
    ok(t.free('b', b));
    expect(t.owners()).toEqual([]);
    expect(t.clusterCount()).toBe(0);
  });

  it('a pinned shared slot keeps its owner until unpin releases it', () => {
    const t = new SlotTable();
    const [s] = ok(t.allocate('a', 1, false)) as [number];
    t.pin(s);
    expect(ok(t.free('a', [s])).released).toEqual([]);
    expect(t.owners()).toEqual(['a']);
    expect(t.ownerOf(s)).toBe('a');
    expect(t.unpin(s)).toEqual({ slot: s, tier: TierCode.EMPTY, backend: 0, handle: 0 });
    expect(t.owners()).toEqual([]);
  });

  it(`get clusters of their own past ${SHARE_LIMIT} slots; their shared slots stay where they are`, () => {
    const t = new SlotTable();
    const first = ok(t.allocate('a', SHARE_LIMIT, false));
    for (const s of first) expect(t.orderOf(s)).toBe(SHARED_ORDER);
    const more = ok(t.allocate('a', 1, false));
    expect(t.orderOf(more[0]!)).toBe(0);
    expect(clusterOf(more[0]!)).not.toBe(clusterOf(first[0]!));
    // Once it holds a cluster, even a small allocation comes from its own.
    ok(t.free('a', first));
    expect(t.orderOf(ok(t.allocate('a', 1, false))[0]!)).toBe(0);
    expect(t.usedSlots('a')).toBe(2);
  });

  it('cost far less than a cluster each: 20,000 owners of one slot', () => {
    const t = new SlotTable();
    for (let i = 0; i < 20_000; i++) ok(t.allocate(`tenant-${i}`, 1, false));
    expect(t.clusterCount()).toBe(Math.ceil(20_000 / 512));
    expect(t.memoryBytes() / 20_000).toBeLessThan(600);
    expect(t.owners()).toHaveLength(20_000);
  });
});

describe('allocate', () => {
  it('hands out slots with swap count 1, tier EMPTY, in cluster 1 upward (never slot 0)', () => {
    const t = new SlotTable();
    const slots = ok(t.allocate('a', 3, false));
    expect(slots).toHaveLength(3);
    expect(new Set(slots).size).toBe(3);
    for (const s of slots) {
      expect(s).toBeGreaterThanOrEqual(512);
      expect(clusterOf(s)).toBe(1);
      expect(t.countOf(s)).toBe(1);
      expect(t.tierOf(s)).toBe(TierCode.EMPTY);
      expect(t.backendOf(s)).toBe(0);
      expect(t.handleOf(s)).toBe(0);
      expect(t.ownerOf(s)).toBe('a');
      expect(t.isLive(s)).toBe(true);
      expect(t.orderOf(s)).toBe(SHARED_ORDER); // a small owner's slots come from a shared cluster
    }
    expect(t.usedSlots()).toBe(3);
    expect(t.usedSlots('a')).toBe(3);
    expect(t.pagesByTier()).toEqual([0, 3, 0, 0, 0, 0]);
  });

  it.each([0, 513, -1, 1.5, Number.NaN, 100000])(
    'rejects count %s with INVALID_ARGUMENT and changes nothing',
    (count) => {
      const t = new SlotTable();
      const before = ok(t.allocate('a', 5, false));
      const snap = snapshot(t, before);
      expectError(t.allocate('a', count, false), status.INVALID_ARGUMENT, /count must be from 1 to 512/);
      expectError(t.allocate('b', count, true), status.INVALID_ARGUMENT);
      expect(snapshot(t, before)).toEqual(snap);
      expect(t.owners()).toEqual(['a']);
    },
  );

  it('creates a cluster per 512 order-0 slots and spans clusters within one call', () => {
    const t = new SlotTable();
    const first = ok(t.allocate('a', 512, false));
    expect(new Set(first.map(clusterOf))).toEqual(new Set([1]));
    expect(t.clusterCount()).toBe(1);
    const more = ok(t.allocate('a', 300, false));
    const spill = ok(t.allocate('a', 300, false));
    expect(t.clusterCount()).toBe(3);
    const all = [...first, ...more, ...spill];
    expect(new Set(all).size).toBe(1112);
    expect(new Set(spill.map(clusterOf)).size).toBe(2);
  });

  it('releases a cluster when its last slot goes and recycles its index', () => {
    const t = new SlotTable();
    const a = ok(t.allocate('a', SHARE_LIMIT + 1, false));
    const b = ok(t.allocate('b', SHARE_LIMIT + 1, false));
    expect(t.clusterCount()).toBe(2);
    ok(t.free('a', a));
    expect(t.clusterCount()).toBe(1);
    expect(t.owners()).toEqual(['b']);
    const memAfterDrop = t.memoryBytes();
    const c = ok(t.allocate('c', 1, false));
    expect(clusterOf(c[0]!)).toBe(clusterOf(a[0]!)); // the dropped index is reused
    expect(t.ownerOf(c[0]!)).toBe('c');
    expect(t.clusterCount()).toBe(2);
    expect(t.memoryBytes()).toBeGreaterThan(memAfterDrop);
    for (const s of b) expect(t.ownerOf(s)).toBe('b');
  });

  it('never lets two owners share a cluster of their own', () => {
    const t = new SlotTable();
    const byOwner = new Map<string, Set<number>>();
    for (let round = 0; round < 20; round++) {
      for (const owner of ['a', 'b', 'c']) {
        const slots = ok(t.allocate(owner, 1 + ((round * 37) % 200), round % 3 === 0));
        const set = byOwner.get(owner) ?? new Set<number>();
        for (const s of slots) if (t.orderOf(s) !== SHARED_ORDER) set.add(clusterOf(s));
        byOwner.set(owner, set);
      }
    }
    const [a, b, c] = [...byOwner.values()];
    for (const x of a!) {
      expect(b!.has(x)).toBe(false);
      expect(c!.has(x)).toBe(false);
    }
    for (const x of b!) expect(c!.has(x)).toBe(false);
  });

  it('gives every contiguous count 1..512 a naturally aligned run in one cluster of its order', () => {
    const t = new SlotTable();
    for (let count = 1; count <= 512; count++) {
      const run = ok(t.allocate('a', count, true));
      const order = Math.ceil(Math.log2(count));
      expect(run).toHaveLength(count);
      expect(run[0]! % 2 ** order).toBe(0);
      for (let i = 1; i < count; i++) expect(run[i]).toBe(run[0]! + i);
      expect(clusterOf(run[count - 1]!)).toBe(clusterOf(run[0]!));
      // A run of one is an order-0 slot: the owner's first comes from a shared cluster.
      expect(t.orderOf(run[0]!)).toBe(count === 1 ? SHARED_ORDER : order);
      for (const s of run) expect(t.countOf(s)).toBe(1);
    }
    expect(t.usedSlots()).toBe((512 * 513) / 2);
  });

  it('keeps one order per cluster: an owner uses separate clusters per order', () => {
    const t = new SlotTable();
    const single = ok(t.allocate('a', 1, false));
    const pair = ok(t.allocate('a', 2, true));
    const quad = ok(t.allocate('a', 3, true));
    const clusters = new Set([clusterOf(single[0]!), clusterOf(pair[0]!), clusterOf(quad[0]!)]);
    expect(clusters.size).toBe(3);
    expect(t.orderOf(quad[0]!)).toBe(2);
    // count 3 uses a unit of 4: the next order-2 run starts at the next multiple of 4.
    const quad2 = ok(t.allocate('a', 4, true));
    expect(quad2[0]! - quad[0]!).toBe(4);
  });

  it('fills a cluster of an order, moves to a new one, and reuses a freed run from the nonfull list', () => {
    const t = new SlotTable();
    const runs = Array.from({ length: 8 }, () => ok(t.allocate('a', 64, true)));
    expect(new Set(runs.map((r) => clusterOf(r[0]!))).size).toBe(1);
    const ninth = ok(t.allocate('a', 64, true));
    expect(clusterOf(ninth[0]!)).not.toBe(clusterOf(runs[0]![0]!));
    // Free a run in the middle of the full cluster; fill the current one; the freed run comes back.
    ok(t.free('a', runs[3]!));
    for (let i = 0; i < 7; i++) ok(t.allocate('a', 64, true));
    const again = ok(t.allocate('a', 64, true));
    expect(again).toEqual(runs[3]);
  });

  it('order-0 allocation reuses freed slots of a nonfull cluster once the current one is full', () => {
    const t = new SlotTable();
    const first = ok(t.allocate('a', 512, false));
    const second = ok(t.allocate('a', 512, false));
    expect(t.clusterCount()).toBe(2);
    const freed = [first[10]!, first[200]!, first[511]!];
    ok(t.free('a', freed));
    const next = ok(t.allocate('a', 3, false));
    expect(next.sort((x, y) => x - y)).toEqual(freed);
    expect(t.clusterCount()).toBe(2);
    expect(second.every((s) => t.countOf(s) === 1)).toBe(true);
  });

  it('a partial free inside a contiguous unit keeps the unit from being handed out again', () => {
    const t = new SlotTable();
    const run = ok(t.allocate('a', 8, true));
    ok(t.free('a', run.slice(0, 4)));
    const next = ok(t.allocate('a', 8, true));
    expect(next[0]).toBe(run[0]! + 8);
  });
});

describe('swap counts', () => {
  it('duplicate adds one, free subtracts one, and the slot is released at 0 with its backing', () => {
    const t = new SlotTable();
    const [s] = ok(t.allocate('a', 1, false));
    const slot = s!;
    expect(ok(t.duplicate('a', [slot]))).toEqual([2]);
    expect(ok(t.duplicate('a', [slot]))).toEqual([3]);
    t.setBacking(slot, zswap(77));
    expect(ok(t.free('a', [slot]))).toEqual({ counts: [2], released: [] });
    expect(ok(t.free('a', [slot]))).toEqual({ counts: [1], released: [] });
    expect(ok(t.free('a', [slot]))).toEqual({
      counts: [0],
      released: [{ slot, tier: TierCode.ZSWAP, backend: 1, handle: 77 }],
    });
    expect(t.isLive(slot)).toBe(false);
    expect(t.countOf(slot)).toBe(0);
    expect(t.ownerOf(slot)).toBeUndefined();
    expect(t.usedSlots()).toBe(0);
    expect(t.clusterCount()).toBe(0);
    expectError(t.free('a', [slot]), status.NOT_FOUND, new RegExp(`slot ${slot} is not allocated`));
  });

  it('released also lists slots without backing (backend 0: nothing to delete)', () => {
    const t = new SlotTable();
    const slots = ok(t.allocate('a', 2, false));
    const r = ok(t.free('a', slots));
    expect(r.released).toEqual(slots.map((slot) => ({ slot, tier: TierCode.EMPTY, backend: 0, handle: 0 })));
  });

  it('stops at the default maximum 65535 (Uint16) with RESOURCE_EXHAUSTED, changing nothing', () => {
    const t = new SlotTable();
    expect(t.maxSwapCount).toBe(65535);
    const [slot, other] = ok(t.allocate('a', 2, false)) as [number, number];
    for (let i = 2; i <= 65535; i++) ok(t.duplicate('a', [slot]));
    expect(t.countOf(slot)).toBe(65535);
    const snap = snapshot(t, [slot, other]);
    expectError(
      t.duplicate('a', [other, slot]),
      status.RESOURCE_EXHAUSTED,
      new RegExp(`slot ${slot} is already at the maximum swap count 65535`),
    );
    expect(snapshot(t, [slot, other])).toEqual(snap);
    expect(ok(t.free('a', [slot]))).toEqual({ counts: [65534], released: [] });
  });

  it('honours a lower maxSwapCount and rejects an out-of-range one', () => {
    const t = new SlotTable({ maxSwapCount: 3 });
    expect(t.maxSwapCount).toBe(3);
    const [slot] = ok(t.allocate('a', 1, false)) as [number];
    ok(t.duplicate('a', [slot]));
    ok(t.duplicate('a', [slot]));
    expectError(t.duplicate('a', [slot]), status.RESOURCE_EXHAUSTED, /maximum swap count 3/);
    expect(t.countOf(slot)).toBe(3);
    expect(() => new SlotTable({ maxSwapCount: 0 })).toThrow(/maxSwapCount/);
    expect(() => new SlotTable({ maxSwapCount: 65536 })).toThrow(/maxSwapCount/);
  });
});

describe('swap-cache pin', () => {
  it('keeps a slot allocated at count 0 until unpin, which returns its backing', () => {
    const t = new SlotTable();
    const [slot, keep] = ok(t.allocate('a', 2, false)) as [number, number];
    t.setBacking(slot, zswap(9));
    t.pin(slot);
    expect(t.isPinned(slot)).toBe(true);
    expect(ok(t.free('a', [slot]))).toEqual({ counts: [0], released: [] });
    // Not live: swap count 0, out of the stats, invisible to check/duplicate/free...
    expect(t.isLive(slot)).toBe(false);
    expect(t.countOf(slot)).toBe(0);
    expect(t.usedSlots()).toBe(1);
    expect(t.pagesByTier()).toEqual([0, 1, 0, 0, 0, 0]);
    expectError(t.check('a', [slot]), status.NOT_FOUND);
    expectError(t.duplicate('a', [slot]), status.NOT_FOUND);
    expectError(t.free('a', [slot]), status.NOT_FOUND);
    // ...but still allocated with its backing, so the id is not handed out again.
    expect(t.tierOf(slot)).toBe(TierCode.ZSWAP);
    expect(t.handleOf(slot)).toBe(9);
    expect(t.ownerOf(slot)).toBe('a');
    const seen: number[] = [];
    t.forEachSlot((s) => seen.push(s));
    expect(seen.sort((x, y) => x - y)).toEqual([slot, keep].sort((x, y) => x - y));
    ok(t.free('a', [keep]));
    expect(t.clusterCount()).toBe(1);
    const fresh = ok(t.allocate('a', 511, false));
    expect(fresh).not.toContain(slot);
    expect(t.unpin(slot)).toEqual({ slot, tier: TierCode.ZSWAP, backend: 1, handle: 9 });
    expect(t.isPinned(slot)).toBe(false);
    expect(t.ownerOf(slot)).toBeUndefined();
    expect(t.unpin(slot)).toBeUndefined();
  });

  it('unpin of a live slot releases nothing; pin of a slot that is not allocated throws', () => {
    const t = new SlotTable();
    const [slot] = ok(t.allocate('a', 1, false)) as [number];
    t.pin(slot);
    t.pin(slot); // idempotent
    expect(t.unpin(slot)).toBeUndefined();
    expect(t.isLive(slot)).toBe(true);
    expect(t.unpin(slot)).toBeUndefined();
    expect(() => t.pin(slot + 1)).toThrow(/not allocated/);
    expect(() => t.pin(0)).toThrow(/not allocated/);
  });

  it('setBacking keeps the pin bit', () => {
    const t = new SlotTable();
    const [slot] = ok(t.allocate('a', 1, false)) as [number];
    t.pin(slot);
    t.setBacking(slot, { tier: TierCode.SWAPFILE, backend: 3, handle: 5, checksum: 6 });
    expect(t.isPinned(slot)).toBe(true);
    expect(t.tierOf(slot)).toBe(TierCode.SWAPFILE);
  });
});

describe('lookups and backing', () => {
  it.each([0, -1, 1.5, Number.NaN, 511, 2 ** 40, 10 ** 9])(
    'reads of slot %s that is not allocated give 0/undefined',
    (slot) => {
      const t = new SlotTable();
      ok(t.allocate('a', 4, false));
      expect(t.isLive(slot)).toBe(false);
      expect(t.countOf(slot)).toBe(0);
      expect(t.tierOf(slot)).toBe(0);
      expect(t.backendOf(slot)).toBe(0);
      expect(t.handleOf(slot)).toBe(0);
      expect(t.checksumOf(slot)).toBe(0);
      expect(t.ownerOf(slot)).toBeUndefined();
      expect(t.isPinned(slot)).toBe(false);
      expect(t.orderOf(slot)).toBe(-1);
      expect(t.unpin(slot)).toBeUndefined();
      expect(() => t.setBacking(slot, zswap(1))).toThrow(/not allocated/);
    },
  );

  it('an unallocated slot inside a live cluster reads as not allocated', () => {
    const t = new SlotTable();
    const [slot] = ok(t.allocate('a', 1, false)) as [number];
    expect(t.isLive(slot + 1)).toBe(false);
    expect(t.ownerOf(slot + 1)).toBeUndefined();
    expect(t.orderOf(slot + 1)).toBe(SHARED_ORDER);
  });

  it('setBacking records every field, moves the tier counters and validates its input', () => {
    const t = new SlotTable();
    const slots = ok(t.allocate('a', 3, false));
    ok(t.allocate('b', 2, false));
    t.setBacking(slots[0]!, { tier: TierCode.ZSWAP, backend: 2, handle: 2 ** 40 - 1, checksum: 0x12345678 });
    t.setBacking(slots[1]!, { tier: TierCode.ZERO, backend: 0, handle: 0, checksum: 0 });
    expect(t.tierOf(slots[0]!)).toBe(TierCode.ZSWAP);
    expect(t.backendOf(slots[0]!)).toBe(2);
    expect(t.handleOf(slots[0]!)).toBe(2 ** 40 - 1); // handles are 40-bit
    expect(t.checksumOf(slots[0]!)).toBe(0x12345678);
    expect(t.pagesByTier('a')).toEqual([0, 1, 1, 1, 0, 0]);
    expect(t.pagesByTier('b')).toEqual([0, 2, 0, 0, 0, 0]);
    expect(t.pagesByTier()).toEqual([0, 3, 1, 1, 0, 0]);
    expect(t.pagesByTier('nobody')).toEqual([0, 0, 0, 0, 0, 0]);
    t.setBacking(slots[0]!, { tier: TierCode.SWAPFILE, backend: 4, handle: 1, checksum: 2 });
    expect(t.pagesByTier('a')).toEqual([0, 1, 1, 0, 1, 0]);
    const snap = snapshot(t, slots);
    expect(() => t.setBacking(slots[0]!, { tier: 0 as TierCode, backend: 1, handle: 1, checksum: 1 })).toThrow(/tier/);
    expect(() => t.setBacking(slots[0]!, { tier: TierCode.ZSWAP, backend: 256, handle: 1, checksum: 1 })).toThrow(
      /backend/,
    );
    expect(() => t.setBacking(slots[0]!, { tier: TierCode.ZSWAP, backend: 1, handle: 2 ** 40, checksum: 1 })).toThrow(
      /handle/,
    );
    expect(() => t.setBacking(slots[0]!, { tier: TierCode.ZSWAP, backend: 1, handle: 1, checksum: -1 })).toThrow(
      /checksum/,
    );
    expect(snapshot(t, slots)).toEqual(snap);
  });

  it('slotsOnBackend finds every allocated slot of a backend, optionally of one tier', () => {
    const t = new SlotTable();
    const a = [...ok(t.allocate('a', 300, false)), ...ok(t.allocate('a', 300, false))];
    const b = ok(t.allocate('b', 4, true));
    t.setBacking(a[5]!, zswap(1));
    t.setBacking(a[550]!, { tier: TierCode.SWAPFILE, backend: 1, handle: 2, checksum: 0 });
    t.setBacking(b[2]!, zswap(3));
    t.setBacking(a[6]!, { tier: TierCode.SWAPFILE, backend: 2, handle: 2, checksum: 0 });
    t.pin(b[2]!);
    ok(t.free('b', [b[2]!])); // pinned at count 0: still on the backend
    const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
    expect(sorted(t.slotsOnBackend(1))).toEqual(sorted([a[5]!, a[550]!, b[2]!]));
    expect(sorted(t.slotsOnBackend(1, TierCode.ZSWAP))).toEqual(sorted([a[5]!, b[2]!]));
    expect(t.slotsOnBackend(2)).toEqual([a[6]]);
    expect(t.slotsOnBackend(9)).toEqual([]);
  });

  it('forEachSlot visits every allocated slot once, cluster by cluster', () => {
    const t = new SlotTable();
    const a = [...ok(t.allocate('a', 400, false)), ...ok(t.allocate('a', 300, false))];
    const b = ok(t.allocate('b', 16, true));
    ok(t.free('a', a.slice(0, 100)));
    const seen: number[] = [];
    t.forEachSlot((s) => seen.push(s));
    expect(seen).toEqual([...a.slice(100), ...b].sort((x, y) => x - y));
  });

  it('usedSlots, pagesByTier and owners follow allocation and release', () => {
    const t = new SlotTable();
    const a = ok(t.allocate('a', 10, false));
    ok(t.allocate('b', 5, true));
    expect(t.owners().sort()).toEqual(['a', 'b']);
    expect(t.usedSlots()).toBe(15);
    expect(t.usedSlots('a')).toBe(10);
    expect(t.usedSlots('b')).toBe(5);
    expect(t.usedSlots('c')).toBe(0);
    ok(t.duplicate('a', a.slice(0, 3))); // a count of 2 is still one live slot
    ok(t.free('a', a.slice(0, 5))); // 3 back to count 1, 2 released
    expect(t.usedSlots('a')).toBe(8);
    ok(t.free('a', [...a.slice(0, 3), ...a.slice(5)]));
    expect(t.usedSlots('a')).toBe(0);
    expect(t.owners()).toEqual(['b']);
    expect(t.pagesByTier()).toEqual([0, 5, 0, 0, 0, 0]);
  });
});

describe('memoryBytes', () => {
  it('stays within 16 bytes per live slot for full clusters and returns to its base when emptied', () => {
    const t = new SlotTable();
    const base = t.memoryBytes();
    expect(base).toBeGreaterThan(0);
    const all: number[][] = [];
    for (let i = 0; i < 3200; i++) all.push(ok(t.allocate(`owner-${i % 100}`, 64, false)));
    const used = t.usedSlots();
    expect(used).toBe(204800);
    const perSlot = t.memoryBytes() / used;
    expect(perSlot).toBeGreaterThan(12); // 12 B of typed arrays per slot at least
    expect(perSlot).toBeLessThanOrEqual(16);
    for (let i = 0; i < all.length; i++) ok(t.free(`owner-${i % 100}`, all[i]!));
    expect(t.usedSlots()).toBe(0);
    expect(t.clusterCount()).toBe(0);
    // Only the small pool of empty clusters and the recycled indices remain.
    expect(t.memoryBytes()).toBeLessThan(base + 32 * (CLUSTER_STORAGE_BYTES + CLUSTER_OVERHEAD_BYTES) + 600 * 8 * 2);
  });
});

describe('journal replay', () => {
  it('restoreSlot puts a slot back at its exact id, creating its cluster with that owner and order', () => {
    const t = new SlotTable();
    const slot = 5 * 512 + 24; // order 3 (units of 8): offset 24 is aligned
    t.restoreSlot(slot, 'a', 3, 4, { tier: TierCode.SWAPFILE, backend: 2, handle: 99, checksum: 7 });
    expect(t.countOf(slot)).toBe(4);
    expect(t.ownerOf(slot)).toBe('a');
    expect(t.orderOf(slot)).toBe(3);
    expect(t.tierOf(slot)).toBe(TierCode.SWAPFILE);
    expect(t.handleOf(slot)).toBe(99);
    expect(t.checksumOf(slot)).toBe(7);
    expect(t.usedSlots('a')).toBe(1);
    expect(t.pagesByTier()).toEqual([0, 0, 0, 0, 1, 0]);
    // Replaying it again overwrites, not double counts.
    t.restoreSlot(slot, 'a', 3, 2, { tier: TierCode.ZSWAP, backend: 1, handle: 98, checksum: 7 });
    expect(t.countOf(slot)).toBe(2);
    expect(t.usedSlots()).toBe(1);
    expect(t.pagesByTier()).toEqual([0, 0, 0, 1, 0, 0]);
    // Order-3 allocations for the owner come from the restored cluster, around the restored unit.
    const runs = Array.from({ length: 63 }, () => ok(t.allocate('a', 8, true)));
    for (const r of runs) {
      expect(clusterOf(r[0]!)).toBe(5);
      expect(r.includes(slot)).toBe(false);
    }
    const next = ok(t.allocate('a', 8, true));
    expect(clusterOf(next[0]!)).not.toBe(5);
    // New clusters use the indices below it that were never taken.
    const single = ok(t.allocate('b', 1, false));
    expect(clusterOf(single[0]!)).toBeLessThan(5);
    expect(clusterOf(single[0]!)).toBeGreaterThanOrEqual(1);
  });

  it('restoreSlot refuses a cluster of another owner or order and bad input', () => {
    const t = new SlotTable();
    const [slot] = ok(t.allocate('a', 2, true)) as [number]; // an order-1 cluster of a's own
    const backing = { tier: TierCode.ZERO, backend: 0, handle: 0, checksum: 0 };
    expect(() => t.restoreSlot(slot + 2, 'b', 1, 1, backing)).toThrow(/owner a/);
    expect(() => t.restoreSlot(slot + 2, 'a', 2, 1, backing)).toThrow(/order 1/);
    expect(() => t.restoreSlot(slot + 2, 'a', SHARED_ORDER, 1, backing)).toThrow(/not shared/);
    expect(() => t.restoreSlot(3, 'a', 0, 1, backing)).toThrow(/bad slot/);
    expect(() => t.restoreSlot(2000, 'a', SHARED_ORDER + 1, 1, backing)).toThrow(/bad order/);
    expect(() => t.restoreSlot(2000, 'a', 0, 0, backing)).toThrow(/bad swap count/);
    t.restoreSlot(slot + 2, 'a', 1, 3, backing);
    expect(t.countOf(slot + 2)).toBe(3);
    // A restored slot is never handed out again while allocated.
    const more: number[] = [];
    for (let i = 0; i < 254; i++) more.push(...ok(t.allocate('a', 2, true)));
    expect(more).not.toContain(slot + 2);
    expect(more).not.toContain(slot);
  });

  it('restoreSlot puts shared slots back with their owners, and refuses another owner on a shared slot', () => {
    const t = new SlotTable();
    const backing = { tier: TierCode.ZERO, backend: 0, handle: 0, checksum: 0 };
    t.restoreSlot(1024 + 5, 'a', SHARED_ORDER, 1, backing);
    t.restoreSlot(1024 + 6, 'b', SHARED_ORDER, 2, backing);
    expect(t.ownerOf(1029)).toBe('a');
    expect(t.ownerOf(1030)).toBe('b');
    expect(t.orderOf(1029)).toBe(SHARED_ORDER);
    expect(t.countOf(1030)).toBe(2);
    expect(t.owners().sort()).toEqual(['a', 'b']);
    expect(() => t.restoreSlot(1029, 'b', SHARED_ORDER, 1, backing)).toThrow(/another owner/);
    expect(() => t.restoreSlot(1031, 'a', 0, 1, backing)).toThrow(/shared, not of a/);
    // New small owners fill the same shared cluster around the restored slots.
    const c = ok(t.allocate('c', 3, false));
    for (const s of c) expect(clusterOf(s)).toBe(2);
    expect(c).not.toContain(1029);
    expect(c).not.toContain(1030);
    expectError(t.free('a', [1030]), status.PERMISSION_DENIED);
  });

  it('releaseSlot releases whatever the count or pin, and drops the empty cluster', () => {
    const t = new SlotTable();
    const [s1, s2] = ok(t.allocate('a', 2, false)) as [number, number];
    ok(t.duplicate('a', [s1]));
    t.pin(s2);
    t.releaseSlot(s1);
    expect(t.isLive(s1)).toBe(false);
    expect(t.usedSlots()).toBe(1);
    t.releaseSlot(s2);
    expect(t.isPinned(s2)).toBe(false);
    expect(t.clusterCount()).toBe(0);
    expect(t.usedSlots()).toBe(0);
    expect(t.owners()).toEqual([]);
    t.releaseSlot(s2); // not allocated: no-op
    t.releaseSlot(0);
  });
});
