/**
 * request_id deduplication (API.md, Retries) against a real coordinator over
 * gRPC: a retry with the same owner and request_id is answered with the first
 * call's result and applies nothing again.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { status as Status } from '@grpc/grpc-js';
import { beforeEach, describe, expect, it } from 'vitest';
import type { VswapClient } from '../../../clients/sdk/client';
import { VswapClientError } from '../../../clients/sdk/errors';
import { CHANNEL_OPTIONS, loadVswapProto } from '../../../services/common/proto';
import { expectStartFailure } from '../../support/service';
import { clusterPerTest, expectCode } from './helpers';
import { textPage } from './pages';

type Raw = (
  method: string,
  req: object,
  deadlineMs?: number,
) => Promise<{ slots?: number[]; counts?: number[]; tiers?: string[]; pages?: Buffer[] }>;

/** Calls the coordinator without the SDK (which would add ids and retry by itself). */
function rawClient(address: string): { call: Raw; close(): void } {
  const proto = loadVswapProto();
  const client = new proto.vswap.v1.VirtualSwap(address, grpc.credentials.createInsecure(), { ...CHANNEL_OPTIONS });
  const call: Raw = (method, req, deadlineMs = 20_000) =>
    new Promise((resolve, reject) => {
      const fn = (
        client as unknown as Record<
          string,
          (
            r: object,
            m: grpc.Metadata,
            o: grpc.CallOptions,
            cb: (e: grpc.ServiceError | null, v?: unknown) => void,
          ) => void
        >
      )[method]!;
      // waitForReady: across a coordinator restart, wait for it instead of failing at once.
      fn.call(
        client,
        req,
        new grpc.Metadata({ waitForReady: true }),
        { deadline: Date.now() + deadlineMs },
        (err, res) => (err ? reject(VswapClientError.from(err)) : resolve(res as never)),
      );
    });
  return { call, close: () => client.close() };
}

const ids = (r: { slots?: unknown[] }): number[] => (r.slots ?? []).map(Number);

describe('request_id: a retried mutation applies once', () => {
  const fx = clusterPerTest();
  let client: VswapClient;
  let raw: ReturnType<typeof rawClient>;

  beforeEach(async () => {
    client = await fx.start(
      { zswap: { poolBytes: '16M' }, swapfiles: [{ name: 'file0', capacityPages: 4096, priority: 10 }] },
      30_000,
    );
    raw = rawClient(fx.cluster.address);
    return () => raw.close();
  });

  it('Free and Duplicate retried with the same id change the swap count once; without an id they apply each time', async () => {
    const { slots } = await client.swapOut('host-a', [textPage(1), textPage(2)]);
    const dup = await raw.call('duplicate', { owner: 'host-a', slots, requestId: 'dup-1' });
    expect(dup.counts).toEqual([2, 2]);
    // The reply was lost: the client sends the same request again.
    expect((await raw.call('duplicate', { owner: 'host-a', slots, requestId: 'dup-1' })).counts).toEqual([2, 2]);
    expect((await client.inspect('host-a', slots)).map((s) => s.count)).toEqual([2, 2]);

    expect((await raw.call('free', { owner: 'host-a', slots, requestId: 'free-1' })).counts).toEqual([1, 1]);
    expect((await raw.call('free', { owner: 'host-a', slots, requestId: 'free-1' })).counts).toEqual([1, 1]);
    expect((await raw.call('free', { owner: 'host-a', slots, requestId: 'free-1' })).counts).toEqual([1, 1]);
    expect((await client.inspect('host-a', slots)).map((s) => s.count)).toEqual([1, 1]);
    // A page still referenced still reads back.
    expect((await client.load('host-a', slots))[1]!.equals(textPage(2))).toBe(true);

    // An empty request_id is no deduplication (as before the field existed).
    expect((await raw.call('duplicate', { owner: 'host-a', slots: [slots[0]], requestId: '' })).counts).toEqual([2]);
    expect((await raw.call('duplicate', { owner: 'host-a', slots: [slots[0]], requestId: '' })).counts).toEqual([3]);
  });

  it('SwapOut and Allocate retried return the same slots and allocate nothing more', async () => {
    const pages = [textPage(10), textPage(11), textPage(12)];
    const first = await raw.call('swapOut', { owner: 'host-b', pages, requestId: 'out-1' });
    const again = await raw.call('swapOut', { owner: 'host-b', pages, requestId: 'out-1' });
    expect(ids(again)).toEqual(ids(first));
    expect(again.tiers).toEqual(first.tiers);
    const a1 = await raw.call('allocate', { owner: 'host-b', count: 4, requestId: 'alloc-1' });
    const a2 = await raw.call('allocate', { owner: 'host-b', count: 4, requestId: 'alloc-1' });
    expect(ids(a2)).toEqual(ids(a1));
    expect((await client.stats('host-b')).usedSlots).toBe(7);
    const back = await client.load('host-b', ids(first));
    back.forEach((p, i) => expect(p.equals(pages[i]!)).toBe(true));
    // Store with an id: a retry writes nothing again and answers the same tiers.
    const s1 = await raw.call('store', {
      owner: 'host-b',
      slots: ids(a1).slice(0, 1),
      pages: [textPage(13)],
      requestId: 'store-1',
    });
    const s2 = await raw.call('store', {
      owner: 'host-b',
      slots: ids(a1).slice(0, 1),
      pages: [textPage(13)],
      requestId: 'store-1',
    });
    expect(s2.tiers).toEqual(s1.tiers);
    expect((await client.load('host-b', ids(a1).slice(0, 1)))[0]!.equals(textPage(13))).toBe(true);
  });

  it('the same id for a different request is ALREADY_EXISTS and changes nothing; ids are per owner', async () => {
    const { slots } = await client.swapOut('host-c', [textPage(20), textPage(21)]);
    await raw.call('duplicate', { owner: 'host-c', slots: [slots[0]], requestId: 'r-1' });
    await expectCode(
      raw.call('duplicate', { owner: 'host-c', slots: [slots[1]], requestId: 'r-1' }),
      Status.ALREADY_EXISTS,
      /request_id "r-1" of owner host-c was used .* for a different Duplicate request/,
    );
    await expectCode(
      raw.call('free', { owner: 'host-c', slots: [slots[0]], requestId: 'r-1' }),
      Status.ALREADY_EXISTS,
      /different Duplicate request/,
    );
    await expectCode(
      raw.call('swapOut', { owner: 'host-c', pages: [textPage(99)], requestId: 'r-1' }),
      Status.ALREADY_EXISTS,
    );
    expect((await client.inspect('host-c', slots)).map((s) => s.count)).toEqual([2, 1]);
    expect((await client.stats('host-c')).usedSlots).toBe(2);
    // Another owner's r-1 is another request.
    const other = await client.swapOut('host-d', [textPage(22)]);
    expect((await raw.call('duplicate', { owner: 'host-d', slots: other.slots, requestId: 'r-1' })).counts).toEqual([
      2,
    ]);
  });

  it('a request_id over 64 characters is INVALID_ARGUMENT and changes nothing', async () => {
    const { slots } = await client.swapOut('host-e', [textPage(30)]);
    await expectCode(
      raw.call('free', { owner: 'host-e', slots, requestId: 'x'.repeat(65) }),
      Status.INVALID_ARGUMENT,
      /request_id is 65 characters: at most 64/,
    );
    expect((await client.inspect('host-e', slots))[0]!.count).toBe(1);
    expect((await raw.call('free', { owner: 'host-e', slots, requestId: 'x'.repeat(64) })).counts).toEqual([0]);
  });

  it('an error that changed nothing is not remembered: the retry runs afresh and can succeed', async () => {
    await client.setOwnerPolicy('host-f', { swapMaxPages: 2 });
    await expectCode(
      raw.call('allocate', { owner: 'host-f', count: 3, requestId: 'grow' }),
      Status.RESOURCE_EXHAUSTED,
      /over its swap limit/,
    );
    await client.setOwnerPolicy('host-f', { swapMaxPages: 0 });
    const res = await raw.call('allocate', { owner: 'host-f', count: 3, requestId: 'grow' });
    expect(ids(res)).toHaveLength(3);
    expect((await raw.call('allocate', { owner: 'host-f', count: 3, requestId: 'grow' })).slots?.map(Number)).toEqual(
      ids(res),
    );
    expect((await client.stats('host-f')).usedSlots).toBe(3);
  });

  it('a retry arriving while the first call is in flight waits for its answer, within its own deadline', async () => {
    const { cluster } = fx;
    const pages = [textPage(40), textPage(41)];
    cluster.pause('zswap'); // the first SwapOut hangs in its zswap Put
    try {
      const first = raw.call('swapOut', { owner: 'host-g', pages, requestId: 'slow-1' });
      await new Promise((r) => setTimeout(r, 300));
      // A retry with a short deadline gives up waiting; it neither applies nor spoils the first.
      await expectCode(
        raw.call('swapOut', { owner: 'host-g', pages, requestId: 'slow-1' }, 300),
        Status.DEADLINE_EXCEEDED,
      );
      const second = raw.call('swapOut', { owner: 'host-g', pages, requestId: 'slow-1' });
      await new Promise((r) => setTimeout(r, 300));
      cluster.resume('zswap');
      const [a, b] = await Promise.all([first, second]);
      expect(ids(b)).toEqual(ids(a));
    } finally {
      cluster.resume('zswap');
    }
    expect((await client.stats('host-g')).usedSlots).toBe(2);
  });

  it('a retry after the coordinator was killed (kill -9) and started again is answered from requests.log, not applied again', async () => {
    const pages = [textPage(50), textPage(51)];
    const out = await raw.call('swapOut', { owner: 'host-h', pages, requestId: 'k-out' });
    const alloc = await raw.call('allocate', { owner: 'host-h', count: 3, requestId: 'k-alloc' });
    expect((await raw.call('duplicate', { owner: 'host-h', slots: ids(out), requestId: 'k-dup' })).counts).toEqual([
      2, 2,
    ]);
    expect((await raw.call('free', { owner: 'host-h', slots: ids(alloc), requestId: 'k-free' })).counts).toEqual([
      0, 0, 0,
    ]);
    await fx.cluster.restart('coordinator', 'SIGKILL');
    // The answers were lost with the connection: the client sends every request again.
    expect(ids(await raw.call('swapOut', { owner: 'host-h', pages, requestId: 'k-out' }))).toEqual(ids(out));
    expect(ids(await raw.call('allocate', { owner: 'host-h', count: 3, requestId: 'k-alloc' }))).toEqual(ids(alloc));
    expect((await raw.call('duplicate', { owner: 'host-h', slots: ids(out), requestId: 'k-dup' })).counts).toEqual([
      2, 2,
    ]);
    expect((await raw.call('free', { owner: 'host-h', slots: ids(alloc), requestId: 'k-free' })).counts).toEqual([
      0, 0, 0,
    ]);
    await expectCode(
      raw.call('free', { owner: 'host-h', slots: ids(out), requestId: 'k-dup' }),
      Status.ALREADY_EXISTS,
      /different Duplicate request/,
    );
    expect((await client.inspect('host-h', ids(out))).map((s) => s.count)).toEqual([2, 2]);
    expect((await client.stats('host-h')).usedSlots).toBe(2);
    const back = await client.load('host-h', ids(out));
    back.forEach((p, i) => expect(p.equals(pages[i]!)).toBe(true));
  });

  it('Load with release retried with the same id returns the same pages and drops the reference once, also after kill -9', async () => {
    const pages = [textPage(60), textPage(61)];
    const { slots } = await client.swapOut('host-i', pages);
    await client.duplicate('host-i', [slots[0]!]); // counts 2, 1
    const req = { owner: 'host-i', slots, release: true, requestId: 'swapin-1' };
    const first = await raw.call('load', req);
    expect(first.counts).toEqual([1, 0]);
    first.pages!.forEach((p, i) => expect(p.equals(pages[i]!)).toBe(true));
    // The reply was lost: the same request again is answered from memory, applied once.
    const again = await raw.call('load', req);
    expect(again.counts).toEqual([1, 0]);
    again.pages!.forEach((p, i) => expect(p.equals(pages[i]!)).toBe(true));
    expect((await client.inspect('host-i', [slots[0]!]))[0]!.count).toBe(1);
    expect((await client.stats('host-i')).usedSlots).toBe(1);
    // The same id on another request is refused.
    await expectCode(raw.call('load', { ...req, slots: [slots[0]] }), Status.ALREADY_EXISTS, /different Load request/);
    // Across a coordinator kill -9 the answer (pages included) comes from requests.log.
    await fx.cluster.restart('coordinator', 'SIGKILL');
    const after = await raw.call('load', req);
    expect(after.counts).toEqual([1, 0]);
    after.pages!.forEach((p, i) => expect(p.equals(pages[i]!)).toBe(true));
    expect((await client.inspect('host-i', [slots[0]!]))[0]!.count).toBe(1);
    // Without an id (or without release) nothing is remembered: a second Load with release drops another reference.
    expect((await raw.call('load', { owner: 'host-i', slots: [slots[0]], release: true })).counts).toEqual([0]);
    expect((await client.stats('host-i')).usedSlots).toBe(0);
  });
});

describe('request_id across a kill -9 between the journal commit and requests.log', () => {
  const fx = clusterPerTest();

  it('a Free whose coordinator died right after its commit is answered from the journal on retry, applied once', async () => {
    const client = await fx.start(
      {
        zswap: { poolBytes: '16M' },
        coordinatorArgs: ['--crash-after-commit-id', 'die-here', '--journal-fsync', 'always'],
      },
      30_000,
    );
    const raw = rawClient(fx.cluster.address);
    try {
      const { slots } = await client.swapOut('host-k', [textPage(70), textPage(71)]);
      await client.duplicate('host-k', slots); // counts 2, 2
      // The coordinator commits the Free, then is killed before it can remember or send the answer.
      const err = await raw.call('free', { owner: 'host-k', slots, requestId: 'die-here' }, 5_000).then(
        () => undefined,
        (e: unknown) => e as VswapClientError,
      );
      expect(err?.codeName).toMatch(/UNAVAILABLE|DEADLINE_EXCEEDED|CANCELLED|INTERNAL|UNKNOWN/);
      const file = path.join(fx.dir, 'coordinator', 'requests.log');
      expect(fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '').not.toContain('die-here');
      await fx.cluster.kill('coordinator'); // already dead: waits for its exit
      await fx.cluster.startAgain('coordinator');
      // The retry: answered with the first call's counts, and the swap counts dropped once.
      expect((await raw.call('free', { owner: 'host-k', slots, requestId: 'die-here' })).counts).toEqual([1, 1]);
      expect((await client.inspect('host-k', slots)).map((s) => s.count)).toEqual([1, 1]);
    } finally {
      raw.close();
    }
  });

  it('a SwapOut in flight while requests.log was rewritten, dead right after its commit, is answered from the journal', async () => {
    const client = await fx.start(
      {
        zswap: { poolBytes: '16M' },
        swapfiles: [],
        coordinatorArgs: [
          '--crash-after-commit-id',
          'in-flight',
          '--retry-max-entries',
          '4',
          '--retry-compact-after-bytes',
          '4096',
        ],
      },
      30_000,
    );
    const raw = rawClient(fx.cluster.address);
    const file = path.join(fx.dir, 'coordinator', 'requests.log');
    try {
      const [slot] = ids(await raw.call('allocate', { owner: 'host-w', count: 1 }));
      fx.cluster.pause('zswap'); // the SwapOut hangs in its zswap Put, not committed yet
      let dead;
      try {
        dead = raw.call('swapOut', { owner: 'host-w', pages: [textPage(90)], requestId: 'in-flight' }, 10_000).then(
          () => undefined,
          (e: unknown) => e as VswapClientError,
        );
        await new Promise((r) => setTimeout(r, 300));
        // Answers the bound of 4 drops grow the file past 4096 bytes: it is rewritten, the SwapOut in flight.
        for (let i = 0; i < 60; i++)
          await raw.call('duplicate', { owner: 'host-w', slots: [slot], requestId: `w${i}` });
        await new Promise((r) => setTimeout(r, 300));
        // Its mark line lists the SwapOut as in flight.
        expect(fs.readFileSync(file, 'utf8')).toMatch(/^[0-9a-f]{8} W\[[^\n]*in-flight/);
      } finally {
        fx.cluster.resume('zswap');
      }
      // Its Put ends, it commits, and the coordinator kills itself before the answer reaches requests.log.
      expect((await dead)?.codeName).toMatch(/UNAVAILABLE|DEADLINE_EXCEEDED|CANCELLED|INTERNAL|UNKNOWN/);
      expect(fs.readFileSync(file, 'utf8')).not.toContain('"k":"host-w\\u0000in-flight"');
      await fx.cluster.kill('coordinator'); // already dead: waits for its exit
      await fx.cluster.startAgain('coordinator');
      // The retry: the committed SwapOut's answer, from the journal; it allocated one slot, once. (Applied again, it
      // would commit again under the same id, and the crash seam would kill the coordinator a second time.)
      const again = ids(await raw.call('swapOut', { owner: 'host-w', pages: [textPage(90)], requestId: 'in-flight' }));
      expect(again).toHaveLength(1);
      expect((await client.stats('host-w')).usedSlots).toBe(2);
      const [page] = await client.load('host-w', again);
      expect(page!.equals(textPage(90))).toBe(true);
    } finally {
      raw.close();
    }
  });
});

describe('request_id while requests.log is rewritten', () => {
  const fx = clusterPerTest();

  it('--retry-compact-after-bytes below 4096 is refused at start, naming the option, and nothing is created', async () => {
    const dataDir = path.join(os.tmpdir(), `vswap-compact-refused-${process.pid}`);
    const res = await expectStartFailure({
      entry: 'services/coordinator/main.js',
      args: ['--listen', '127.0.0.1:0', '--data-dir', dataDir, '--backends', 'a=127.0.0.1:1'],
      env: { VSWAP_COORDINATOR_RETRY_COMPACT_AFTER_BYTES: '10' },
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      /--retry-compact-after-bytes \(VSWAP_COORDINATOR_RETRY_COMPACT_AFTER_BYTES\): 10 is below the minimum 4096/,
    );
    expect(fs.existsSync(dataDir)).toBe(false);
  });

  it('answers given while the file was rewritten (calls in flight) are answered after a kill -9, applied once', async () => {
    const client = await fx.start(
      {
        zswap: { poolBytes: '16M' },
        coordinatorArgs: [
          '--retry-compact-after-bytes',
          '4096',
          '--retry-max-entries',
          '40',
          '--journal-fsync',
          'always',
        ],
      },
      30_000,
    );
    const raw = rawClient(fx.cluster.address);
    try {
      const slots = await client.allocate('host-r', 8);
      // 400 Duplicates under their own ids, 8 at a time: each adds one to a slot's swap count.
      const counts = new Map<string, number[]>();
      for (let i = 0; i < 400; i += 8)
        await Promise.all(
          slots.map(async (slot, j) => {
            const id = `dup-${i + j}`;
            counts.set(id, (await raw.call('duplicate', { owner: 'host-r', slots: [slot], requestId: id })).counts!);
          }),
        );
      const file = path.join(fx.dir, 'coordinator', 'requests.log');
      // Rewritten as it grew: far fewer lines than the 400 answers given.
      expect(fs.readFileSync(file, 'utf8').split('\n').length).toBeLessThan(200);
      await fx.cluster.restart('coordinator', 'SIGKILL');
      // The last 32 retried (the bound of 40 counts calls in flight too): the same counts, and no swap count moves.
      for (let i = 360; i < 400; i++) {
        const id = `dup-${i}`;
        const slot = slots[i % 8]!;
        expect((await raw.call('duplicate', { owner: 'host-r', slots: [slot], requestId: id })).counts).toEqual(
          counts.get(id),
        );
      }
      expect((await client.inspect('host-r', slots)).map((s) => s.count)).toEqual(slots.map(() => 51));
    } finally {
      raw.close();
    }
  });
});

describe('request_id: the bound after a restart', () => {
  const fx = clusterPerTest();

  /**
   * A coordinator with a bound of 4 answers and a small journal (snapshots soon drop the answer records, so
   * requests.log alone brings the answers back), one slot to Duplicate, and a SwapOut held in its zswap Put.
   */
  const setup = async () => {
    const client = await fx.start(
      {
        zswap: { poolBytes: '16M' },
        swapfiles: [],
        coordinatorArgs: ['--retry-max-entries', '4', '--snapshot-after-bytes', '4096'],
      },
      30_000,
    );
    const raw = rawClient(fx.cluster.address);
    const dir = path.join(fx.dir, 'coordinator');
    const snapshots = () => fs.readdirSync(dir).filter((n) => /^snapshot-\d+\.bin$/.test(n));
    // Calls without a request_id (raw, not the SDK): the request log keeps nothing of them.
    const [slot] = ids(await raw.call('allocate', { owner: 'host-o', count: 1 }));
    const dup = async (id: string) =>
      (await raw.call('duplicate', { owner: 'host-o', slots: [slot], requestId: id })).counts;
    const swapOut = (id: string) => raw.call('swapOut', { owner: 'host-o', pages: [textPage(80)], requestId: id });
    /** Starts a SwapOut that hangs in its zswap Put until `go` is called (after it has reached the coordinator). */
    const held = async (id: string) => {
      fx.cluster.pause('zswap');
      const call = swapOut(id);
      await new Promise((r) => setTimeout(r, 300));
      return { call, go: () => fx.cluster.resume('zswap') };
    };
    /** Commits without a request_id until a snapshot has replaced the journal that held the answers' records, then kill -9. */
    const snapshotAndKill = async () => {
      const before = snapshots().join();
      for (let i = 0; i < 2000 && snapshots().join() === before; i++) {
        await raw.call('duplicate', { owner: 'host-o', slots: [slot] });
        await raw.call('free', { owner: 'host-o', slots: [slot] });
      }
      expect(snapshots().join()).not.toBe(before);
      await fx.cluster.restart('coordinator', 'SIGKILL');
    };
    const count = async () => (await client.inspect('host-o', [slot!]))[0]!.count;
    return { client, raw, dup, swapOut, held, snapshotAndKill, count };
  };

  it('after a kill -9 it remembers the answers it remembered before, though a long call wrote its answer after later ones', async () => {
    const t = await setup();
    try {
      const long = await t.held('long');
      try {
        expect(await t.dup('a')).toEqual([2]);
        expect(await t.dup('b')).toEqual([3]);
        expect(await t.dup('c')).toEqual([4]);
      } finally {
        long.go();
      }
      await long.call; // its answer follows a, b and c in requests.log
      expect(await t.dup('d')).toEqual([5]); // over the bound: 'long', the first to arrive, is forgotten
      await t.snapshotAndKill();
      // Retried, each of the four answers remembered before the kill is applied once.
      expect(await t.dup('a')).toEqual([2]);
      expect(await t.dup('b')).toEqual([3]);
      expect(await t.dup('c')).toEqual([4]);
      expect(await t.dup('d')).toEqual([5]);
      expect(await t.count()).toBe(5);
    } finally {
      t.raw.close();
    }
  });

  it('after a kill -9 it forgets what the bound forgot while a long call was in flight, and remembers that call', async () => {
    const t = await setup();
    try {
      const long = await t.held('long');
      let first;
      try {
        for (const [i, id] of ['a', 'b', 'c', 'd'].entries()) expect(await t.dup(id)).toEqual([i + 2]);
        // At 'd' the bound dropped 'a', passing over 'long' in flight (a client that timed out retries just that).
      } finally {
        long.go();
        first = await long.call;
      }
      await t.snapshotAndKill();
      expect(ids(await t.swapOut('long'))).toEqual(ids(first));
      expect(await t.dup('b')).toEqual([3]);
      expect(await t.dup('c')).toEqual([4]);
      expect(await t.dup('d')).toEqual([5]);
      expect(await t.count()).toBe(5);
      expect((await t.client.stats('host-o')).usedSlots).toBe(2); // one SwapOut, applied once
    } finally {
      t.raw.close();
    }
  });
});
