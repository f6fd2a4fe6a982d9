import { status as Status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { VswapError } from '../../../services/common/errors';
import { FakeBackend, fakeClusters, page } from '../../support/fake-backend';

async function rejection(p: Promise<unknown>): Promise<VswapError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VswapError);
  return err as VswapError;
}

describe('swapoff', () => {
  const cluster = fakeClusters();

  it('defect 5: a swapoff whose caller goes away puts the backend back in service; moved pages stay moved, nothing stays pinned', async () => {
    const a = new FakeBackend({ kind: 'swapfile' });
    const b = new FakeBackend({ kind: 'swapfile' });
    const fc = await cluster.start(
      [
        { name: 'a', priority: 10, fake: a },
        { name: 'b', priority: 1, fake: b },
      ],
      { writebackBatch: 4 },
    );
    const c = fc.coordinator;
    const pages = Array.from({ length: 12 }, (_, i) => page(`p${i}-`));
    const { slots } = await c.swapOut('app', pages, false);
    expect(slots.every((s) => fc.reporting.describe(s).backend === 'a')).toBe(true);
    const abort = new AbortController();
    let reports = 0;
    // The second batch's read is held; the caller goes away meanwhile.
    const held = (async () => {
      const first = a.hold('get', 'before');
      first.release();
      await first.reached;
      return a.hold('get', 'before');
    })();
    const off = fc.admin.swapoff('a', () => ((reports += 1), Promise.resolve()), { signal: abort.signal });
    const second = await held;
    await second.reached;
    abort.abort(new VswapError(Status.CANCELLED, 'the client cancelled the call'));
    second.release();
    const err = await rejection(off);
    expect(err.code).toBe(Status.CANCELLED);
    expect(fc.registry.get('a')!.state).toBe('active');
    const where = slots.map((s) => fc.reporting.describe(s));
    const moved = where.filter((d) => d.backend === 'b').length;
    expect(moved).toBeGreaterThanOrEqual(4);
    expect(moved).toBeLessThan(12);
    expect(where.every((d) => !d.inSwapCache)).toBe(true);
    expect(fc.cache.size).toBe(0);
    // Every page reads back, and new stores go to `a` again (it is back in service at its priority).
    (await c.load('app', slots, false)).pages.forEach((p, i) => expect(p.equals(pages[i]!)).toBe(true));
    expect(fc.reporting.describe((await c.swapOut('app', [page('after')], false)).slots[0]!).backend).toBe('a');
    // A later swapoff finishes the job.
    await fc.admin.swapoff('a', () => Promise.resolve());
    expect(fc.registry.get('a')!.state).toBe('off');
    expect(reports).toBeGreaterThan(0);
  });

  it('defect 8: a Swapon during a drain is not overwritten by the drain ending in off', async () => {
    const a = new FakeBackend({ kind: 'swapfile' });
    const b = new FakeBackend({ kind: 'swapfile' });
    const fc = await cluster.start([
      { name: 'a', priority: 10, fake: a },
      { name: 'b', priority: 1, fake: b },
    ]);
    const c = fc.coordinator;
    const { slots } = await c.swapOut('app', [page('x'), page('y')], false);
    const held = a.hold('get');
    const off = fc.admin.swapoff('a', () => Promise.resolve());
    await held.reached;
    expect(fc.admin.swapon('a', 20)).toMatchObject({ state: 'active', priority: 20 });
    held.release();
    const err = await rejection(off);
    expect(err.code).toBe(Status.ABORTED);
    expect(fc.registry.get('a')).toMatchObject({ state: 'active', priority: 20 });
    (await c.load('app', slots, false)).pages.forEach((p, i) =>
      expect(p.equals([page('x'), page('y')][i]!)).toBe(true),
    );
  });

  it('defect 8: two concurrent swapoffs do not both count the same free room; the refused one changes nothing', async () => {
    const a = new FakeBackend({ kind: 'swapfile', capacityPages: 10 });
    const b = new FakeBackend({ kind: 'swapfile', capacityPages: 10 });
    const spare = new FakeBackend({ kind: 'swapfile', capacityPages: 12 });
    const fc = await cluster.start([
      { name: 'a', priority: 3, fake: a },
      { name: 'b', priority: 2, fake: b },
      { name: 'spare', priority: 1, fake: spare },
    ]);
    const c = fc.coordinator;
    const pages = Array.from({ length: 20 }, (_, i) => page(`q${i}-`));
    const { slots } = await c.swapOut('app', pages, false);
    expect(a.entries.size).toBe(10);
    expect(b.entries.size).toBe(10);
    const results = await Promise.allSettled([
      fc.admin.swapoff('a', () => Promise.resolve()),
      fc.admin.swapoff('b', () => Promise.resolve()),
    ]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect((refused[0]!.reason as VswapError).code).toBe(Status.FAILED_PRECONDITION);
    const states = ['a', 'b'].map((n) => fc.registry.get(n)!.state).sort();
    expect(states).toEqual(['active', 'off']);
    (await c.load('app', slots, false)).pages.forEach((p, i) => expect(p.equals(pages[i]!)).toBe(true));
  });

  it('a second swapoff of a backend already draining is refused and does not end the first', async () => {
    const a = new FakeBackend({ kind: 'swapfile' });
    const b = new FakeBackend({ kind: 'swapfile' });
    const fc = await cluster.start([
      { name: 'a', priority: 10, fake: a },
      { name: 'b', priority: 1, fake: b },
    ]);
    const c = fc.coordinator;
    await c.swapOut('app', [page('x')], false);
    const held = a.hold('get');
    const first = fc.admin.swapoff('a', () => Promise.resolve());
    await held.reached;
    expect((await rejection(fc.admin.swapoff('a', () => Promise.resolve()))).code).toBe(Status.FAILED_PRECONDITION);
    expect(fc.registry.get('a')!.state).toBe('draining');
    held.release();
    expect(await first).toBe(1);
    expect(fc.registry.get('a')!.state).toBe('off');
  });
});
