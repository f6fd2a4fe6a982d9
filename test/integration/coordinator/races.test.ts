/**
 * Real-process counterparts of the coordinator race tests in
 * test/unit/coordinator (issue 10): the same orderings, forced with SIGSTOP
 * on real backend processes instead of held fake calls.
 */
import { describe, expect, it } from 'vitest';
import { clusterPerTest } from './helpers';
import { textPage } from './pages';

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
    const c = await fx.start({ zswap: { poolBytes: '32M' }, swapfiles: [{ name: 'file0', capacityPages: 4096 }], coordinatorArgs: ['--backend-deadline-ms', '60000'] });
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
});
