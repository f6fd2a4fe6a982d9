import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RedisServer } from '../../support/redis';
import { counters, expectStatus, memoryLikePages, PAGE, snapshot, startZswap, type RunningZswap } from './helpers';

describe('zswap with the redis store', () => {
  let redis: RedisServer;
  const running: RunningZswap[] = [];
  const start = async (extra: string[] = []): Promise<RunningZswap> => {
    const z = await startZswap([
      '--store',
      'redis',
      '--redis-url',
      redis.url,
      '--redis-key-prefix',
      'test:zswap:',
      ...extra,
    ]);
    running.push(z);
    return z;
  };
  beforeEach(async () => {
    redis = await RedisServer.start();
  });
  afterEach(async () => {
    for (const z of running.splice(0)) await z.stop();
    await redis.stop();
  });

  it('round-trips pages through Redis and accounts the bytes stored there', async () => {
    const z = await start();
    const info0 = await z.client.info();
    expect(info0).toMatchObject({ kind: 'zswap', store: 'redis', usedPages: 0, storedBytes: 0 });
    expect(info0.volatile).toBe(true); // this test Redis keeps nothing on disk
    const pages = [...memoryLikePages(300), randomBytes(PAGE)];
    const put = await z.client.put(pages);
    expect(put.outcomes.slice(0, 300).every((o) => o === 'PUT_STORED')).toBe(true);
    expect(put.outcomes[300]).toBe('PUT_REJECT_COMPRESS_POOR');
    const handles = put.handles.slice(0, 300);
    const got = await z.client.get(handles);
    got.pages.forEach((p, i) => expect(p.equals(pages[i]!)).toBe(true));
    const sum = put.storedSizes.reduce((a, b) => a + b, 0);
    const info = await z.client.info();
    expect(info.usedPages).toBe(300);
    expect(info.storedBytes).toBe(sum);
    expect((await counters(z.client)).pool_total_size).toBe(sum);
    expect((await z.client.stats()).fragmentation).toBe(1);
    // The bytes really are in Redis, under the prefix.
    const r = new Redis(redis.url);
    try {
      expect(await r.hlen('test:zswap:objects')).toBe(300);
    } finally {
      r.disconnect();
    }
    const cold = await z.client.coldest(2);
    expect(cold.entries.map((e) => e.handle)).toEqual(handles.slice(0, 2));
    const del = await z.client.delete(handles.slice(0, 100), 'DELETE_WRITTEN_BACK');
    expect(del.deleted).toBe(100);
    const c = await counters(z.client);
    expect(c.written_back_pages).toBe(100);
    expect(c.stored_pages).toBe(200);
    const before = await snapshot(z.client);
    await expectStatus(z.client.get([handles[0]!]), status.NOT_FOUND, new RegExp(`handle ${handles[0]}`));
    await expectStatus(
      z.client.delete([handles[150]!, handles[0]!], 'DELETE_FREED'),
      status.NOT_FOUND,
      new RegExp(`handle ${handles[0]}`),
    );
    expect(await snapshot(z.client)).toEqual(before);
  });

  it('survives a restart of the service: same epoch, same handles, same bytes', async () => {
    let z = await start();
    const pages = memoryLikePages(64, 4);
    const { handles } = await z.client.put(pages);
    const info = await z.client.info();
    await z.stop();
    running.pop();
    z = await start();
    const after = await z.client.info();
    expect(after.epoch).toBe(info.epoch);
    expect(after.usedPages).toBe(64);
    expect(after.storedBytes).toBe(info.storedBytes);
    const got = await z.client.get(handles);
    got.pages.forEach((p, i) => expect(p.equals(pages[i]!)).toBe(true));
    // Reconcile against the new process: nothing missing, unnamed ones deleted.
    const res = await z.client.reconcile(handles.slice(0, 60));
    expect(res).toMatchObject({ missing: [], deleted: 4, epoch: info.epoch });
    // New handles do not collide with the kept ones.
    const more = await z.client.put(memoryLikePages(8, 70));
    expect(more.handles.filter((h) => handles.includes(h))).toEqual([]);
  });

  it('notices when Redis lost its data: a new epoch, every handle missing', async () => {
    const z = await start();
    const { handles } = await z.client.put(memoryLikePages(32, 8));
    const epoch = (await z.client.info()).epoch;
    await redis.kill();
    // While Redis is down calls fail clearly instead of hanging.
    await expectStatus(z.client.get([handles[0]!]), status.UNAVAILABLE, /redis/);
    await redis.restart(); // no persistence: empty
    // The service reconnects by itself; wait for it to answer again.
    let info;
    for (let i = 0; i < 100; i++) {
      info = await z.client.info().catch(() => undefined);
      if (info) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(info).toBeDefined();
    expect(info!.epoch).not.toBe(epoch);
    expect(info!.usedPages).toBe(0);
    expect(info!.storedBytes).toBe(0);
    const res = await z.client.reconcile(handles);
    expect(res.missing.sort()).toEqual([...handles].sort());
    await expectStatus(z.client.get([handles[0]!]), status.NOT_FOUND);
    const again = await z.client.put(memoryLikePages(4, 9));
    expect(again.outcomes.every((o) => o === 'PUT_STORED')).toBe(true);
  });

  it('enforces the pool limit on the bytes stored in Redis', async () => {
    const z = await start(['--pool-bytes', '64K', '--accept-threshold-percent', '50']);
    const page = (): Buffer => Buffer.concat([randomBytes(1000), Buffer.alloc(PAGE - 1000)]);
    const put = await z.client.put(Array.from({ length: 100 }, page));
    const stored = put.handles.filter((h) => h > 0);
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.length).toBeLessThan(100);
    const info = await z.client.info();
    expect(info.overThreshold).toBe(true);
    expect(info.storedBytes).toBeLessThanOrEqual(64 * 1024);
    await expectStatus(z.client.put([page()]), status.RESOURCE_EXHAUSTED, /pool limit/);
    await z.client.delete(stored.slice(0, Math.ceil(stored.length / 2) + 1), 'DELETE_FREED');
    expect((await z.client.info()).overThreshold).toBe(false);
    expect((await z.client.put([page()])).outcomes).toEqual(['PUT_STORED']);
  });
});
