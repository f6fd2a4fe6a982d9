import { status as Status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { VswapError } from '../../../services/common/errors';
import { FakeBackend, fakeClusters, page, turns } from '../../support/fake-backend';

/** Issue 10, defect 4: write gates and reconciles must not wait for each other in a cycle. */
describe('write gates', () => {
  const cluster = fakeClusters();

  it('two SwapOuts spilling across two equal-priority swapfiles while both reconcile all finish, and stores work afterwards', async () => {
    const a = new FakeBackend({ kind: 'swapfile', capacityPages: 1 });
    const b = new FakeBackend({ kind: 'swapfile', capacityPages: 1 });
    const fc = await cluster.start([
      { name: 'a', fake: a },
      { name: 'b', fake: b },
    ]);
    const c = fc.coordinator;
    const ba = fc.registry.get('a')!;
    const bb = fc.registry.get('b')!;
    // X tries a then b, Y tries b then a (round-robin); each Put is held at its first backend.
    const putA = a.hold('put');
    const putB = b.hold('put');
    const settled: string[] = [];
    const x = c.swapOut('x', [page('x1'), page('x2')], false).then(
      () => settled.push('x ok'),
      (e: unknown) => settled.push(`x ${(e as VswapError).code}`),
    );
    const y = c.swapOut('y', [page('y1'), page('y2')], false).then(
      () => settled.push('y ok'),
      (e: unknown) => settled.push(`y ${(e as VswapError).code}`),
    );
    await Promise.all([putA.reached, putB.reached]);
    // Reconciles start on both backends while each holds a write.
    let reconciled = 0;
    const ra = fc.admin.reconcile(ba).then(() => reconciled++);
    const rb = fc.admin.reconcile(bb).then(() => reconciled++);
    await turns(5);
    // Each Put stores one page and rejects the other (full): both spill to the other backend.
    putA.release();
    putB.release();
    await turns(50);
    expect(settled).toHaveLength(2);
    expect(reconciled).toBe(2);
    await Promise.all([x, y, ra, rb]);
    // Neither was stored (each needed the backend the other's reconcile held): a retry-later answer, and nothing kept.
    expect(settled.sort()).toEqual([`x ${Status.UNAVAILABLE}`, `y ${Status.UNAVAILABLE}`]);
    expect(fc.table.usedSlots()).toBe(0);
    await turns(5);
    expect(a.entries.size + b.entries.size).toBe(0);
    // The backends are writable again.
    const again = await c.swapOut('z', [page('z1'), page('z2')], false);
    expect(again.tiers).toEqual(['TIER_SWAPFILE', 'TIER_SWAPFILE']);
  });
});
