import * as grpc from '@grpc/grpc-js';
import { status as Status } from '@grpc/grpc-js';
import { beforeEach, describe, expect, it } from 'vitest';
import type { VswapClient } from '../../../clients/sdk/client';
import { VswapClientError } from '../../../clients/sdk/errors';
import { CHANNEL_OPTIONS, loadVswapProto } from '../../../services/common/proto';
import { clusterPerTest, expectCode, until } from './helpers';
import { mixedPages, randomPage, textPage, zeroPage } from './pages';

function rawClient(address: string): grpc.Client {
  const proto = loadVswapProto();
  return new proto.vswap.v1.VirtualSwap(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
}

/** A call without the SDK's splitting and checks. */
function rawCall(client: grpc.Client, method: string, req: object): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const fn = (
      client as unknown as Record<string, (r: object, cb: (e: grpc.ServiceError | null, v?: unknown) => void) => void>
    )[method]!;
    fn.call(client, req, (err, res) => (err ? reject(VswapClientError.from(err)) : resolve(res)));
  });
}

describe('coordinator API over real backends', () => {
  const fx = clusterPerTest();
  let client: VswapClient;

  beforeEach(async () => {
    client = await fx.start(
      { zswap: { poolBytes: '16M' }, swapfiles: [{ name: 'file0', capacityPages: 4096, priority: 10 }] },
      30_000,
    );
  });

  it('swaps out a mix of pages and reads each back byte for byte, on the tier the policy picks', async () => {
    const pages = [zeroPage(), textPage(1), randomPage(), textPage(2)];
    const { slots, tiers } = await client.swapOut('host-a', pages);
    expect(slots).toHaveLength(4);
    expect(new Set(slots).size).toBe(4);
    expect(tiers[0]).toBe('TIER_ZERO');
    expect(tiers[1]).toBe('TIER_ZSWAP');
    expect(tiers[3]).toBe('TIER_ZSWAP');
    // A random page does not compress: zswap rejects it and the swapfile takes it.
    expect(tiers[2]).toBe('TIER_SWAPFILE');
    const back = await client.load('host-a', slots);
    back.forEach((p, i) => expect(p.equals(pages[i]!)).toBe(true));
    const info = await client.inspect('host-a', slots);
    expect(info.map((s) => s.tier)).toEqual(tiers);
    expect(info[0]!.backend).toBe('');
    expect(info[1]!.backend).toBe('zswap');
    expect(info[2]!.backend).toBe('file0');
    expect(info.every((s) => s.count === 1 && s.owner === 'host-a')).toBe(true);
  });

  it('keeps fork-like reference counts: duplicate, free in any order, release at 0 frees the backend copy', async () => {
    const pages = [textPage(10), randomPage()];
    const { slots } = await client.swapOut('proc', pages);
    expect(await client.duplicate('proc', slots)).toEqual([2, 2]);
    expect(await client.duplicate('proc', [slots[1]!])).toEqual([3]);
    expect(await client.free('proc', [slots[1]!])).toEqual([2]);
    // the child reads and maps its copy
    const [p0] = await client.load('proc', [slots[0]!], { release: true });
    expect(p0!.equals(pages[0]!)).toBe(true);
    expect((await client.inspect('proc', slots)).map((s) => s.count)).toEqual([1, 2]);
    const usedBefore = (await client.listBackends()).reduce((a, b) => a + b.usedPages, 0);
    expect(usedBefore).toBe(2);
    expect(await client.free('proc', slots)).toEqual([0, 1]);
    expect(await client.free('proc', [slots[1]!])).toEqual([0]);
    await expectCode(client.inspect('proc', [slots[0]!]), Status.NOT_FOUND, /not allocated/);
    const used = await until(
      () => client.listBackends(),
      (bs) => bs.every((b) => b.usedPages === 0),
    );
    expect(used.map((b) => b.usedPages)).toEqual([0, 0]);
    expect((await client.stats('proc')).usedSlots).toBe(0);
  });

  it('allocates naturally aligned contiguous runs and stores into them', async () => {
    for (const n of [1, 2, 3, 8, 100, 512]) {
      const slots = await client.allocate('folio', n, { contiguous: true });
      const align = 2 ** Math.ceil(Math.log2(n));
      expect(slots[0]! % align).toBe(0);
      slots.forEach((s, i) => expect(s).toBe(slots[0]! + i));
      expect((await client.inspect('folio', [slots[0]!]))[0]!.tier).toBe('TIER_EMPTY');
      await expectCode(client.load('folio', [slots[0]!]), Status.FAILED_PRECONDITION, /no data/);
    }
    const { slots } = await client.swapOut('folio', mixedPages(16), { contiguous: true });
    expect(slots[0]! % 16).toBe(0);
    const pages = mixedPages(4, 99);
    const run = await client.allocate('folio', 4);
    expect(await client.store('folio', run, pages)).toHaveLength(4);
    (await client.load('folio', run)).forEach((p, i) => expect(p.equals(pages[i]!)).toBe(true));
    // replacing data keeps the slot and frees the old copy
    const again = [randomPage(), zeroPage(), textPage(5), textPage(6)];
    await client.store('folio', run, again);
    (await client.load('folio', run)).forEach((p, i) => expect(p.equals(again[i]!)).toBe(true));
  });

  it('answers every bad input with the documented code and changes nothing', async () => {
    const { slots } = await client.swapOut('alice', [textPage(1), textPage(2)]);
    const before = await client.inspect('alice', slots);
    const statsBefore = await client.stats();
    const s0 = slots[0]!;
    await expectCode(client.swapOut('alice', [Buffer.alloc(100)]), Status.INVALID_ARGUMENT, /4096/);
    await expectCode(client.swapOut('bad owner!', [textPage(1)]), Status.INVALID_ARGUMENT, /owner/);
    await expectCode(client.swapOut('', [textPage(1)]), Status.INVALID_ARGUMENT, /owner/);
    await expectCode(client.swapOut('x'.repeat(129), [textPage(1)]), Status.INVALID_ARGUMENT, /owner/);
    await expectCode(client.allocate('alice', 0), Status.INVALID_ARGUMENT, /count/);
    await expectCode(client.store('alice', [s0], [textPage(1), textPage(2)]), Status.INVALID_ARGUMENT);
    await expectCode(client.duplicate('alice', [s0, s0]), Status.INVALID_ARGUMENT, /twice/);
    await expectCode(client.free('alice', [s0, 0]), Status.NOT_FOUND, /slot 0/);
    await expectCode(client.free('alice', [s0, 987654321]), Status.NOT_FOUND, /987654321/);
    await expectCode(client.load('mallory', [s0]), Status.PERMISSION_DENIED, /another owner/);
    await expectCode(client.free('mallory', slots), Status.PERMISSION_DENIED);
    await expectCode(client.store('mallory', [s0], [randomPage()]), Status.PERMISSION_DENIED);
    await expectCode(client.swapoff('no-such-backend').next(), Status.FAILED_PRECONDITION, /unknown backend/);
    await expectCode(client.swapon('no-such-backend', 1), Status.FAILED_PRECONDITION, /unknown backend/);
    // Raw requests the SDK would never send: 513 slots, an empty batch.
    const raw = rawClient(fx.cluster.address);
    try {
      await expectCode(
        rawCall(raw, 'duplicate', { owner: 'alice', slots: Array.from({ length: 513 }, (_, i) => s0 + i) }),
        Status.INVALID_ARGUMENT,
        /513/,
      );
      await expectCode(rawCall(raw, 'free', { owner: 'alice', slots: [] }), Status.INVALID_ARGUMENT, /no slots/);
      await expectCode(rawCall(raw, 'swapOut', { owner: 'alice', pages: [] }), Status.INVALID_ARGUMENT, /no pages/);
      await expectCode(
        rawCall(raw, 'swapOut', { owner: 'alice', pages: Array.from({ length: 513 }, () => textPage(1)) }),
        Status.INVALID_ARGUMENT,
        /513/,
      );
      await expectCode(rawCall(raw, 'load', { owner: 'alice', slots: [s0, s0] }), Status.INVALID_ARGUMENT, /twice/);
    } finally {
      raw.close();
    }
    expect(await client.inspect('alice', slots)).toEqual(before);
    const statsAfter = await client.stats();
    expect(statsAfter.usedSlots).toBe(statsBefore.usedSlots);
    (await client.load('alice', slots)).forEach((p, i) => expect(p.equals(textPage(i + 1))).toBe(true));
    // double free
    await client.free('alice', [s0]);
    await expectCode(client.free('alice', [s0]), Status.NOT_FOUND);
    await expectCode(client.load('alice', [s0]), Status.NOT_FOUND);
  });

  it('reports stats and backends as API.md describes', async () => {
    await client.swapOut('s1', [zeroPage(), textPage(3), randomPage()]);
    const st = await client.stats();
    expect(st.usedSlots).toBe(3);
    const tiers = Object.fromEntries(st.pagesByTier.map((c) => [c.name, c.value]));
    expect(tiers).toMatchObject({ TIER_ZERO: 1, TIER_ZSWAP: 1, TIER_SWAPFILE: 1 });
    expect(st.swapOuts).toBe(3);
    expect(st.slotTableBytes).toBeGreaterThan(0);
    // the overflow itself is covered by the slot table's unit tests (65535 round trips here)
    expect(st.maxSwapCount).toBeGreaterThanOrEqual(65535);
    const zs = Object.fromEntries(st.zswap.map((c) => [c.name, c.value]));
    expect(zs.stored_pages).toBe(1);
    expect(zs.reject_compress_poor).toBe(1);
    expect(st.owners.map((o) => o.owner)).toEqual(['s1']);
    const backends = await client.listBackends();
    expect(backends.map((b) => [b.name, b.kind, b.store, b.state])).toEqual([
      ['zswap', 'zswap', 'memory', 'active'],
      ['file0', 'swapfile', 'file', 'active'],
    ]);
    expect(backends.map((b) => b.usedPages)).toEqual([1, 1]);
  });
});
