import { status as Status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { SwapoffProgress, VswapClient } from '../../../clients/sdk/client';
import { clusterPerTest, counter, expectCode } from './helpers';
import { mixedPages, randomPage, textPage } from './pages';

describe('swapoff and swapon', () => {
  const fx = clusterPerTest();
  const start = fx.start;

  async function drain(it: AsyncIterable<SwapoffProgress>): Promise<SwapoffProgress[]> {
    const out: SwapoffProgress[] = [];
    for await (const p of it) out.push(p);
    return out;
  }

  /** Swaps out and reads back in a loop until stopped; returns what it holds. */
  function workload(c: VswapClient, owner: string): { stop: () => Promise<Map<number, Buffer>> } {
    const held = new Map<number, Buffer>();
    let running = true;
    const loop = (async () => {
      for (let i = 0; running; i++) {
        const pages = mixedPages(16, i * 16);
        const { slots } = await c.swapOut(owner, pages);
        slots.forEach((s, k) => held.set(s, pages[k]!));
        const some = [...held.keys()].slice(-32);
        const back = await c.load(owner, some);
        back.forEach((p, k) => expect(p.equals(held.get(some[k]!)!)).toBe(true));
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
        return held;
      },
    };
  }

  it('migrates every zswap page to the swapfile while clients keep working, ids unchanged', async () => {
    const c = await start({
      zswap: { poolBytes: '32M' },
      swapfiles: [{ name: 'file0', capacityPages: 16384 }],
      coordinatorArgs: ['--writeback-batch', '16'],
    });
    const pages = Array.from({ length: 300 }, (_, i) => textPage(i));
    const { slots } = await c.swapOut('app', pages);
    const w = workload(c, 'busy');
    const progress = await drain(c.swapoff('zswap'));
    const held = await w.stop();
    expect(progress.filter((p) => p.done)).toHaveLength(1);
    const last = progress[progress.length - 1]!;
    expect(last).toMatchObject({ done: true, remaining: 0 });
    expect(last.moved).toBeGreaterThanOrEqual(300);
    // progress counts up
    const moved = progress.map((p) => p.moved);
    expect([...moved].sort((a, b) => a - b)).toEqual(moved);
    const backends = await c.listBackends();
    expect(backends.find((b) => b.name === 'zswap')!.state).toBe('off');
    expect(counter((await c.stats()).pagesByTier, 'TIER_ZSWAP')).toBe(0);
    const infos = await c.inspect('app', slots);
    expect(infos.map((i) => i.slot)).toEqual(slots);
    expect(infos.every((i) => i.tier === 'TIER_SWAPFILE' && i.backend === 'file0')).toBe(true);
    (await c.load('app', slots)).forEach((p, i) => expect(p.equals(pages[i]!)).toBe(true));
    const busy = [...held.keys()];
    (await c.load('busy', busy)).forEach((p, i) => expect(p.equals(held.get(busy[i]!)!)).toBe(true));
    // New stores skip the backend that is off...
    expect((await c.swapOut('app', [textPage(7)])).tiers).toEqual(['TIER_SWAPFILE']);
    // ...until swapon puts it back.
    const on = await c.swapon('zswap', 100);
    expect(on).toMatchObject({ name: 'zswap', state: 'active', priority: 100 });
    expect((await c.swapOut('app', [textPage(8)])).tiers).toEqual(['TIER_ZSWAP']);
    // Swapoff of a backend that is already off: one done message.
    await drain(c.swapoff('zswap'));
    expect(await drain(c.swapoff('zswap'))).toEqual([{ moved: 0, remaining: 0, done: true }]);
  });

  it('migrates a swapfile onto the other swapfile and zswap while clients keep working', async () => {
    const c = await start({
      zswap: { poolBytes: '32M' },
      swapfiles: [
        { name: 'a', capacityPages: 4096, priority: 10 },
        { name: 'b', capacityPages: 4096, priority: 5 },
      ],
    });
    const pages = [
      ...Array.from({ length: 100 }, () => randomPage()),
      ...Array.from({ length: 100 }, (_, i) => textPage(i)),
    ];
    await c.swapoff('zswap').next(); // keep the text pages off zswap for now
    const { slots, tiers } = await c.swapOut('app', pages);
    expect(tiers.every((t) => t === 'TIER_SWAPFILE')).toBe(true);
    expect((await c.inspect('app', slots)).every((i) => i.backend === 'a')).toBe(true);
    await c.swapon('zswap', 0);
    const w = workload(c, 'busy');
    const progress = await drain(c.swapoff('a'));
    const held = await w.stop();
    expect(progress[progress.length - 1]).toMatchObject({ done: true, remaining: 0 });
    expect(progress[progress.length - 1]!.moved).toBeGreaterThanOrEqual(200);
    const busy = [...held.keys()];
    (await c.load('busy', busy)).forEach((p, i) => expect(p.equals(held.get(busy[i]!)!)).toBe(true));
    expect((await c.inspect('busy', busy)).some((i) => i.backend === 'a')).toBe(false);
    const infos = await c.inspect('app', slots);
    expect(infos.some((i) => i.backend === 'a')).toBe(false);
    // Incompressible pages can only go to the other swapfile; text pages may go to zswap.
    expect(infos.slice(0, 100).every((i) => i.backend === 'b')).toBe(true);
    (await c.load('app', slots)).forEach((p, i) => expect(p.equals(pages[i]!)).toBe(true));
    const a = (await c.listBackends()).find((b) => b.name === 'a')!;
    expect(a.state).toBe('off');
    expect(a.usedPages).toBe(0);
  });

  it('refuses up front when the other backends cannot hold the data, changing nothing', async () => {
    const c = await start({
      zswap: false,
      swapfiles: [
        { name: 'big', capacityPages: 2048, priority: 10 },
        { name: 'small', capacityPages: 64, priority: 1 },
      ],
    });
    const { slots } = await c.swapOut(
      'app',
      Array.from({ length: 200 }, () => randomPage()),
    );
    const before = await c.inspect('app', slots);
    await expectCode(
      c.swapoff('big').next(),
      Status.FAILED_PRECONDITION,
      /200 pages to move but the other backends have room for 64/,
    );
    expect(await c.inspect('app', slots)).toEqual(before);
    expect((await c.listBackends()).map((b) => b.state)).toEqual(['active', 'active']);
    // An empty backend can always go; then "big" has nowhere at all to go.
    expect((await c.swapoff('small').next()).value).toMatchObject({ done: true, remaining: 0 });
    await expectCode(c.swapoff('big').next(), Status.FAILED_PRECONDITION, /room for 0/);
    expect(await c.inspect('app', slots)).toEqual(before);
  });
});
