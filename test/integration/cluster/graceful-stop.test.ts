/**
 * A graceful stop of the whole cluster keeps what a durable tier can hold:
 * with --stop-writeback-ms the coordinator, on SIGTERM, writes zswap's pages
 * back to the swapfile before it exits, so zswap (a volatile pool) restarting
 * empty loses nothing. kill -9 gives it no such chance: zswap's pages then
 * read as DATA_LOSS, as before.
 */
import { status as Status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { clusterPerTest, expectCode } from '../coordinator/helpers';
import { mixedPages } from '../coordinator/pages';

describe('graceful stop of the cluster', () => {
  const fx = clusterPerTest();

  async function fillThenStop(signal: NodeJS.Signals) {
    const c = await fx.start({
      coordinatorArgs: ['--stop-writeback-ms', '30000'],
      swapfiles: [{ name: 'swapfile', fsync: 'always' }],
    });
    const pages = mixedPages(600);
    const slots: number[] = [];
    for (let i = 0; i < pages.length; i += 200)
      slots.push(...(await c.swapOut('stop-test', pages.slice(i, i + 200))).slots);
    const before = await c.inspect('stop-test', slots);
    const inZswap = before.filter((s) => s.tier === 'TIER_ZSWAP').length;
    expect(inZswap).toBeGreaterThan(100);
    // As `docker compose stop` does: the coordinator first, then the backends; then all start again.
    await fx.cluster.kill('coordinator', signal);
    await fx.cluster.kill('zswap', 'SIGTERM');
    await fx.cluster.kill('swapfile', 'SIGTERM');
    await fx.cluster.startAgain('swapfile');
    await fx.cluster.startAgain('zswap');
    await fx.cluster.startAgain('coordinator');
    return { c, pages, slots, before, inZswap };
  }

  it(
    'on SIGTERM writes zswap back first: after a restart of everything every page reads back',
    { timeout: 60_000 },
    async () => {
      const { c, pages, slots, before } = await fillThenStop('SIGTERM');
      const after = await c.inspect('stop-test', slots);
      expect(after.filter((s) => s.tier === 'TIER_LOST')).toEqual([]);
      expect(after.filter((s) => s.tier === 'TIER_ZSWAP')).toEqual([]);
      // Zero pages stay metadata; everything that was in zswap is now on the swapfile.
      expect(after.filter((s) => s.tier === 'TIER_SWAPFILE').length).toBe(
        before.filter((s) => s.tier === 'TIER_ZSWAP' || s.tier === 'TIER_SWAPFILE').length,
      );
      const back = await c.load('stop-test', slots);
      back.forEach((p, i) => expect(p.equals(pages[i]!), `slot ${slots[i]}`).toBe(true));
    },
  );

  it(
    "after kill -9 of the coordinator, zswap's pages read as DATA_LOSS once zswap restarts; the rest reads back",
    { timeout: 60_000 },
    async () => {
      const { c, pages, slots, before, inZswap } = await fillThenStop('SIGKILL');
      const after = await c.inspect('stop-test', slots);
      expect(after.filter((s) => s.tier === 'TIER_LOST').length).toBe(inZswap);
      for (let i = 0; i < slots.length; i++) {
        if (before[i]!.tier === 'TIER_ZSWAP') await expectCode(c.load('stop-test', [slots[i]!]), Status.DATA_LOSS);
        else expect((await c.load('stop-test', [slots[i]!]))[0]!.equals(pages[i]!), `slot ${slots[i]}`).toBe(true);
      }
    },
  );
});
