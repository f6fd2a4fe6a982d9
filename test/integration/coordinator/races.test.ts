/**
 * Real-process counterparts of the coordinator race tests in
 * test/unit/coordinator (issue 10): the same orderings, forced with SIGSTOP
 * on real backend processes instead of held fake calls.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VswapClient } from '../../../clients/sdk/client';
import { VswapClientError } from '../../../clients/sdk/errors';
import { RedisServer } from '../../support/redis';
import { clusterPerTest, counter, until } from './helpers';
import { randomPage, textPage } from './pages';

/** Resolves with the promise's value, or 'pending' once `ms` passed without it settling. */
async function settledWithin<T>(p: Promise<T>, ms: number): Promise<T | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<'pending'>((r) => (timer = setTimeout(() => r('pending'), ms)));
  try {
    return await Promise.race([p, pending]);
  } finally {
    clearTimeout(timer);
  }
}

describe('coordinator races against real backends', () => {
  const fx = clusterPerTest();

  it('defect 3: a Load after an acknowledged Store returns the new page while an older read of the slot hangs', async () => {
    const c = await fx.start({
      zswap: { poolBytes: '32M' },
      swapfiles: [{ name: 'file0', capacityPages: 4096 }],
      coordinatorArgs: ['--backend-deadline-ms', '60000'],
    });
    // Put the page on file0 (zswap out of service), then bring zswap back.
    for await (const _ of c.swapoff('zswap'));
    const { slots, tiers } = await c.swapOut('app', [textPage(1)]);
    expect(tiers).toEqual(['TIER_SWAPFILE']);
    await c.swapon('zswap', 0);
    fx.cluster.pause('file0');
    // Load A hangs on the stopped swapfile.
    const loadA = c.load('app', slots);
    loadA.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
    // A Store is acknowledged (on zswap)...
    expect(await c.store('app', slots, [textPage(2)])).toEqual(['TIER_ZSWAP']);
    // ...and a Load that starts after it must return it, not join A's old read.
    const loadB = c.load('app', slots);
    const b = await settledWithin(loadB, 3000);
    fx.cluster.resume('file0');
    const bPages = b === 'pending' ? await loadB : b;
    expect(bPages[0]!.equals(textPage(2))).toBe(true);
    const a = await loadA;
    expect(a[0]!.equals(textPage(1)) || a[0]!.equals(textPage(2))).toBe(true);
  });

  it('defect 5: a client that cancels mid-swapoff leaves the backend back in service, moved pages moved, every page readable', async () => {
    const c = await fx.start({
      zswap: { poolBytes: '64M' },
      swapfiles: [{ name: 'file0', capacityPages: 16384 }],
      coordinatorArgs: ['--writeback-batch', '8'],
    });
    const pages = Array.from({ length: 2000 }, (_, i) => textPage(i));
    const slots: number[] = [];
    for (let i = 0; i < pages.length; i += 500) slots.push(...(await c.swapOut('app', pages.slice(i, i + 500))).slots);
    for await (const p of c.swapoff('zswap')) {
      expect(p.done).toBe(false);
      break; // the SDK cancels the call
    }
    const backends = await until(
      () => c.listBackends(),
      (bs) => bs.find((b) => b.name === 'zswap')?.state === 'active',
    );
    expect(backends.find((b) => b.name === 'zswap')!.state).toBe('active');
    const tiers = (await c.stats()).pagesByTier;
    expect(counter(tiers, 'TIER_SWAPFILE')).toBeGreaterThan(0);
    expect(counter(tiers, 'TIER_ZSWAP')).toBeGreaterThan(0);
    expect(counter(tiers, 'TIER_ZSWAP') + counter(tiers, 'TIER_SWAPFILE')).toBe(2000);
    const infos = await c.inspect('app', slots);
    expect(infos.some((i) => i.inSwapCache)).toBe(false);
    const back = await c.load('app', slots.slice(0, 500));
    back.forEach((p, i) => expect(p.equals(pages[i]!)).toBe(true));
    // New stores use zswap again.
    expect((await c.swapOut('app', [textPage(9999)])).tiers).toEqual(['TIER_ZSWAP']);
  });

  it('defect 8: a Swapon during a drain wins; the drain ends ABORTED instead of turning the backend off', async () => {
    const c = await fx.start({
      zswap: { poolBytes: '64M' },
      swapfiles: [{ name: 'file0', capacityPages: 16384 }],
      coordinatorArgs: ['--writeback-batch', '8'],
    });
    for (let i = 0; i < 4; i++)
      await c.swapOut(
        'app',
        Array.from({ length: 500 }, (_, k) => textPage(i * 500 + k)),
      );
    const off = c.swapoff('zswap');
    const first = await off.next();
    expect(first.done).toBe(false);
    fx.cluster.pause('zswap'); // the drain's next read waits
    expect(await c.swapon('zswap', 7)).toMatchObject({ name: 'zswap', state: 'active', priority: 7 });
    fx.cluster.resume('zswap');
    const err = await (async () => {
      try {
        for (let r = await off.next(); !r.done; r = await off.next());
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(VswapClientError);
    expect((err as VswapClientError).codeName).toBe('ABORTED');
    const zs = (await c.listBackends()).find((b) => b.name === 'zswap')!;
    expect(zs).toMatchObject({ state: 'active', priority: 7 });
  });

  it('defect 8: of two concurrent swapoffs that need the same free room, one is refused up front and changes nothing', async () => {
    const c = await fx.start({
      zswap: false,
      swapfiles: [
        { name: 'a', capacityPages: 64, priority: 3 },
        { name: 'b', capacityPages: 64, priority: 2 },
        { name: 'spare', capacityPages: 80, priority: 1 },
      ],
    });
    const pages = Array.from({ length: 128 }, () => randomPage());
    const { slots } = await c.swapOut('app', pages);
    const on = await c.inspect('app', slots);
    expect(on.filter((i) => i.backend === 'a')).toHaveLength(64);
    expect(on.filter((i) => i.backend === 'b')).toHaveLength(64);
    const drain = async (name: string): Promise<void> => {
      for await (const _ of c.swapoff(name));
    };
    const results = await Promise.allSettled([drain('a'), drain('b')]);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused).toHaveLength(1);
    expect((refused[0]!.reason as VswapClientError).codeName).toBe('FAILED_PRECONDITION');
    const states = (await c.listBackends())
      .filter((b) => b.name !== 'spare')
      .map((b) => b.state)
      .sort();
    expect(states).toEqual(['active', 'off']);
    (await c.load('app', slots)).forEach((p, i) => expect(p.equals(pages[i]!)).toBe(true));
  });

  it('defect 4: SwapOuts spilling across two equal-priority swapfiles while both stall and reconcile all answer, and stores work afterwards', async () => {
    const c = await fx.start(
      {
        zswap: false,
        swapfiles: [
          // fsync always: a Put answers after its fsync, so an Info sent behind it answers first and
          // the reconcile it starts is already waiting when the Put's reply makes the SwapOut spill.
          { name: 'a', capacityPages: 20, fsync: 'always' },
          { name: 'b', capacityPages: 20, fsync: 'always' },
        ],
        coordinatorArgs: ['--backend-deadline-ms', '3000', '--poll-ms', '50'],
      },
      20_000,
    );
    for (let round = 0; round < 3; round++) {
      // Stall both swapfiles with SwapOuts in flight: Info polls fail (both need a reconcile when they
      // come back) while each SwapOut holds one backend and will spill to the other (each is near full).
      fx.cluster.pause('a');
      fx.cluster.pause('b');
      const outs = Array.from({ length: 4 }, (_, i) =>
        c.swapOut(
          `o${i}`,
          Array.from({ length: 12 }, () => randomPage()),
        ),
      );
      await new Promise((r) => setTimeout(r, 2300));
      fx.cluster.resume('a');
      fx.cluster.resume('b');
      const results = await Promise.allSettled(outs);
      // Every call answered; the ones that could not be stored say why (never a hang past the client deadline).
      for (const r of results) {
        if (r.status === 'rejected')
          expect(['UNAVAILABLE', 'RESOURCE_EXHAUSTED']).toContain((r.reason as VswapClientError).codeName);
      }
      // Give the slots back so the next round spills again.
      for (let i = 0; i < 4; i++) {
        const r = results[i]!;
        if (r.status === 'fulfilled') await c.free(`o${i}`, r.value.slots);
      }
    }
    // Both backends take stores again once reconciled (a deadlock would keep them unwritable for good).
    const stored = await until(
      () =>
        c.swapOut('after', [randomPage(), randomPage()]).then(
          (r) => r.tiers,
          (e: unknown) => String(e),
        ),
      (t) => Array.isArray(t),
      10_000,
    );
    expect(stored).toEqual(['TIER_SWAPFILE', 'TIER_SWAPFILE']);
    const backends = await c.listBackends();
    expect(backends.map((b) => b.reachable)).toEqual([true, true]);
  });

  it('defect 6: a SwapOut whose client deadline passes while the backend is slow rolls back: no slot, no backend page kept', async () => {
    const c = await fx.start({
      zswap: false,
      swapfiles: [{ name: 'file0', capacityPages: 4096 }],
      coordinatorArgs: ['--backend-deadline-ms', '10000'],
    });
    const before = (await c.listBackends())[0]!.usedPages;
    const hasty = new VswapClient({ address: fx.cluster.address, deadlineMs: 400, writeRetries: 0 });
    try {
      fx.cluster.pause('file0');
      const late = hasty.swapOut('app', [randomPage(), randomPage()]).then(
        () => 'ok',
        (e: unknown) => (e as VswapClientError).codeName,
      );
      expect(await late).toBe('DEADLINE_EXCEEDED');
      fx.cluster.resume('file0'); // the Put completes now, after the caller gave up
    } finally {
      hasty.close();
    }
    const stats = await until(
      () => c.stats(),
      (s) => s.usedSlots === 0,
    );
    expect(stats.usedSlots).toBe(0);
    const backends = await until(
      () => c.listBackends(),
      (bs) => bs[0]!.usedPages === before,
    );
    expect(backends[0]!.usedPages).toBe(before);
  });

  describe('with a Redis swapfile', () => {
    let redis: RedisServer | undefined;
    afterEach(async () => {
      await redis?.kill();
      redis = undefined;
    });

    it("defect 2: after Redis restarts empty, a SwapOut before the next poll never reuses the lost page's handle; the lost slot reads as lost and its Free deletes nothing else", async () => {
      redis = await RedisServer.start({ persistence: 'off' });
      const c = await fx.start({
        zswap: false,
        swapfiles: [
          { name: 'remote0', store: 'redis', redisUrl: redis.url, priority: 10 },
          { name: 'file0', capacityPages: 4096, priority: 1 },
        ],
        coordinatorArgs: ['--poll-ms', '60000'],
      });
      const lost = await c.swapOut('app', [textPage(1)]);
      expect((await c.inspect('app', lost.slots))[0]!.backend).toBe('remote0');
      await redis.kill();
      await redis.restart(); // no persistence: remote0's pages are gone
      // No Info poll yet: the coordinator still takes remote0 as reconciled.
      const fresh = await c.swapOut('app', [textPage(2)]).catch((e: unknown) => e as VswapClientError);
      const freshSlots = fresh instanceof VswapClientError ? [] : fresh.slots;
      if (fresh instanceof VswapClientError) expect(fresh.codeName).toBe('UNAVAILABLE');
      // The next poll reconciles remote0: the old slot is lost, not silently holding another page.
      await c.listBackends();
      const info = await until(
        () => c.inspect('app', lost.slots),
        (i) => i[0]!.tier === 'TIER_LOST',
      );
      expect(info[0]!.tier).toBe('TIER_LOST');
      const again = await c.swapOut('app', [textPage(3)]);
      await c.free('app', lost.slots);
      for (const [slots, p] of [
        [freshSlots, textPage(2)],
        [again.slots, textPage(3)],
      ] as const) {
        if (slots.length > 0) expect((await c.load('app', [...slots]))[0]!.equals(p)).toBe(true);
      }
    });
  });
});
