/**
 * Issue 10, defect 1, end to end through the coordinator's delete queue
 * (real processes): a Free while the swapfile is down queues the backend
 * Delete; the swapfile comes back, reconcile removes the orphans, a new
 * SwapOut is given the same physical slots, and only then does the queued
 * Delete go out. It names the old pages' handles (older generations), so it
 * must remove nothing: every page of the new SwapOut reads back.
 * (The swapfile-level half of the defect is test/integration/swapfile/stale-handles.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { BackendClient } from '../../../services/common/backend-client';
import { clusterPerTest, counter, until } from './helpers';
import { textPage } from './pages';

const PAGES = 32;

describe('a Delete queued while the swapfile was down', () => {
  const fx = clusterPerTest();

  it('never removes the page a later SwapOut stored in the same physical slot', async () => {
    const c = await fx.start(
      {
        zswap: false,
        // Exactly as many physical slots as pages: the new SwapOut can only reuse the freed ones.
        swapfiles: [{ name: 'file0', capacityPages: PAGES }],
        // Polls often, and keeps a failed Delete queued for long: the retry comes after the new SwapOut.
        coordinatorArgs: ['--poll-ms', '50', '--delete-retry-ms', '6000'],
      },
      20_000,
    );
    const cluster = fx.cluster;
    const a = Array.from({ length: PAGES }, (_, i) => textPage(1000 + i));
    const first = await c.swapOut('app', a);
    expect(new Set(first.tiers)).toEqual(new Set(['TIER_SWAPFILE']));

    await cluster.kill('file0');
    const retries = async (): Promise<number> => counter((await c.stats()).counters, 'backend_delete_retries');
    const before = await retries();
    expect(await c.free('app', first.slots)).toEqual(first.slots.map(() => 0));
    // The Delete failed (file0 is down) and waits in the queue.
    expect(await until(retries, (n) => n > before, 10_000)).toBeGreaterThan(before);

    await cluster.startAgain('file0');
    const file0 = new BackendClient(cluster.nodes.get('file0')!.address);
    try {
      // Reconciled (the orphans of the freed slots are gone) and in service again.
      await until(
        async () => (await file0.info()).usedPages,
        (n) => n === 0,
        10_000,
      );
      const b = Array.from({ length: PAGES }, (_, i) => textPage(2000 + i));
      const second = await until(
        () => c.swapOut('app', b).catch(() => undefined),
        (r) => r !== undefined,
        10_000,
      );
      expect(second).toBeDefined();
      expect(new Set(second!.tiers)).toEqual(new Set(['TIER_SWAPFILE']));
      const staleBefore = counter((await file0.stats()).counters, 'stale_handles');

      // The queued Delete goes out now: every handle it names is stale, and it deletes nothing.
      const stale = await until(
        async () => counter((await file0.stats()).counters, 'stale_handles'),
        (n) => n >= staleBefore + PAGES,
        20_000,
      );
      expect(stale).toBeGreaterThanOrEqual(staleBefore + PAGES);
      expect((await file0.info()).usedPages).toBe(PAGES);
      const back = await c.load('app', second!.slots);
      back.forEach((p, i) => expect(p.equals(b[i]!)).toBe(true));
    } finally {
      file0.close();
    }
  });
});
