import { status as Status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { VswapError } from '../../../services/common/errors';
import { fakeClusters, page, turns } from '../../support/fake-backend';

async function code(p: Promise<unknown>): Promise<Status | 'ok'> {
  return p.then(
    () => 'ok' as const,
    (e: unknown) => (e as VswapError).code,
  );
}

/**
 * Orderings of concurrent operations on one slot, each forced by holding a
 * backend call at an exact point and releasing it (no sleeps, no timing).
 */
describe('races on one slot', () => {
  const cluster = fakeClusters();

  it('Store vs Load: a Load while a Store to the slot is in flight gets the new page from the swap cache, with no backend read', async () => {
    const fc = await cluster.start({ file0: 'swapfile' });
    const c = fc.coordinator;
    const file0 = fc.fake('file0');
    const { slots } = await c.swapOut('app', [page('old')], false);
    const put = file0.hold('put', 'before');
    const store = c.store('app', slots, [page('new')]);
    await put.reached;
    const gets = file0.count('get');
    const during = await c.load('app', slots, false);
    expect(during.pages[0]!.equals(page('new'))).toBe(true);
    expect(file0.count('get')).toBe(gets);
    put.release();
    expect(await store).toEqual(['TIER_SWAPFILE']);
    expect((await c.load('app', slots, false)).pages[0]!.equals(page('new'))).toBe(true);
    await turns(5);
    // The old copy was deleted as replaced; only the new one is kept.
    expect([...file0.entries.values()].map((e) => e.page.toString('utf8', 0, 3))).toEqual(['new']);
  });

  it('Free vs writeback: a slot freed while writeback moves it is released, and neither its zswap nor its new swapfile copy is kept', async () => {
    const fc = await cluster.start({ zswap: 'zswap', file0: 'swapfile' });
    const c = fc.coordinator;
    const zswap = fc.fake('zswap');
    const file0 = fc.fake('file0');
    const { slots, tiers } = await c.swapOut('app', [page('gone'), page('kept')], false);
    expect(tiers).toEqual(['TIER_ZSWAP', 'TIER_ZSWAP']);
    // Writeback has read both pages and is placing them on the swapfile.
    const put = file0.hold('put', 'before');
    const wb = fc.admin.writeback(10, '');
    await put.reached;
    expect(await c.free('app', [slots[0]!])).toEqual([0]);
    put.release();
    await wb;
    await turns(10);
    expect(fc.table.usedSlots()).toBe(1);
    expect(fc.reporting.describe(slots[1]!).tier).toBe('TIER_SWAPFILE');
    expect((await c.load('app', [slots[1]!], false)).pages[0]!.equals(page('kept'))).toBe(true);
    expect(zswap.entries.size).toBe(0);
    expect([...file0.entries.values()].map((e) => e.page.toString('utf8', 0, 4))).toEqual(['kept']);
    expect(await code(c.load('app', [slots[0]!], false))).not.toBe('ok');
  });

  it('swapoff vs Store: a Store to a slot being drained wins; the drain does not keep its stale copy and ends with the backend off', async () => {
    const fc = await cluster.start({
      a: { kind: 'swapfile', priority: 10 },
      b: { kind: 'swapfile', priority: 1 },
    });
    const c = fc.coordinator;
    const a = fc.fake('a');
    const b = fc.fake('b');
    const { slots } = await c.swapOut('app', [page('p0'), page('p1')], false);
    expect(slots.map((s) => fc.reporting.describe(s).backend)).toEqual(['a', 'a']);
    // The drain has read both pages from a and is placing them on b.
    const put = b.hold('put', 'before');
    const off = fc.admin.swapoff('a', async () => {});
    await put.reached;
    // a is draining: the Store goes to b.
    expect(await c.store('app', [slots[0]!], [page('new')])).toEqual(['TIER_SWAPFILE']);
    put.release();
    await off;
    await turns(10);
    expect(fc.registry.get('a')!.state).toBe('off');
    const { pages } = await c.load('app', slots, false);
    expect(pages[0]!.equals(page('new'))).toBe(true);
    expect(pages[1]!.equals(page('p1'))).toBe(true);
    expect(a.entries.size).toBe(0);
    // b holds exactly the two live pages: the drain's copy of slot 0 was deleted as replaced.
    const onB = [...b.entries.values()].map((e) => e.page);
    expect(onB).toHaveLength(2);
    expect(onB.some((p) => p.equals(page('new')))).toBe(true);
    expect(onB.some((p) => p.equals(page('p1')))).toBe(true);
  });

  it('reconcile vs Put: a reconcile waits for a Put in flight, so the page it stored is referenced, not deleted as an orphan', async () => {
    const fc = await cluster.start({ file0: 'swapfile' });
    const c = fc.coordinator;
    const file0 = fc.fake('file0');
    const reconciles = file0.count('reconcile');
    // The Put has stored the page; its reply is held.
    const put = file0.hold('put', 'after');
    const out = c.swapOut('app', [page('x')], false);
    await put.reached;
    let reconciled = false;
    const rec = fc.admin.reconcile(fc.registry.get('file0')!).then(() => (reconciled = true));
    await turns(10);
    expect(reconciled).toBe(false);
    expect(file0.count('reconcile')).toBe(reconciles);
    put.release();
    const { slots } = await out;
    await rec;
    expect(file0.count('reconcile')).toBe(reconciles + 1);
    expect(file0.entries.size).toBe(1);
    expect((await c.load('app', slots, false)).pages[0]!.equals(page('x'))).toBe(true);
  });

  it('Put vs reconcile: a SwapOut that starts while a reconcile runs does not wait for it; with no other backend it is UNAVAILABLE and keeps nothing', async () => {
    const fc = await cluster.start({ file0: 'swapfile' });
    const c = fc.coordinator;
    const file0 = fc.fake('file0');
    const held = file0.hold('reconcile', 'before');
    const rec = fc.admin.reconcile(fc.registry.get('file0')!);
    await held.reached;
    const puts = file0.count('put');
    expect(await code(c.swapOut('app', [page('y')], false))).toBe(Status.UNAVAILABLE);
    expect(file0.count('put')).toBe(puts);
    expect(fc.table.usedSlots()).toBe(0);
    held.release();
    await rec;
    const again = await c.swapOut('app', [page('y')], false);
    expect(again.tiers).toEqual(['TIER_SWAPFILE']);
  });
});
