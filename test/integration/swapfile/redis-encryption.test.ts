/**
 * Issue 11, encryption at rest: the swapfile's Redis store seals every page
 * (AES-256-GCM, the handle, epoch and store authenticated with it). Redis
 * inspected directly holds none of the plaintext; a changed, moved or wrongly
 * keyed value reads back as DATA_LOSS, never as other bytes; keys rotate.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { RedisServer } from '../../support/redis';
import {
  dumpRedis,
  flipByte,
  keysHolding,
  keyRingFiles,
  markedPages,
  PLAINTEXT_MARK,
} from '../../support/redis-inspect';
import { rollBackRedis, snapshotRedis } from '../../support/redis-rollback';
import { expectStartFailure } from '../../support/service';
import { counter, ENTRY, eventually, expectStatus, startSwapfile, tempDir, type Running } from './helpers';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const MARK = PLAINTEXT_MARK;
const dir = tempDir();
const keyFile = keyRingFiles(dir, 'base64');

async function redisServer(): Promise<RedisServer> {
  const r = await RedisServer.start({ persistence: 'off' });
  cleanup.push(() => r.stop());
  return r;
}

async function start(redis: RedisServer, prefix: string, extra: string[] = []): Promise<Running> {
  const r = await startSwapfile([
    '--store',
    'redis',
    '--redis-url',
    redis.url,
    '--redis-key-prefix',
    prefix,
    '--capacity-pages',
    '1024',
    ...extra,
  ]);
  cleanup.push(() => r.stop('SIGKILL'));
  return r;
}

const same = (got: Buffer[], want: Buffer[]): void => {
  expect(got).toHaveLength(want.length);
  got.forEach((p, i) => expect(p.equals(want[i]!), `page ${i}`).toBe(true));
};

describe('swapfile Redis store, encrypted', () => {
  it('after a workload, no key in Redis holds any plaintext (a service without a key, on loopback, shows it: the control)', async () => {
    const redis = await redisServer();
    const sealed = await start(redis, 'sealed:', ['--encryption-key-file', keyFile(1)]);
    const plain = await start(redis, 'plain:');
    expect(plain.service.stderr()).toMatch(/pages are stored in Redis unencrypted.*loopback/);
    expect(sealed.service.stderr()).not.toMatch(/unencrypted/);

    const pages = markedPages(300, 's');
    const put = await sealed.client.put(pages);
    await sealed.client.delete(put.handles.slice(0, 50), 'DELETE_FREED');
    const again = markedPages(100, 't');
    const put2 = await sealed.client.put(again);
    same((await sealed.client.get(put.handles.slice(50))).pages, pages.slice(50));
    same((await sealed.client.get(put2.handles)).pages, again);
    await plain.client.put(markedPages(3, 'p'));

    const dump = await dumpRedis(redis.url);
    const sealedKeys = [...dump.keys()].filter((k) => k.startsWith('sealed:'));
    expect(sealedKeys.length).toBeGreaterThanOrEqual(350); // 350 pages + epoch, seq, slots
    expect(keysHolding(dump, MARK).sort()).toEqual(
      [...dump.keys()].filter((k) => k.startsWith('plain:') && /:\d+$/.test(k)).sort(),
    );
    expect(keysHolding(dump, MARK)).toHaveLength(3);
    // Each sealed page: 4096 bytes + 46 (version, key id, epoch, nonce, tag).
    const pageKeys = sealedKeys.filter((k) => /^sealed:\d+$/.test(k));
    expect(pageKeys).toHaveLength(350);
    for (const k of pageKeys) expect(dump.get(k)![0]!.length).toBe(4096 + 46);
  });

  it('a flipped ciphertext byte, or a value moved to another handle, reads as DATA_LOSS; the other pages still read', async () => {
    const redis = await redisServer();
    const { client } = await start(redis, 'p:', ['--encryption-key-file', keyFile(1)]);
    const pages = markedPages(8, 'f');
    const { handles } = await client.put(pages);
    const key = (h: number): string => `p:${h}`; // first-generation handles: the key is the handle

    await flipByte(redis.url, key(handles[1]!), 2000);
    await expectStatus(
      client.get([handles[1]!]),
      status.DATA_LOSS,
      new RegExp(`handle ${handles[1]}.*fails authentication`),
    );
    await flipByte(redis.url, key(handles[2]!), -1); // the tag
    await expectStatus(client.get([handles[2]!]), status.DATA_LOSS, /fails authentication/);
    await flipByte(redis.url, key(handles[3]!), 1); // the key id
    await expectStatus(
      client.get([handles[3]!]),
      status.DATA_LOSS,
      /key id 17, which is not in this service's key ring/,
    );

    const r = new Redis(redis.url);
    try {
      await r.set(key(handles[5]!), (await r.getBuffer(key(handles[4]!)))!);
    } finally {
      r.disconnect();
    }
    await expectStatus(
      client.get([handles[5]!]),
      status.DATA_LOSS,
      new RegExp(`handle ${handles[5]}.*fails authentication`),
    );
    // A batch with one bad page fails whole; the untouched pages read alone.
    await expectStatus(client.get([handles[0]!, handles[5]!]), status.DATA_LOSS);
    same((await client.get([handles[0]!, handles[4]!, handles[6]!, handles[7]!])).pages, [
      pages[0]!,
      pages[4]!,
      pages[6]!,
      pages[7]!,
    ]);
    // Each refused read counted once: 4 single Gets and the batch.
    expect(counter(await client.stats(), 'unseal_fail')).toBe(5);
  });

  it('rotation: pages sealed under key 1 read after a restart with [2, 1], new ones are sealed under 2; without key 1 exactly its pages are DATA_LOSS', async () => {
    const redis = await redisServer();
    const first = await start(redis, 'rot:', ['--encryption-key-file', keyFile(1)]);
    const old = markedPages(20, 'old');
    const putOld = await first.client.put(old);
    await first.stop();
    cleanup.pop();

    const second = await start(redis, 'rot:', ['--encryption-key-file', keyFile(2, 1)]);
    same((await second.client.get(putOld.handles)).pages, old);
    const fresh = markedPages(20, 'new');
    const putNew = await second.client.put(fresh);
    const r = new Redis(redis.url);
    try {
      for (const h of putOld.handles) expect((await r.getBuffer(`rot:${h}`))![1]).toBe(1);
      for (const h of putNew.handles) expect((await r.getBuffer(`rot:${h}`))![1]).toBe(2);
    } finally {
      r.disconnect();
    }
    await second.stop();
    cleanup.pop();

    // Key 1 dropped too early: its pages are DATA_LOSS, one by one; key 2's read.
    const third = await start(redis, 'rot:', ['--encryption-key-file', keyFile(2)]);
    for (const h of putOld.handles.slice(0, 3))
      await expectStatus(third.client.get([h]), status.DATA_LOSS, /key id 1, which is not in this service's key ring/);
    same((await third.client.get(putNew.handles)).pages, fresh);
    // A wrong key under the right id does not open either.
    await third.stop();
    cleanup.pop();
    const wrongKey = path.join(dir, 'wrong-2.key');
    fs.writeFileSync(wrongKey, `2:${crypto.randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    const fourth = await start(redis, 'rot:', ['--encryption-key-file', wrongKey]);
    await expectStatus(
      fourth.client.get([putNew.handles[0]!]),
      status.DATA_LOSS,
      /fails authentication under key id 2/,
    );
  });

  it('pages that survive a Redis rollback still read in the new epoch (they keep the epoch they were written in)', async () => {
    const redis = await RedisServer.start({ persistence: 'always' });
    cleanup.push(() => redis.stop());
    const { client } = await start(redis, 'rb:', ['--encryption-key-file', keyFile(1)]);
    const a = markedPages(6, 'a');
    const putA = await client.put(a);
    const snapshot = snapshotRedis(redis);
    await client.put(markedPages(2, 'b'), { epoch: putA.epoch });
    await rollBackRedis(redis, snapshot);
    const info = await eventually(() => client.info());
    expect(info.epoch).not.toBe(putA.epoch);
    same((await client.get(putA.handles, true, info.epoch)).pages, a);
    const c = markedPages(3, 'c');
    const putC = await client.put(c, { epoch: info.epoch });
    same((await client.get(putC.handles, true, info.epoch)).pages, c);
  });

  it('with and without a key: neither hands out the other kind of value as a page', async () => {
    const redis = await redisServer();
    const plain = await start(redis, 'mix:');
    const { handles } = await plain.client.put(markedPages(2, 'm'));
    await plain.stop();
    cleanup.pop();
    const sealed = await start(redis, 'mix:', ['--encryption-key-file', keyFile(1)]);
    await expectStatus(sealed.client.get([handles[0]!]), status.DATA_LOSS, /4096-byte value is not a sealed page/);
    const put = await sealed.client.put(markedPages(1, 'n'));
    await sealed.stop();
    cleanup.pop();
    const again = await start(redis, 'mix:');
    await expectStatus(
      again.client.get(put.handles),
      status.DATA_LOSS,
      /sealed \(encrypted\).*no --encryption-key-file/,
    );
  });

  it('refuses to start with a bad key file, or without a key for a Redis that is not on loopback, naming the option', async () => {
    const bad = path.join(dir, 'short.key');
    fs.writeFileSync(bad, `1:${crypto.randomBytes(16).toString('hex')}\n`);
    const base = ['--listen', '127.0.0.1:0', '--store', 'redis', '--redis-url', 'redis://127.0.0.1:1'];
    const cases: [string[], RegExp][] = [
      [
        ['--encryption-key-file', bad],
        /--encryption-key-file \(VSWAP_SWAPFILE_ENCRYPTION_KEY_FILE\): .*short\.key: entry 1 \(key id 1\): the key is 16 bytes, an AES-256 key is 32 bytes/,
      ],
      [
        ['--encryption-key-file', path.join(dir, 'absent.key')],
        /--encryption-key-file \(VSWAP_SWAPFILE_ENCRYPTION_KEY_FILE\): cannot read .*absent\.key: ENOENT/,
      ],
      [
        ['--encryption-key-file', dir],
        /--encryption-key-file \(VSWAP_SWAPFILE_ENCRYPTION_KEY_FILE\): cannot read .*: EISDIR/,
      ],
    ];
    for (const [args, message] of cases) {
      const res = await expectStartFailure({ entry: ENTRY, args: [...base, ...args] });
      expect(res.code).not.toBe(0);
      expect(res.stderr).toMatch(message);
    }
    const remote = await expectStartFailure({
      entry: ENTRY,
      args: ['--listen', '127.0.0.1:0', '--store', 'redis', '--redis-url', 'redis://redis.invalid:6379'],
    });
    expect(remote.stderr).toMatch(
      /--encryption-key-file .*no key to encrypt .*redis\.invalid.*--allow-plaintext-redis/,
    );
    const envKey = await expectStartFailure({
      entry: ENTRY,
      args: base,
      env: { VSWAP_SWAPFILE_ENCRYPTION_KEYS: '1:abc' },
    });
    expect(envKey.stderr).toMatch(/--encryption-keys \(VSWAP_SWAPFILE_ENCRYPTION_KEYS\): entry 1/);
  });
});
