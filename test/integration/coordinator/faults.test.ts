import { status as Status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { clusterPerTest, counter, expectCode, until } from './helpers';
import { randomPage, textPage } from './pages';

describe('slow and dead backends', () => {
  const fx = clusterPerTest();

  it('a hung zswap delays only the requests that need it; stores fall through to the swapfile', async () => {
    const c = await fx.start({
      zswap: { poolBytes: '32M' },
      swapfiles: [{ name: 'file0', capacityPages: 4096 }],
      coordinatorArgs: ['--backend-deadline-ms', '300', '--poll-ms', '100'],
    });
    const cluster = fx.cluster;
    const onZswap = await c.swapOut('app', [textPage(1), textPage(2)]);
    const onFile = await c.swapOut('app', [randomPage()]);
    expect(onZswap.tiers).toEqual(['TIER_ZSWAP', 'TIER_ZSWAP']);
    cluster.pause('zswap'); // SIGSTOP: a hung peer
    // A read of a page on the hung backend: UNAVAILABLE (retry later), not wrong bytes.
    await expectCode(c.load('app', [onZswap.slots[0]!]), Status.UNAVAILABLE, /zswap/);
    // Pages elsewhere are served as usual.
    const [p] = await c.load('app', onFile.slots);
    expect(p!.length).toBe(4096);
    // New stores go to the swapfile.
    const fresh = await c.swapOut('app', [textPage(3)]);
    expect(fresh.tiers).toEqual(['TIER_SWAPFILE']);
    cluster.resume('zswap');
    const back = await c.load('app', onZswap.slots);
    expect(back[0]!.equals(textPage(1))).toBe(true);
    expect(back[1]!.equals(textPage(2))).toBe(true);
  });

  it('answers UNAVAILABLE when no tier can be reached, and changes nothing', async () => {
    const c = await fx.start({
      zswap: false,
      swapfiles: [{ name: 'file0', capacityPages: 4096 }],
      coordinatorArgs: ['--backend-deadline-ms', '300', '--poll-ms', '100'],
    });
    const cluster = fx.cluster;
    const before = (await c.stats()).usedSlots;
    await cluster.kill('file0', 'SIGKILL');
    await expectCode(c.swapOut('app', [randomPage()]), Status.UNAVAILABLE, /reached/);
    expect((await c.stats()).usedSlots).toBe(before);
    // Zero pages need no backend at all.
    expect((await c.swapOut('app', [Buffer.alloc(4096)])).tiers).toEqual(['TIER_ZERO']);
    await cluster.startAgain('file0');
  });

  it('answers RESOURCE_EXHAUSTED when every tier is full, keeping stored pages readable', async () => {
    const c = await fx.start({ zswap: false, swapfiles: [{ name: 'file0', capacityPages: 512 }] });
    const pages = Array.from({ length: 512 }, () => randomPage());
    const { slots } = await c.swapOut('app', pages);
    await expectCode(c.swapOut('app', [randomPage()]), Status.RESOURCE_EXHAUSTED, /no tier has room/);
    expect((await c.stats()).usedSlots).toBe(512);
    (await c.load('app', slots)).forEach((p, i) => expect(p.equals(pages[i]!)).toBe(true));
  });

  it('a Free that lands during an in-flight write releases the backend copy once the write completes; concurrent Loads share one read', async () => {
    const c = await fx.start({
      zswap: { poolBytes: '32M' },
      swapfiles: [{ name: 'file0', capacityPages: 4096 }],
      coordinatorArgs: ['--backend-deadline-ms', '20000'],
    });
    const cluster = fx.cluster;
    const [slot] = await c.allocate('app', 1);
    cluster.pause('zswap');
    const store = c.store('app', [slot!], [textPage(42)]);
    await new Promise((r) => setTimeout(r, 300));
    // While the write is in flight the swap cache holds the page.
    const [info] = await c.inspect('app', [slot!]);
    expect(info!.inSwapCache).toBe(true);
    expect((await c.load('app', [slot!]))[0]!.equals(textPage(42))).toBe(true);
    expect(await c.free('app', [slot!])).toEqual([0]);
    cluster.resume('zswap');
    await store;
    await expectCode(c.inspect('app', [slot!]), Status.NOT_FOUND);
    const used = await until(
      () => c.listBackends(),
      (bs) => bs.every((b) => b.usedPages === 0),
    );
    expect(used.map((b) => b.usedPages)).toEqual([0, 0]);
    expect((await c.stats()).usedSlots).toBe(0);

    // Ten concurrent Loads of one zswap slot cost one backend read (zswpin + 1):
    // the backend is held still so that all ten arrive while the first read waits.
    const { slots } = await c.swapOut('app', [textPage(7)]);
    const zswpin = async (): Promise<number> => counter((await c.stats()).zswap, 'zswpin');
    const before = await zswpin();
    cluster.pause('zswap');
    const loads = Promise.all(Array.from({ length: 10 }, () => c.load('app', slots)));
    await new Promise((r) => setTimeout(r, 500));
    cluster.resume('zswap');
    const pages = await loads;
    expect(pages.every(([p]) => p!.equals(textPage(7)))).toBe(true);
    expect((await zswpin()) - before).toBe(1);
  });

  it('a Load whose page moved while its backend read hung reads it again from where it is now', async () => {
    const c = await fx.start({
      zswap: { poolBytes: '32M' },
      swapfiles: [{ name: 'file0', capacityPages: 4096 }],
      coordinatorArgs: ['--backend-deadline-ms', '1500'],
    });
    const { slots, tiers } = await c.swapOut('app', [randomPage()]);
    expect(tiers).toEqual(['TIER_SWAPFILE']);
    fx.cluster.pause('file0');
    const load = c.load('app', slots);
    await new Promise((r) => setTimeout(r, 200));
    // Meanwhile the slot gets new data, which lands on zswap.
    expect(await c.store('app', slots, [textPage(5)])).toEqual(['TIER_ZSWAP']);
    const [page] = await load;
    expect(page!.equals(textPage(5))).toBe(true);
    fx.cluster.resume('file0');
  });
});
