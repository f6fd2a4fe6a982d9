/**
 * Defects 2 and 8 (issue 10), swapfile side: Redis coming back from an older
 * AOF (its epoch key still there) or empty is noticed by the write counter the
 * service remembers; the swapfile moves to a new epoch, keeps the pages Redis
 * still holds under their handles, reports exactly the lost ones, and never
 * hands out a handle a lost page had.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { RedisServer } from '../../support/redis';
import { rollBackRedis, snapshotRedis } from '../../support/redis-rollback';
import { counter, eventually, expectStatus, randomPages, startSwapfile, type Running } from './helpers';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function start(redis: RedisServer): Promise<Running> {
  // 64 slots: freed slots are where new pages go.
  const r = await startSwapfile(['--store', 'redis', '--redis-url', redis.url, '--capacity-pages', '64']);
  cleanup.push(() => r.stop('SIGKILL'));
  return r;
}

const sorted = (a: readonly number[]): number[] => [...a].sort((x, y) => x - y);

describe('swapfile on Redis that goes back in time', () => {
  it('Redis restored from an older AOF: new epoch, surviving pages kept, lost ones reported, their handles never given again', async () => {
    const redis = await RedisServer.start({ persistence: 'always' });
    cleanup.push(() => redis.stop());
    const sw = await start(redis);
    const a = randomPages(8);
    const putA = await sw.client.put(a);
    const epoch = putA.epoch;
    const snapshot = snapshotRedis(redis);

    // After the snapshot: two pages of A freed, B stored (partly in their slots).
    await sw.client.delete(putA.handles.slice(0, 2), 'DELETE_FREED', false, epoch);
    const b = randomPages(4);
    const putB = await sw.client.put(b, { epoch });

    await rollBackRedis(redis, snapshot);
    const info = await eventually(() => sw.client.info());
    expect(info.epoch).not.toBe(epoch);
    expect(info.usedPages).toBe(6);
    expect(counter(await sw.client.stats(), 'epoch_changes')).toBe(1);

    // Requests of the old epoch are refused, changing nothing.
    await expectStatus(
      sw.client.get(putA.handles.slice(2), true, epoch),
      status.FAILED_PRECONDITION,
      /reconcile first/,
    );
    await expectStatus(sw.client.delete(putB.handles, 'DELETE_FREED', true, epoch), status.FAILED_PRECONDITION);
    await expectStatus(sw.client.put(randomPages(1), { epoch }), status.FAILED_PRECONDITION);

    // The coordinator names what it holds: A[2..] and B. Exactly B is lost.
    const rec = await sw.client.reconcile([...putA.handles.slice(2), ...putB.handles]);
    expect(sorted(rec.missing)).toEqual(sorted(putB.handles));
    expect(rec).toMatchObject({ deleted: 0, epoch: info.epoch });
    const got = await sw.client.get(putA.handles.slice(2), true, info.epoch);
    got.pages.forEach((p, i) => expect(Buffer.compare(p, a[i + 2]!)).toBe(0));

    // Fill the device: no new handle is one a lost page (B) or a freed page (A[0..1]) had.
    const fill = await sw.client.put(randomPages(58), { epoch: info.epoch });
    expect(fill.handles.filter((h) => h !== 0)).toHaveLength(58);
    for (const h of fill.handles) {
      expect(putB.handles).not.toContain(h);
      expect(putA.handles).not.toContain(h);
    }
    // And the merged state is what Redis holds: a restart of the service sees the same.
    await sw.stop('SIGKILL');
    cleanup.pop();
    const again = await start(redis);
    expect(await again.client.info()).toMatchObject({ epoch: info.epoch, usedPages: 64 });
    expect((await again.client.delete(putB.handles, 'DELETE_FREED', true)).deleted).toBe(0);
  });

  it('Redis restarted empty (no persistence): every page reported lost, no handle of them given again', async () => {
    const redis = await RedisServer.start({ persistence: 'off' });
    cleanup.push(() => redis.stop());
    const sw = await start(redis);
    const putA = await sw.client.put(randomPages(64));
    await redis.kill();
    await redis.restart();
    const info = await eventually(() => sw.client.info());
    expect(info.epoch).not.toBe(putA.epoch);
    expect(info.usedPages).toBe(0);
    const rec = await sw.client.reconcile(putA.handles);
    expect(sorted(rec.missing)).toEqual(sorted(putA.handles));
    const putB = await sw.client.put(randomPages(64), { epoch: info.epoch });
    for (const h of putB.handles) expect(putA.handles).not.toContain(h);
  });
});
