import { status as Status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { FakeBackend, fakeClusters, page } from '../../support/fake-backend';

describe('coordinator over in-process fake backends (the connect seam)', () => {
  const cluster = fakeClusters();

  it('places pages by the tier policy and reads them back through the fakes', async () => {
    const zswap = new FakeBackend({ kind: 'zswap' });
    const file0 = new FakeBackend({ kind: 'swapfile' });
    const fc = await cluster.start([
      { name: 'zswap', fake: zswap },
      { name: 'file0', fake: file0 },
    ]);
    const c = fc.coordinator;
    const pages = [page('a'), page('b'), Buffer.alloc(4096)];
    const { slots, tiers } = await c.swapOut('app', pages, false);
    expect(tiers).toEqual(['TIER_ZSWAP', 'TIER_ZSWAP', 'TIER_ZERO']);
    expect(zswap.entries.size).toBe(2);
    const back = await c.load('app', slots, false);
    back.pages.forEach((p, i) => expect(p.equals(pages[i]!)).toBe(true));
  });

  it('a held Put keeps the SwapOut waiting until released; a failed zswap Put spills to the swapfile', async () => {
    const zswap = new FakeBackend({ kind: 'zswap' });
    const file0 = new FakeBackend({ kind: 'swapfile' });
    const fc = await cluster.start([
      { name: 'zswap', fake: zswap },
      { name: 'file0', fake: file0 },
    ]);
    const c = fc.coordinator;
    const held = zswap.hold('put');
    let done = false;
    const out = c.swapOut('app', [page('x')], false).then((r) => ((done = true), r));
    await held.reached;
    expect(done).toBe(false);
    held.fail(Status.RESOURCE_EXHAUSTED, 'pool full');
    const { slots, tiers } = await out;
    expect(tiers).toEqual(['TIER_SWAPFILE']);
    expect((await c.load('app', slots, true)).pages[0]!.equals(page('x'))).toBe(true);
  });
});
