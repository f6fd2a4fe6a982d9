/**
 * Issue 11, encryption at rest: zswap's Redis store compresses, then seals
 * each object (AES-256-GCM; handle, epoch and store authenticated). Redis
 * inspected directly holds none of the plaintext; a changed, moved or
 * wrongly keyed object reads back as DATA_LOSS; keys rotate.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { status } from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisServer } from '../../support/redis';
import { dumpRedis, keysHolding, keyRingFiles, markedPages, PLAINTEXT_MARK } from '../../support/redis-inspect';
import { expectStartFailure } from '../../support/service';
import { counters, expectStatus, startZswap, ZSWAP_ENTRY, type RunningZswap } from './helpers';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const MARK = PLAINTEXT_MARK;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-zswap-keys-'));
const keyFile = keyRingFiles(dir, 'hex');

async function redisServer(): Promise<RedisServer> {
  const r = await RedisServer.start({ persistence: 'off' });
  cleanup.push(() => r.stop());
  return r;
}

async function start(redis: RedisServer, prefix: string, extra: string[] = []): Promise<RunningZswap> {
  const z = await startZswap(['--store', 'redis', '--redis-url', redis.url, '--redis-key-prefix', prefix, ...extra]);
  stopping.set(z, () => z.stop());
  cleanup.push(stopping.get(z)!);
  return z;
}

const stopping = new Map<RunningZswap, () => Promise<void>>();
async function stop(z: RunningZswap): Promise<void> {
  cleanup.splice(cleanup.indexOf(stopping.get(z)!), 1);
  await z.stop();
}

const same = (got: Buffer[], want: Buffer[]): void => {
  expect(got).toHaveLength(want.length);
  got.forEach((p, i) => expect(p.equals(want[i]!), `page ${i}`).toBe(true));
};

describe('zswap Redis store, encrypted', () => {
  it('compresses, then seals: Redis holds none of the plaintext (the keyless control on loopback does)', async () => {
    const redis = await redisServer();
    const sealed = await start(redis, 'zs:', ['--encryption-key-file', keyFile(1)]);
    const plain = await start(redis, 'zp:');
    expect(plain.service.stderr()).toMatch(/stored in Redis unencrypted.*loopback/);
    const pages = markedPages(200, 's');
    const put = await sealed.client.put(pages);
    expect(put.outcomes.every((o) => o === 'PUT_STORED')).toBe(true);
    // Compressed before sealing: each object is far smaller than a page (46 bytes of envelope).
    for (const size of put.storedSizes) expect(size).toBeLessThan(1024);
    same((await sealed.client.get(put.handles, false)).pages, pages);
    // The pool limit counts what Redis holds: each object and its 46-byte envelope.
    const objects = put.storedSizes.reduce((a, b) => a + b, 0);
    expect((await sealed.client.info()).storedBytes).toBe(objects + 200 * 46);
    expect((await sealed.client.stats()).fragmentation).toBeCloseTo((objects + 200 * 46) / objects, 6);
    await plain.client.put(markedPages(2, 'p'));

    const dump = await dumpRedis(redis.url);
    expect(dump.get('zs:objects')).toHaveLength(200);
    expect(keysHolding(dump, MARK)).toEqual(['zp:objects']);
    const r = new Redis(redis.url);
    try {
      const lengths = await r.hgetall('zs:lengths');
      for (const h of put.handles.slice(0, 5)) {
        const len = Number(lengths[String(h)]!.split(':')[0]);
        expect((await r.hgetBuffer('zs:objects', String(h)))!.length).toBe(len + 46);
      }
    } finally {
      r.disconnect();
    }
  });

  it('a flipped byte or an object moved to another handle is DATA_LOSS; the rest still read', async () => {
    const redis = await redisServer();
    const z = await start(redis, 'zf:', ['--encryption-key-file', keyFile(1)]);
    const pages = markedPages(6, 'f');
    const { handles } = await z.client.put(pages);
    const r = new Redis(redis.url);
    try {
      const v = (await r.hgetBuffer('zf:objects', String(handles[1])))!;
      v[40]! ^= 0x04;
      await r.hset('zf:objects', String(handles[1]), v);
      await r.hset('zf:objects', String(handles[3]), (await r.hgetBuffer('zf:objects', String(handles[2])))!);
    } finally {
      r.disconnect();
    }
    await expectStatus(
      z.client.get([handles[1]!]),
      status.DATA_LOSS,
      new RegExp(`handle ${handles[1]}.*fails authentication`),
    );
    // Same length (same page shape), moved: the handle in the AAD refuses it.
    await expectStatus(
      z.client.get([handles[3]!]),
      status.DATA_LOSS,
      new RegExp(`handle ${handles[3]}.*fails authentication`),
    );
    same((await z.client.get([handles[0]!, handles[2]!, handles[4]!, handles[5]!])).pages, [
      pages[0]!,
      pages[2]!,
      pages[4]!,
      pages[5]!,
    ]);
    expect((await counters(z.client)).unseal_fail).toBe(2);
  });

  it('rotation across restarts: [1] then [2, 1] reads both; [2] alone makes exactly the key-1 objects DATA_LOSS', async () => {
    const redis = await redisServer();
    const first = await start(redis, 'zr:', ['--encryption-key-file', keyFile(1)]);
    const old = markedPages(10, 'old');
    const putOld = await first.client.put(old);
    await stop(first);
    const second = await start(redis, 'zr:', ['--encryption-key-file', keyFile(2, 1)]);
    same((await second.client.get(putOld.handles, false)).pages, old);
    const fresh = markedPages(10, 'new');
    const putNew = await second.client.put(fresh);
    await stop(second);
    const third = await start(redis, 'zr:', ['--encryption-key-file', keyFile(2)]);
    // Recovered at start: 20 objects, each with its envelope.
    const sizes = [...putOld.storedSizes, ...putNew.storedSizes].reduce((a, b) => a + b, 0);
    expect((await third.client.info()).storedBytes).toBe(sizes + 20 * 46);
    await expectStatus(third.client.get([putOld.handles[0]!], false), status.DATA_LOSS, /key id 1, which is not in/);
    same((await third.client.get(putNew.handles, false)).pages, fresh);
  });

  it('refuses to start with a bad key, or without one for a Redis not on loopback, naming the option', async () => {
    const res = await expectStartFailure({
      entry: ZSWAP_ENTRY,
      args: ['--listen', '127.0.0.1:0', '--store', 'redis', '--redis-url', 'redis://127.0.0.1:1'],
      env: { VSWAP_ZSWAP_ENCRYPTION_KEY_FILE: path.join(dir, 'absent') },
    });
    expect(res.stderr).toMatch(
      /--encryption-key-file \(VSWAP_ZSWAP_ENCRYPTION_KEY_FILE\): cannot read .*absent: ENOENT/,
    );
    const remote = await expectStartFailure({
      entry: ZSWAP_ENTRY,
      args: ['--listen', '127.0.0.1:0', '--store', 'redis', '--redis-url', 'redis://10.255.255.1:6379'],
    });
    expect(remote.stderr).toMatch(/--encryption-key-file \(VSWAP_ZSWAP_ENCRYPTION_KEY_FILE\): no key to encrypt/);
  });
});
