import { describe, expect, it } from 'vitest';
import { FakeBackend, fakeClusters, page } from '../../support/fake-backend';

/** Writeback finds each cold zswap entry's slot from the tag the Put gave it (no handle -> slot index). */
describe('writeback by Coldest tags', () => {
  const cluster = fakeClusters();

  it("zswap Puts carry each page's slot as its tag, and writeback moves exactly the tagged slots", async () => {
    const zswap = new FakeBackend({ kind: 'zswap' });
    const file0 = new FakeBackend({ kind: 'swapfile' });
    const fc = await cluster.start([
      { name: 'zswap', fake: zswap },
      { name: 'file0', fake: file0 },
    ]);
    const c = fc.coordinator;
    const pages = [page('a'), page('b'), page('c')];
    const { slots } = await c.swapOut('app', pages, false);
    expect([...zswap.entries.values()].map((e) => e.tag)).toEqual(slots.map((s) => s + 1));
    // An entry whose tag names no slot of it (a stale tag) is skipped, not moved.
    const stray = await zswap.put([page('stray')], { tags: [slots[0]! + 1] });
    expect(await fc.admin.writeback(10, '')).toBe(3);
    expect(slots.map((s) => fc.reporting.describe(s).tier)).toEqual([
      'TIER_SWAPFILE',
      'TIER_SWAPFILE',
      'TIER_SWAPFILE',
    ]);
    expect(zswap.entries.has(stray.handles[0]!)).toBe(true);
    (await c.load('app', slots, false)).pages.forEach((p, i) => expect(p.equals(pages[i]!)).toBe(true));
  });
});
