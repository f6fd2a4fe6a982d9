/**
 * zswap epochs (issue 10, defects 2 and 8) and tags (issue 9).
 * - A zswap restart between two coordinator polls cannot be mistaken for the
 *   old one: every Put/Get/Delete naming the old epoch is FAILED_PRECONDITION,
 *   whatever handles the new process gives out.
 * - Redis back from an older AOF (epoch key kept) is noticed by the write
 *   counter: new epoch, surviving entries kept, lost ones reported, their
 *   handles never given again.
 * - Put carries one tag per page; Coldest returns it; it survives a restart
 *   of the service over Redis.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { freePort } from '../../../clients/cluster/free-port';
import { RedisServer } from '../../support/redis';
import { rollBackRedis, snapshotRedis } from '../../support/redis-rollback';
import { expectStatus, memoryLikePages, startZswap, type RunningZswap } from './helpers';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function start(args: string[]): Promise<RunningZswap> {
  const z = await startZswap(args);
  cleanup.push(() => z.stop());
  return z;
}

async function eventually<T>(fn: () => Promise<T>): Promise<T> {
  let last: unknown;
  for (let i = 0; i < 100; i++) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw last;
}

const sorted = (a: readonly number[]): number[] => [...a].sort((x, y) => x - y);

describe('zswap epochs', () => {
  it('a restart on the same address between two polls: requests naming the old epoch are refused, nothing changes', async () => {
    const port = await freePort();
    const listen = ['--listen', `127.0.0.1:${port}`];
    const first = await start(listen);
    const put = await first.client.put(memoryLikePages(16, 1));
    const old = put.epoch;
    expect(old).toBe((await first.client.info()).epoch);
    await first.stop();
    cleanup.pop();

    const second = await start(listen);
    const fresh = await second.client.put(memoryLikePages(16, 2));
    expect(fresh.epoch).not.toBe(old);
    // The coordinator has not polled yet: it still speaks the old epoch.
    await expectStatus(
      second.client.put(memoryLikePages(1, 3), { epoch: old }),
      status.FAILED_PRECONDITION,
      /reconcile first/,
    );
    await expectStatus(
      second.client.get(put.handles.slice(0, 1), true, old),
      status.FAILED_PRECONDITION,
      new RegExp(old),
    );
    await expectStatus(second.client.delete(fresh.handles, 'DELETE_FREED', true, old), status.FAILED_PRECONDITION);
    expect((await second.client.info()).usedPages).toBe(16);
    const got = await second.client.get(fresh.handles, true, fresh.epoch);
    got.pages.forEach((p, i) => expect(p.equals(memoryLikePages(16, 2)[i]!)).toBe(true));
  });

  it('Redis restored from an older AOF: new epoch, surviving entries kept, lost ones reported and never handed out again', async () => {
    const redis = await RedisServer.start({ persistence: 'always' });
    cleanup.push(() => redis.stop());
    const z = await start(['--store', 'redis', '--redis-url', redis.url]);
    const a = memoryLikePages(8, 10);
    const putA = await z.client.put(a);
    const epoch = putA.epoch;
    const snapshot = snapshotRedis(redis);
    await z.client.delete(putA.handles.slice(0, 2), 'DELETE_FREED', false, epoch);
    const putB = await z.client.put(memoryLikePages(4, 20), { epoch });

    await rollBackRedis(redis, snapshot);
    const info = await eventually(async () => {
      const i = await z.client.info();
      if (i.epoch === epoch) throw new Error('not noticed yet');
      return i;
    });
    expect(info.usedPages).toBe(6);
    await expectStatus(z.client.get(putA.handles.slice(2), true, epoch), status.FAILED_PRECONDITION);
    const rec = await z.client.reconcile([...putA.handles.slice(2), ...putB.handles]);
    expect(sorted(rec.missing)).toEqual(sorted(putB.handles));
    expect(rec).toMatchObject({ deleted: 0, epoch: info.epoch });
    const got = await z.client.get(putA.handles.slice(2), true, info.epoch);
    got.pages.forEach((p, i) => expect(p.equals(a[i + 2]!)).toBe(true));
    const more = await z.client.put(memoryLikePages(64, 30), { epoch: info.epoch });
    for (const h of more.handles) {
      expect(putB.handles).not.toContain(h);
      expect(putA.handles).not.toContain(h);
    }
  });
});

describe('zswap tags', () => {
  it('keeps one tag per page and returns it with Coldest; a bad tag count is refused, storing nothing', async () => {
    const z = await start([]);
    const put = await z.client.put(memoryLikePages(4, 40), { tags: [101, 2 ** 40 - 1, 0, 7] });
    const cold = await z.client.coldest(4);
    expect(cold.entries.map((e) => [e.handle, e.tag])).toEqual(
      put.handles.map((h, i) => [h, [101, 2 ** 40 - 1, 0, 7][i]]),
    );
    await expectStatus(
      z.client.put(memoryLikePages(2, 50), { tags: [1] }),
      status.INVALID_ARGUMENT,
      /1 tags for 2 pages/,
    );
    expect((await z.client.info()).usedPages).toBe(4);
  });

  it('tags survive a restart of the service over Redis', async () => {
    const redis = await RedisServer.start({ persistence: 'off' });
    cleanup.push(() => redis.stop());
    const args = ['--store', 'redis', '--redis-url', redis.url];
    const first = await start(args);
    const put = await first.client.put(memoryLikePages(3, 60), { tags: [5, 6, 7] });
    await first.stop();
    cleanup.pop();
    const second = await start(args);
    const cold = await second.client.coldest(3);
    expect(new Map(cold.entries.map((e) => [e.handle, e.tag]))).toEqual(
      new Map(put.handles.map((h, i) => [h, [5, 6, 7][i]])),
    );
  });
});
