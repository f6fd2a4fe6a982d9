import { describe, expect, it } from 'vitest';
import { FakeBackend, fakeClusters, page } from '../../support/fake-backend';

/** Issue 10, defect 3: a Load joins a backend read in flight only while the slot still has that backing. */
describe('shared backend reads', () => {
  const cluster = fakeClusters();

  it('a Load that starts after an acknowledged Store returns the new page, not the old read in flight', async () => {
    const file0 = new FakeBackend({ kind: 'swapfile' });
    const file1 = new FakeBackend({ kind: 'swapfile' });
    const fc = await cluster.start([
      { name: 'file0', fake: file0 },
      { name: 'file1', fake: file1 },
    ]);
    const c = fc.coordinator;
    const { slots } = await c.swapOut('app', [page('old')], false);
    const slot = slots[0]!;
    // Load A reads the old page from the backend and is held before its reply.
    const fromBackend = (fc.reporting.describe(slot).backend === 'file0' ? file0 : file1).hold('get', 'after');
    const loadA = c.load('app', [slot], false);
    await fromBackend.reached;
    // A Store is acknowledged meanwhile...
    await c.store('app', [slot], [page('new')]);
    // ...so a Load that starts now must see it, even with A's read still in flight.
    const loadB = c.load('app', [slot], false);
    let bPage: Buffer | undefined;
    void loadB.then((r) => (bPage = r.pages[0]));
    // B must not wait for A's read: it finishes with A still held.
    for (let i = 0; i < 20 && !bPage; i++) await new Promise((r) => setImmediate(r));
    fromBackend.release();
    const [a, b] = await Promise.all([loadA, loadB]);
    expect(b.pages[0]!.toString('utf8', 0, 3)).toBe('new');
    expect(bPage?.equals(page('new'))).toBe(true);
    // A overlapped the Store: either value is right for it.
    expect(['old', 'new']).toContain(a.pages[0]!.toString('utf8', 0, 3));
  });

  it('Loads of a slot whose backing did not change still share one backend read', async () => {
    const file0 = new FakeBackend({ kind: 'swapfile' });
    const fc = await cluster.start([{ name: 'file0', fake: file0 }]);
    const c = fc.coordinator;
    const { slots } = await c.swapOut('app', [page('same')], false);
    const gets = file0.count('get');
    const held = file0.hold('get', 'before');
    const a = c.load('app', slots, false);
    await held.reached;
    const b = c.load('app', slots, false);
    held.release();
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.pages[0]!.equals(page('same'))).toBe(true);
    expect(rb.pages[0]!.equals(page('same'))).toBe(true);
    expect(file0.count('get') - gets).toBe(1);
  });
});
