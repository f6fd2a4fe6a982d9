import { status as Status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { fakeClusters, page } from '../../support/fake-backend';

/**
 * A Put that failed for a transient reason (timeout, lost connection) takes
 * its backend out of service until the next Info poll reconciles it. Until
 * then, a store that finds no other room is told to retry (UNAVAILABLE), not
 * that swap is full (RESOURCE_EXHAUSTED): the SDK retries the first and gives
 * up on the second. Found in CI: faults.test.ts saw RESOURCE_EXHAUSTED after
 * killing the only swapfile, when the SDK's retry came before the poll.
 */
describe('placement while a backend waits for its reconcile', () => {
  const cluster = fakeClusters();

  it('answers UNAVAILABLE, not RESOURCE_EXHAUSTED, and stores again once the poll reconciled it', async () => {
    const fc = await cluster.start({ file0: 'swapfile' });
    const c = fc.coordinator;
    const file0 = fc.fake('file0');
    file0.failNext('put', Status.UNAVAILABLE, 'connection lost');
    await expect(c.swapOut('app', [page('a')], false)).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    // The retry, before any poll: the backend is reachable but not yet reconciled.
    await expect(c.swapOut('app', [page('a')], false)).rejects.toMatchObject({
      code: Status.UNAVAILABLE,
      message: expect.stringMatching(/retry later/),
    });
    expect(fc.table.usedSlots()).toBe(0);
    await fc.registry.pollOnce();
    await fc.admin.reconcile(fc.registry.get('file0')!);
    const stored = await c.swapOut('app', [page('a')], false);
    expect(stored.tiers).toEqual(['TIER_SWAPFILE']);
    expect((await c.load('app', stored.slots, true)).pages).toEqual([page('a')]);
  });

  it('still answers RESOURCE_EXHAUSTED when every backend in service is full', async () => {
    const fc = await cluster.start({ file0: { kind: 'swapfile', capacityPages: 1 } });
    const c = fc.coordinator;
    await c.swapOut('app', [page('a')], false);
    await expect(c.swapOut('app', [page('b')], false)).rejects.toMatchObject({
      code: Status.RESOURCE_EXHAUSTED,
      message: expect.stringMatching(/no tier has room/),
    });
  });
});
