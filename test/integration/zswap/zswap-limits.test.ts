import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { expectStartFailure } from '../../support/service';
import { RedisServer } from '../../support/redis';
import { freePort } from '../../support/ports';
import * as os from 'node:os';
import { counters, expectStatus, pageCompressingTo, snapshot, startZswap, ZSWAP_ENTRY } from './helpers';

const LIMIT = 256 * 1024;

describe('zswap pool limit with accept-threshold hysteresis', () => {
  it('refuses once full, stays refusing until below the threshold, then accepts again', async () => {
    const z = await startZswap(['--pool-bytes', String(LIMIT), '--accept-threshold-percent', '50']);
    try {
      const page = (): Buffer => pageCompressingTo(1500);
      // Fill until the pool refuses.
      const stored: number[] = [];
      let refused = 0;
      for (let round = 0; round < 10 && refused === 0; round++) {
        const put = await z.client.put(Array.from({ length: 64 }, page));
        put.handles.forEach((h, i) => {
          if (h > 0) stored.push(h);
          else {
            expect(put.outcomes[i]).toBe('PUT_POOL_LIMIT_HIT');
            refused++;
          }
        });
      }
      expect(refused).toBeGreaterThan(0);
      let info = await z.client.info();
      expect(info.overThreshold).toBe(true);
      expect(info.storedBytes).toBeLessThanOrEqual(LIMIT);
      expect(info.usedPages).toBe(stored.length);
      expect((await counters(z.client)).pool_limit_hit).toBe(refused);

      // Nothing fits: the whole call fails and nothing changes (but the refusal is counted).
      const before = await snapshot(z.client);
      await expectStatus(z.client.put([page(), page()]), status.RESOURCE_EXHAUSTED, /pool limit/);
      expect(await snapshot(z.client)).toEqual(before);

      // Free some room, but stay above 50%: still refusing (hysteresis).
      await z.client.delete(stored.splice(0, 8), 'DELETE_FREED');
      info = await z.client.info();
      expect(info.storedBytes).toBeGreaterThanOrEqual(LIMIT / 2);
      expect(info.overThreshold).toBe(true);
      await expectStatus(z.client.put([page()]), status.RESOURCE_EXHAUSTED, /pool limit/);

      // Delete until the pool is below the threshold: accepting again.
      while ((await z.client.info()).overThreshold) {
        expect(stored.length).toBeGreaterThan(0);
        await z.client.delete(stored.splice(0, 16), 'DELETE_FREED');
      }
      info = await z.client.info();
      expect(info.storedBytes).toBeLessThan(LIMIT / 2);
      const again = await z.client.put([page(), page()]);
      expect(again.outcomes).toEqual(['PUT_STORED', 'PUT_STORED']);
      // Remaining entries are intact.
      const got = await z.client.get(stored.slice(0, 4));
      expect(got.pages.length).toBe(4);
    } finally {
      await z.stop();
    }
  });

  it('a batch that only partly fits stores what fits and refuses the rest', async () => {
    const z = await startZswap(['--pool-bytes', String(LIMIT)]);
    try {
      const put = await z.client.put(Array.from({ length: 300 }, () => pageCompressingTo(1500)));
      const n = put.handles.filter((h) => h > 0).length;
      expect(n).toBeGreaterThan(0);
      expect(n).toBeLessThan(300);
      // Refusals come after the stores, in order: once full, the rest of the batch is refused.
      expect(put.outcomes.slice(0, n).every((o) => o === 'PUT_STORED')).toBe(true);
      expect(put.outcomes.slice(n).every((o) => o === 'PUT_POOL_LIMIT_HIT')).toBe(true);
      expect((await z.client.info()).usedPages).toBe(n);
    } finally {
      await z.stop();
    }
  });
});

describe('zswap start-up refusals: one line naming the option, exit code 1', () => {
  const refuse = async (args: string[], option: RegExp, env: Record<string, string> = {}): Promise<string> => {
    const res = await expectStartFailure({ entry: ZSWAP_ENTRY, args: ['--listen', '127.0.0.1:0', ...args], env });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(option);
    return res.stderr;
  };

  it('a pool larger than the machine memory', async () => {
    const tooBig = String(os.totalmem() * 2);
    const err = await refuse(
      ['--pool-bytes', tooBig],
      /--pool-bytes \(VSWAP_ZSWAP_POOL_BYTES\).*larger than this machine's memory/,
    );
    expect(err.trim().split('\n')).toHaveLength(1);
  });
  it('an unknown compressor', () =>
    refuse(['--compressor', 'lzo'], /--compressor \(VSWAP_ZSWAP_COMPRESSOR\).*"lzo" is not one of lz4, zstd, deflate/));
  it('a threshold out of range (flag and env)', async () => {
    await refuse(['--accept-threshold-percent', '0'], /--accept-threshold-percent .*below the minimum 1/);
    await refuse([], /VSWAP_ZSWAP_ACCEPT_THRESHOLD_PERCENT.*above the maximum 100/, {
      VSWAP_ZSWAP_ACCEPT_THRESHOLD_PERCENT: '101',
    });
    await refuse(['--accept-threshold-percent', 'ninety'], /--accept-threshold-percent .*not an integer/);
  });
  it('a poor-compression bound above a page', () =>
    refuse(['--max-compressed-bytes', '5000'], /--max-compressed-bytes .*more than 4096/));
  it('the redis store without a URL', () =>
    refuse(['--store', 'redis'], /--redis-url \(VSWAP_ZSWAP_REDIS_URL\) is required/));
  it('an unreachable redis', async () => {
    const port = await freePort();
    await refuse(
      ['--store', 'redis', '--redis-url', `redis://127.0.0.1:${port}`],
      new RegExp(`--redis-url \\(VSWAP_ZSWAP_REDIS_URL\\): cannot reach Redis at redis://127.0.0.1:${port}`),
    );
  });
  it('a redis store that works starts (the refusal above is about reachability)', async () => {
    const redis = await RedisServer.start();
    try {
      const z = await startZswap(['--store', 'redis', '--redis-url', redis.url]);
      await z.stop();
    } finally {
      await redis.stop();
    }
  });
});
