/**
 * Issue 11, encryption at rest, through the whole cluster as `npm start`
 * wires it: with the cluster's credentials the Redis-backed swapfile seals
 * pages with .vswap/redis.key. An attacker reading Redis sees no page; one
 * flipping a byte makes that slot's Load DATA_LOSS, never other bytes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../../clients/cluster/local-cluster';
import { ensureCredentials } from '../../../clients/credentials/credentials';
import { RedisServer } from '../../support/redis';
import { dumpRedis, flipByte, keysHolding } from '../../support/redis-inspect';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const MARK = 'VSWAP-PLAINTEXT';

describe('cluster with credentials: the Redis tier at rest', () => {
  it('holds no plaintext page in Redis, and a flipped byte is DATA_LOSS for that slot only', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-at-rest-'));
    const redis = await RedisServer.start({ persistence: 'off' });
    cleanup.push(() => redis.stop());
    const creds = await ensureCredentials({ dir: path.join(dir, '.vswap') });
    const cluster = await LocalCluster.start({
      dataDir: path.join(dir, 'data'),
      credentials: creds.paths,
      zswap: false,
      swapfiles: [{ name: 'remote', store: 'redis', redisUrl: redis.url, capacityPages: 4096 }],
    });
    cleanup.push(() => cluster.stop());
    const client = cluster.client();
    cleanup.push(() => Promise.resolve(client.close()));

    const pages = Array.from({ length: 64 }, (_, i) => Buffer.alloc(4096, `${MARK} tenant-a page ${i} `));
    const { slots } = await client.swapOut('tenant-a', pages);
    const back = await client.load('tenant-a', slots);
    back.forEach((p, i) => expect(p.equals(pages[i]!), `page ${i}`).toBe(true));

    const dump = await dumpRedis(redis.url);
    const pageKeys = [...dump.keys()].filter((k) => /^vswap:remote:\d+$/.test(k));
    expect(pageKeys).toHaveLength(64);
    for (const k of pageKeys) expect(dump.get(k)![0]!.length).toBe(4096 + 46);
    expect(keysHolding(dump, MARK)).toEqual([]);

    await flipByte(redis.url, pageKeys[0]!, 100);
    const outcomes = await Promise.all(
      slots.map((s) =>
        client.load('tenant-a', [s]).then(
          (p) => (p[0]!.equals(pages[slots.indexOf(s)]!) ? 'same' : 'OTHER BYTES'),
          (err: { code?: number }) => err.code,
        ),
      ),
    );
    expect(outcomes.filter((o) => o === status.DATA_LOSS)).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'same')).toHaveLength(63);
  });
});
