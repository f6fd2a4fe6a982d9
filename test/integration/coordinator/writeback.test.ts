import { describe, expect, it } from 'vitest';
import type { VswapClient } from '../../../clients/sdk/client';
import { clusterPerTest, counter, until } from './helpers';
import { halfPage, textPage } from './pages';

describe('zswap writeback', () => {
  const fx = clusterPerTest();

  const start = (poolBytes: string): Promise<VswapClient> =>
    fx.start(
      {
        zswap: { poolBytes },
        swapfiles: [{ name: 'file0', capacityPages: 16384 }],
        coordinatorArgs: ['--poll-ms', '100'],
      },
      30_000,
    );

  it('writes cold pages back when zswap fills, under load, and every page reads back byte for byte', async () => {
    const c = await start('1M');
    const written = new Map<string, { slots: number[]; pages: Buffer[] }>();
    // Several writers at once: zswap fills, rejects, and the coordinator writes back.
    await Promise.all(
      ['w0', 'w1', 'w2'].map(async (owner) => {
        const mine = { slots: [] as number[], pages: [] as Buffer[] };
        written.set(owner, mine);
        for (let round = 0; round < 12; round++) {
          const pages = Array.from({ length: 64 }, () => halfPage());
          const { slots } = await c.swapOut(owner, pages);
          mine.slots.push(...slots);
          mine.pages.push(...pages);
        }
      }),
    );
    // Writeback runs in the background: wait until it has moved pages and the
    // coordinator's count and zswap's agree (zswap counts when the copy is deleted).
    const stats = await until(
      () => c.stats(),
      (s) =>
        counter(s.zswap, 'written_back_pages') > 0 &&
        counter(s.counters, 'written_back_pages') === counter(s.zswap, 'written_back_pages'),
      15_000,
    );
    expect(counter(stats.zswap, 'written_back_pages')).toBeGreaterThan(0);
    expect(counter(stats.counters, 'written_back_pages')).toBe(counter(stats.zswap, 'written_back_pages'));
    expect(counter(stats.pagesByTier, 'TIER_SWAPFILE')).toBeGreaterThan(0);
    expect(counter(stats.pagesByTier, 'TIER_ZSWAP')).toBeGreaterThan(0);
    expect(stats.usedSlots).toBe(3 * 12 * 64);
    // Every page, wherever it went, reads back exactly; ids never changed.
    for (const [owner, { slots, pages }] of written) {
      const back = await c.load(owner, slots);
      back.forEach((p, i) => expect(p.equals(pages[i]!)).toBe(true));
      const infos = await c.inspect(owner, slots);
      expect(infos.map((i) => i.slot)).toEqual(slots);
    }
  });

  it('Writeback(max_pages) moves the coldest zswap pages on demand, and respects an owner with writeback off', async () => {
    const c = await start('64M');
    await c.setOwnerPolicy('pinned', { zswapWriteback: false });
    const a = Array.from({ length: 100 }, (_, i) => textPage(i));
    const b = Array.from({ length: 50 }, (_, i) => textPage(1000 + i));
    const sa = (await c.swapOut('movable', a)).slots;
    const sb = (await c.swapOut('pinned', b)).slots;
    expect((await c.inspect('movable', sa)).every((s) => s.tier === 'TIER_ZSWAP')).toBe(true);
    // Touch the newest half of "movable": they get a second chance.
    await c.load('movable', sa.slice(50));
    expect(await c.writeback(30)).toBe(30);
    const after = await c.inspect('movable', sa);
    // The 30 coldest (oldest, untouched) pages moved; ids are the same.
    expect(after.slice(0, 30).every((s) => s.tier === 'TIER_SWAPFILE' && s.backend === 'file0')).toBe(true);
    expect(after.slice(30).every((s) => s.tier === 'TIER_ZSWAP')).toBe(true);
    // Owner filter and an owner with writeback off.
    expect(await c.writeback(500, 'pinned')).toBe(0);
    expect((await c.inspect('pinned', sb)).every((s) => s.tier === 'TIER_ZSWAP')).toBe(true);
    expect(await c.writeback(500)).toBe(70);
    expect((await c.inspect('pinned', sb)).every((s) => s.tier === 'TIER_ZSWAP')).toBe(true);
    (await c.load('movable', sa)).forEach((p, i) => expect(p.equals(a[i]!)).toBe(true));
    (await c.load('pinned', sb)).forEach((p, i) => expect(p.equals(b[i]!)).toBe(true));
    const zs = (await c.stats()).zswap;
    expect(counter(zs, 'written_back_pages')).toBe(100);
    expect(counter(zs, 'stored_pages')).toBe(50);
  });

  it('enforces per-owner zswap and swap limits', async () => {
    const c = await start('64M');
    await c.setOwnerPolicy('small', { zswapMaxPages: 10, swapMaxPages: 40 });
    const { tiers } = await c.swapOut(
      'small',
      Array.from({ length: 30 }, (_, i) => textPage(i)),
    );
    expect(tiers.filter((t) => t === 'TIER_ZSWAP')).toHaveLength(10);
    expect(tiers.filter((t) => t === 'TIER_SWAPFILE')).toHaveLength(20);
    const err = await c
      .swapOut(
        'small',
        Array.from({ length: 11 }, (_, i) => textPage(i)),
      )
      .catch((e: unknown) => e);
    expect((err as { codeName: string }).codeName).toBe('RESOURCE_EXHAUSTED');
    expect((await c.stats('small')).usedSlots).toBe(30);
    expect(await c.getOwnerPolicy('small')).toMatchObject({
      owner: 'small',
      swapMaxPages: 40,
      zswapMaxPages: 10,
      zswapWriteback: true,
    });
  });
});
