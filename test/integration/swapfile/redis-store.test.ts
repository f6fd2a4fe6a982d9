import { afterEach, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import Redis from 'ioredis';
import { RedisServer } from '../../support/redis';
import { counter, eventually, expectStatus, randomPages, startSwapfile, type Running } from './helpers';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function redisServer(persistent = false): Promise<RedisServer> {
  const r = await RedisServer.start({ persistence: persistent ? 'always' : 'off' });
  cleanup.push(() => r.stop());
  return r;
}

async function start(redis: RedisServer, extra: string[] = []): Promise<Running> {
  const r = await startSwapfile(['--store', 'redis', '--redis-url', redis.url, '--capacity-pages', '2048', ...extra]);
  cleanup.push(() => r.stop('SIGKILL'));
  return r;
}

describe('swapfile service, redis store', () => {
  it('round-trips a full batch, one key per page, and drops the keys on Delete', async () => {
    const redis = await redisServer();
    const { client } = await start(redis, ['--redis-key-prefix', 'test:sw:']);
    const pages = randomPages(512);
    const put = await client.put(pages);
    expect(put.outcomes).toEqual(new Array(512).fill('PUT_STORED'));
    const got = await client.get(put.handles);
    got.pages.forEach((p, i) => expect(Buffer.compare(p, pages[i]!)).toBe(0));
    const info = await client.info();
    expect(info).toMatchObject({
      kind: 'swapfile',
      store: 'redis',
      capacityPages: 2048,
      usedPages: 512,
      storedBytes: 512 * 4096,
      volatile: true,
      maxBatch: 512,
    });

    const direct = new Redis(redis.url);
    try {
      const h = put.handles[7]!;
      expect(Buffer.compare((await direct.getBuffer(`test:sw:${h}`))!, pages[7]!)).toBe(0);
      expect(await direct.get('test:sw:epoch')).toBe(info.epoch);
      await client.delete([h], 'DELETE_FREED');
      expect(await direct.exists(`test:sw:${h}`)).toBe(0);
      await expectStatus(client.get([h]), status.NOT_FOUND, String(h));
    } finally {
      direct.disconnect();
    }
    // A bad batch changes nothing in Redis either.
    await expectStatus(client.delete([put.handles[0]!, 5000], 'DELETE_FREED'), status.NOT_FOUND, 'handle 5000');
    expect((await client.info()).usedPages).toBe(511);
  });

  it('answers DATA_LOSS, not other bytes, when a page vanished from Redis under a live handle', async () => {
    const redis = await redisServer();
    const { client } = await start(redis, ['--redis-key-prefix', 'lost:']);
    const { handles } = await client.put(randomPages(4));
    const direct = new Redis(redis.url);
    try {
      await direct.del(`lost:${handles[2]}`);
    } finally {
      direct.disconnect();
    }
    await expectStatus(client.get(handles), status.DATA_LOSS, String(handles[2]));
    await client.get(handles.slice(0, 2));
  });

  it('keeps data and epoch across a restart of the service', async () => {
    const redis = await redisServer();
    const first = await start(redis);
    const pages = randomPages(100);
    const { handles } = await first.client.put(pages);
    await first.client.delete(handles.slice(0, 10), 'DELETE_FREED');
    const epoch = (await first.client.info()).epoch;
    await first.stop();

    const second = await start(redis);
    expect(await second.client.info()).toMatchObject({ epoch, usedPages: 90 });
    const got = await second.client.get(handles.slice(10));
    got.pages.forEach((p, i) => expect(Buffer.compare(p, pages[i + 10]!)).toBe(0));
    const rec = await second.client.reconcile(handles.slice(10, 50));
    expect(rec).toMatchObject({ missing: [], deleted: 50, epoch });
    expect((await second.client.info()).usedPages).toBe(40);
  });

  it('reports a new epoch when a Redis without persistence restarts, and Reconcile reports the handles missing', async () => {
    const redis = await redisServer();
    const { client } = await start(redis);
    const { handles } = await client.put(randomPages(64));
    const epoch = (await client.info()).epoch;

    await redis.kill();
    await redis.restart();
    const info = await eventually(() => client.info());
    expect(info.epoch).not.toBe(epoch);
    expect(info.usedPages).toBe(0);
    const err = await client.get(handles.slice(0, 4)).then(
      () => undefined,
      (e: { code: number }) => e.code,
    );
    expect([status.NOT_FOUND, status.DATA_LOSS]).toContain(err);
    const rec = await client.reconcile(handles);
    expect(rec.missing.sort((x, y) => x - y)).toEqual([...handles].sort((x, y) => x - y));
    expect(rec.deleted).toBe(0);
    expect(counter(await client.stats(), 'epoch_changes')).toBe(1);

    // The device works on in the new epoch.
    const pages = randomPages(8);
    const put = await client.put(pages);
    const got = await client.get(put.handles);
    got.pages.forEach((p, i) => expect(Buffer.compare(p, pages[i]!)).toBe(0));
  });

  it('keeps data and epoch through kill -9 of a Redis with persistence', async () => {
    const redis = await redisServer(true);
    const { client } = await start(redis);
    expect((await client.info()).volatile).toBe(false);
    const pages = randomPages(200);
    const { handles } = await client.put(pages);
    const epoch = (await client.info()).epoch;

    await redis.kill();
    await redis.restart();
    const info = await eventually(() => client.info());
    expect(info).toMatchObject({ epoch, usedPages: 200 });
    const got = await eventually(() => client.get(handles));
    got.pages.forEach((p, i) => expect(Buffer.compare(p, pages[i]!)).toBe(0));
  });

  it('answers UNAVAILABLE while Redis is down, and serves again once it is back', async () => {
    const redis = await redisServer(true);
    const { client } = await start(redis);
    const pages = randomPages(4);
    const { handles } = await client.put(pages);
    await redis.stop();
    await expectStatus(client.get(handles), status.UNAVAILABLE, 'redis');
    await redis.restart();
    const got = await eventually(() => client.get(handles));
    got.pages.forEach((p, i) => expect(Buffer.compare(p, pages[i]!)).toBe(0));
  });
});
