import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadZstdCompressor } from '../../../services/zswap/compressor-zstd';
import {
  counters,
  expectStatus,
  memoryLikePages,
  PAGE,
  pageCompressingTo,
  snapshot,
  startZswap,
  type RunningZswap,
} from './helpers';

describe('zswap (memory store)', () => {
  let z: RunningZswap;
  beforeAll(async () => {
    z = await startZswap(['--pool-bytes', '64M']);
  });
  afterAll(async () => {
    await z.stop();
  });

  it('describes itself in Info', async () => {
    const info = await z.client.info();
    expect(info).toMatchObject({
      kind: 'zswap',
      store: 'memory',
      capacityPages: (64 * 1024 * 1024) / PAGE,
      poolLimitBytes: 64 * 1024 * 1024,
      acceptThresholdPercent: 90,
      maxBatch: 512,
      volatile: true,
      compressor: 'lz4',
      overThreshold: false,
    });
    expect(info.epoch).toMatch(/\S/);
  });

  it('round-trips a full batch of memory-like pages byte for byte', async () => {
    const pages = memoryLikePages(512);
    const put = await z.client.put(pages);
    expect(put.outcomes.every((o) => o === 'PUT_STORED')).toBe(true);
    expect(new Set(put.handles).size).toBe(512);
    expect(put.handles.every((h) => h > 0)).toBe(true);
    expect(put.storedSizes.every((s) => s > 0 && s < 3072)).toBe(true);
    const got = await z.client.get(put.handles);
    expect(got.pages.length).toBe(512);
    got.pages.forEach((p, i) => expect(p.equals(pages[i]!), `page ${i}`).toBe(true));
    const c = await counters(z.client);
    expect(c.stored_pages).toBeGreaterThanOrEqual(512);
    expect(c.zswpout).toBeGreaterThanOrEqual(512);
    expect(c.zswpin).toBeGreaterThanOrEqual(512);
    const stats = await z.client.stats();
    expect(stats.fragmentation).toBeGreaterThanOrEqual(1);
    const info = await z.client.info();
    expect(info.storedBytes).toBe(c.pool_total_size);
    await z.client.delete(put.handles, 'DELETE_FREED');
  });

  it('rejects pages that do not compress (reject_compress_poor), stores the rest', async () => {
    const before = await counters(z.client);
    const pages = [memoryLikePages(1)[0]!, randomBytes(PAGE), memoryLikePages(1, 1)[0]!];
    const put = await z.client.put(pages);
    expect(put.outcomes).toEqual(['PUT_STORED', 'PUT_REJECT_COMPRESS_POOR', 'PUT_STORED']);
    expect(put.handles[1]).toBe(0);
    expect(put.storedSizes[1]).toBe(0);
    const after = await counters(z.client);
    expect(after.reject_compress_poor! - before.reject_compress_poor!).toBe(1);
    expect(after.stored_incompressible_pages).toBe(0);
    await z.client.delete([put.handles[0]!, put.handles[2]!], 'DELETE_FREED');
  });

  it('keeps LRU order for Coldest, with a second chance for touched entries', async () => {
    const pages = memoryLikePages(6, 100);
    const { handles } = await z.client.put(pages);
    // Everything older from other tests was deleted: these six are the whole LRU.
    const first = await z.client.coldest(3);
    expect(first.entries.map((e) => e.handle)).toEqual(handles.slice(0, 3));
    first.entries.forEach((e, i) => expect(e.page.equals(pages[i]!)).toBe(true));
    // Entries stay until deleted.
    expect((await z.client.coldest(3)).entries.map((e) => e.handle)).toEqual(handles.slice(0, 3));
    // Read 0 and 2 with touch; read 1 without (writeback-style reads do not count).
    await z.client.get([handles[0]!, handles[2]!], true);
    await z.client.get([handles[1]!], false);
    const order = await z.client.coldest(6);
    expect(order.entries.map((e) => e.handle)).toEqual([
      handles[1],
      handles[3],
      handles[4],
      handles[5],
      handles[0],
      handles[2],
    ]);
    await z.client.delete(handles, 'DELETE_FREED');
    expect((await z.client.coldest(5)).entries).toEqual([]);
  });

  it('counts written_back_pages on a Delete with reason written back only', async () => {
    const before = await counters(z.client);
    const { handles } = await z.client.put(memoryLikePages(4, 7));
    const d1 = await z.client.delete(handles.slice(0, 3), 'DELETE_WRITTEN_BACK');
    expect(d1.deleted).toBe(3);
    await z.client.delete(handles.slice(3), 'DELETE_MIGRATED');
    const after = await counters(z.client);
    expect(after.written_back_pages! - before.written_back_pages!).toBe(3);
    expect(after.stored_pages).toBe(before.stored_pages);
  });

  it('deletes with ignore_missing: the known ones go, the unknown are reported', async () => {
    const { handles } = await z.client.put(memoryLikePages(2, 3));
    await z.client.delete([handles[0]!], 'DELETE_FREED');
    const res = await z.client.delete([handles[0]!, handles[1]!, 12345], 'DELETE_FREED', true);
    expect(res.deleted).toBe(1);
    expect(res.missing.sort()).toEqual([handles[0]!, 12345].sort());
    await expectStatus(z.client.get([handles[1]!]), status.NOT_FOUND, new RegExp(String(handles[1])));
  });

  it('reconciles: reports named handles it lacks, deletes what nobody named', async () => {
    const { handles } = await z.client.put(memoryLikePages(10, 11));
    const gone = handles[9]!;
    await z.client.delete([gone], 'DELETE_FREED');
    const keep = handles.slice(0, 5);
    const res = await z.client.reconcile([...keep, gone, 987654321]);
    expect(res.missing.sort()).toEqual([gone, 987654321].sort());
    expect(res.deleted).toBe(4);
    const info = await z.client.info();
    expect(info.usedPages).toBe(5);
    const got = await z.client.get(keep);
    expect(got.pages.length).toBe(5);
    await expectStatus(z.client.get([handles[6]!]), status.NOT_FOUND);
    await z.client.delete(keep, 'DELETE_FREED');
    // Nothing named, nothing stored: an empty reconcile is fine.
    expect(await z.client.reconcile([])).toMatchObject({ missing: [], deleted: 0 });
  });

  describe('bad input: status code, message, nothing changed', () => {
    let live: number[] = [];
    beforeAll(async () => {
      live = (await z.client.put(memoryLikePages(3, 50))).handles;
    });
    afterEach(async () => {
      // Every stored page is still there and intact.
      const got = await z.client.get(live, false);
      got.pages.forEach((p, i) => expect(p.equals(memoryLikePages(3, 50)[i]!)).toBe(true));
    });

    const cases: [string, (c: RunningZswap['client'], live: number[]) => Promise<unknown>, number, RegExp][] = [
      [
        'Put of a short page',
        (c) => c.put([Buffer.alloc(PAGE), Buffer.alloc(100)]),
        status.INVALID_ARGUMENT,
        /page 1 is 100 bytes/,
      ],
      ['Put of a long page', (c) => c.put([Buffer.alloc(PAGE + 1)]), status.INVALID_ARGUMENT, /4097 bytes/],
      ['Put of no pages', (c) => c.put([]), status.INVALID_ARGUMENT, /no pages/],
      ['Put of 513 pages', (c) => c.put(memoryLikePages(513)), status.INVALID_ARGUMENT, /513 pages/],
      ['Get of no handles', (c) => c.get([]), status.INVALID_ARGUMENT, /no handles/],
      [
        'Get of 513 handles',
        (c) => c.get(Array.from({ length: 513 }, (_, i) => i + 1)),
        status.INVALID_ARGUMENT,
        /513/,
      ],
      ['Get of a handle twice', (c, l) => c.get([l[0]!, l[1]!, l[0]!]), status.INVALID_ARGUMENT, /twice/],
      ['Get of an unknown handle', (c, l) => c.get([l[0]!, 42]), status.NOT_FOUND, /handle 42/],
      ['Get of handle 0', (c) => c.get([0]), status.NOT_FOUND, /handle 0/],
      ['Delete of an unknown handle', (c, l) => c.delete([l[0]!, 77], 'DELETE_FREED'), status.NOT_FOUND, /handle 77/],
      [
        'Delete of a handle twice',
        (c, l) => c.delete([l[1]!, l[1]!], 'DELETE_FREED'),
        status.INVALID_ARGUMENT,
        /twice/,
      ],
      ['Delete of no handles', (c) => c.delete([], 'DELETE_FREED'), status.INVALID_ARGUMENT, /no handles/],
      ['Coldest of 0 entries', (c) => c.coldest(0), status.INVALID_ARGUMENT, /no entries/],
      ['Coldest of 513 entries', (c) => c.coldest(513), status.INVALID_ARGUMENT, /513/],
    ];
    it.each(cases)('%s', async (_name, call, code, message) => {
      const before = await snapshot(z.client);
      await expectStatus(call(z.client, live), code, message);
      expect(await snapshot(z.client)).toEqual(before);
    });

    it('Get of a deleted handle is NOT_FOUND naming it', async () => {
      const { handles } = await z.client.put(memoryLikePages(1, 60));
      await z.client.delete(handles, 'DELETE_FREED');
      const before = await snapshot(z.client);
      await expectStatus(z.client.get(handles), status.NOT_FOUND, new RegExp(`handle ${handles[0]}`));
      await expectStatus(
        z.client.delete(handles, 'DELETE_FREED'),
        status.NOT_FOUND,
        new RegExp(`handle ${handles[0]}`),
      );
      expect(await snapshot(z.client)).toEqual(before);
    });
  });
});

describe('zswap --store-incompressible', () => {
  it('stores poorly compressing pages as they are and counts them', async () => {
    const z = await startZswap(['--store-incompressible', 'true', '--max-compressed-bytes', '2048']);
    try {
      const random = randomBytes(PAGE);
      const half = pageCompressingTo(2500); // compresses, but not below 2048
      const put = await z.client.put([random, half, memoryLikePages(1)[0]!]);
      expect(put.outcomes).toEqual(['PUT_STORED', 'PUT_STORED', 'PUT_STORED']);
      expect(put.storedSizes[0]).toBe(PAGE);
      expect(put.storedSizes[1]).toBe(PAGE);
      expect(put.storedSizes[2]).toBeLessThan(2048);
      let c = await counters(z.client);
      expect(c.stored_incompressible_pages).toBe(2);
      expect(c.reject_compress_poor).toBe(0);
      const got = await z.client.get(put.handles);
      expect(got.pages[0]!.equals(random)).toBe(true);
      expect(got.pages[1]!.equals(half)).toBe(true);
      // Kept in LRU order like any other entry.
      expect((await z.client.coldest(3)).entries.map((e) => e.handle)).toEqual(put.handles);
      await z.client.delete([put.handles[0]!], 'DELETE_FREED');
      c = await counters(z.client);
      expect(c.stored_incompressible_pages).toBe(1);
    } finally {
      await z.stop();
    }
  });
});

describe.each(['lz4', 'zstd', 'deflate'])('compressor %s through the service', (compressor) => {
  it.skipIf(compressor === 'zstd' && !loadZstdCompressor().ok)('round-trips pages and names itself', async () => {
    const z = await startZswap(['--compressor', compressor]);
    try {
      expect((await z.client.info()).compressor).toBe(compressor);
      const pages = memoryLikePages(96, 5);
      const put = await z.client.put(pages);
      expect(put.outcomes.every((o) => o === 'PUT_STORED')).toBe(true);
      const got = await z.client.get(put.handles);
      got.pages.forEach((p, i) => expect(p.equals(pages[i]!)).toBe(true));
      const cold = await z.client.coldest(96);
      cold.entries.forEach((e, i) => expect(e.page.equals(pages[i]!)).toBe(true));
    } finally {
      await z.stop();
    }
  });
});

describe('zswap restart (memory store is volatile)', () => {
  it('comes back with a new epoch and reports every named handle missing', async () => {
    let z = await startZswap();
    const { handles } = await z.client.put(memoryLikePages(20, 9));
    const epoch = (await z.client.info()).epoch;
    await z.stop();
    z = await startZswap();
    try {
      const info = await z.client.info();
      expect(info.epoch).not.toBe(epoch);
      expect(info.usedPages).toBe(0);
      const res = await z.client.reconcile(handles);
      expect(res.missing.sort()).toEqual([...handles].sort());
      expect(res.deleted).toBe(0);
      await expectStatus(z.client.get([handles[0]!]), status.NOT_FOUND);
      // New handles do not repeat the old ones.
      const again = await z.client.put(memoryLikePages(20, 9));
      expect(again.handles.filter((h) => handles.includes(h))).toEqual([]);
    } finally {
      await z.stop();
    }
  });
});
