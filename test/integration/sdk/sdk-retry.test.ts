/**
 * The SDK's retries against a real coordinator: every mutating call carries
 * a request_id and is sent again with the same id after UNAVAILABLE or
 * DEADLINE_EXCEEDED, so a lost answer costs a retry, never a second change.
 */
import { describe, expect, it } from 'vitest';
import { VswapClient, chunkRequestId } from '../../../clients/sdk/client';
import { clusterPerTest } from '../coordinator/helpers';
import { textPage } from '../coordinator/pages';

describe('SDK retries of mutating calls', () => {
  const fx = clusterPerTest();

  it('a Duplicate and a SwapOut whose answers time out are retried with the same id and applied once', async () => {
    const admin = await fx.start({
      zswap: { poolBytes: '16M' },
      swapfiles: [{ name: 'file0', capacityPages: 4096, priority: 10 }],
    });
    const { slots } = await admin.swapOut('host-a', [textPage(1), textPage(2)]);
    const client = new VswapClient({
      address: fx.cluster.address,
      deadlineMs: 400,
      writeRetries: 20,
      retryBackoffMs: 100,
      retryMaxBackoffMs: 300,
    });
    try {
      await client.waitForReady();
      // The coordinator stops answering: the first attempts time out while
      // their requests wait in its socket, and are carried out once it resumes.
      fx.cluster.pause('coordinator');
      const dup = client.duplicate('host-a', slots);
      const out = client.swapOut('host-a', [textPage(3), textPage(4), textPage(5)]);
      await new Promise((r) => setTimeout(r, 1200));
      fx.cluster.resume('coordinator');
      expect(await dup).toEqual([2, 2]);
      const res = await out;
      expect(res.slots).toHaveLength(3);
      // A swap-in (Load with release) timed out the same way: retried with its id, the page comes back and one
      // reference goes.
      fx.cluster.pause('coordinator');
      const swapIn = client.load('host-a', [res.slots[0]!], { release: true });
      await new Promise((r) => setTimeout(r, 1200));
      fx.cluster.resume('coordinator');
      expect((await swapIn)[0]!.equals(textPage(3))).toBe(true);
    } finally {
      fx.cluster.resume('coordinator');
      client.close();
    }
    expect((await admin.inspect('host-a', slots)).map((s) => s.count)).toEqual([2, 2]);
    // Three pages swapped out once, one swapped in once: four slots in all, none leaked or freed twice by a retry.
    expect((await admin.stats('host-a')).usedSlots).toBe(4);
  });

  it('a call split into requests of 512 can be repeated whole with its requestId: each request applies once', async () => {
    const client = await fx.start({ zswap: { poolBytes: '32M' } });
    const pages = Array.from({ length: 1100 }, (_, i) => textPage(100 + i));
    const first = await client.swapOut('host-b', pages, { requestId: 'big-out' });
    const again = await client.swapOut('host-b', pages, { requestId: 'big-out' });
    expect(again.slots).toEqual(first.slots);
    expect((await client.stats('host-b')).usedSlots).toBe(1100);
    const id = 'x'.repeat(64); // too long to suffix: the SDK derives a hash per request
    expect(await client.duplicate('host-b', first.slots, { requestId: id })).toEqual(first.slots.map(() => 2));
    expect(await client.duplicate('host-b', first.slots, { requestId: id })).toEqual(first.slots.map(() => 2));
    expect(await client.free('host-b', first.slots, { requestId: 'big-free' })).toEqual(first.slots.map(() => 1));
    expect(await client.free('host-b', first.slots, { requestId: 'big-free' })).toEqual(first.slots.map(() => 1));
    const info = await client.inspect('host-b', first.slots);
    expect(info.every((s) => s.count === 1)).toBe(true);
    // Without an explicit id every call is a new request.
    expect(await client.free('host-b', first.slots.slice(0, 2))).toEqual([0, 0]);
  });

  it('derives distinct request ids of at most 64 characters for the requests of a split call', () => {
    expect(chunkRequestId('abc', 2)).toBe('abc.2');
    const long = 'y'.repeat(64);
    const ids = [0, 1, 2].map((i) => chunkRequestId(long, i));
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id.length).toBeLessThanOrEqual(64);
  });
});
