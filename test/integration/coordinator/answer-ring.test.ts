/**
 * The answer page ring through real processes: a Load with release keeps its
 * answer's pages in <data dir>/answers.ring (requests.log and the journal
 * hold a reference), and a retry gets exactly the first call's bytes, across
 * kill -9 at any point; an answer the ring wrote over, or whose bytes in the
 * file were damaged while the coordinator was down, is forgotten: the retry
 * runs afresh (NOT_FOUND for the slots the first call freed), never returning
 * other bytes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { status as Status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { VswapClientError } from '../../../clients/sdk/errors';
import { CHANNEL_OPTIONS, loadVswapProto } from '../../../services/common/proto';
import { clusterPerTest, expectCode } from './helpers';
import { randomPage, textPage, zeroPage } from './pages';

interface LoadReply {
  pages: Buffer[];
  counts: number[];
}

/** Load with release and a request_id, without the SDK (which would add its own id and retry by itself). */
function rawLoad(address: string): { load(req: object, deadlineMs?: number): Promise<LoadReply>; close(): void } {
  const proto = loadVswapProto();
  const client = new proto.vswap.v1.VirtualSwap(address, grpc.credentials.createInsecure(), { ...CHANNEL_OPTIONS });
  return {
    load: (req, deadlineMs = 20_000) =>
      new Promise((resolve, reject) =>
        // waitForReady: across a coordinator restart, wait for it instead of failing at once.
        client.load(
          req,
          new grpc.Metadata({ waitForReady: true }),
          { deadline: Date.now() + deadlineMs },
          (err, res) => (err ? reject(VswapClientError.from(err)) : resolve(res as unknown as LoadReply)),
        ),
      ),
    close: () => client.close(),
  };
}

/** Byte for byte, every page. */
function expectSamePages(got: readonly Buffer[], want: readonly Buffer[]): void {
  expect(got.length).toBe(want.length);
  got.forEach((p, i) => expect(Buffer.compare(p, want[i]!), `page ${i}`).toBe(0));
}

describe('answer page ring', () => {
  const fx = clusterPerTest();

  it('a Load with release killed right after its commit, and again after a plain kill -9, is answered with the same bytes', async () => {
    const client = await fx.start(
      {
        zswap: { poolBytes: '16M' },
        coordinatorArgs: ['--crash-after-commit-id', 'die-load', '--journal-fsync', 'always'],
      },
      30_000,
    );
    const raw = rawLoad(fx.cluster.address);
    try {
      const pages = [textPage(1), zeroPage(), randomPage(), textPage(2)];
      const { slots } = await client.swapOut('host-r', pages);
      await client.duplicate('host-r', [slots[0]!]); // counts 2, 1, 1, 1
      const req = { owner: 'host-r', slots, release: true, requestId: 'die-load' };
      // Committed (slots freed, answer recorded with a reference to the ring), then killed before the reply.
      const err = await raw.load(req, 5_000).then(
        () => undefined,
        (e: unknown) => e as VswapClientError,
      );
      expect(err?.codeName).toMatch(/UNAVAILABLE|DEADLINE_EXCEEDED|CANCELLED|INTERNAL|UNKNOWN/);
      await fx.cluster.kill('coordinator'); // already dead: waits for its exit
      await fx.cluster.startAgain('coordinator');
      const again = await raw.load(req);
      expect(again.counts).toEqual([1, 0, 0, 0]);
      expectSamePages(again.pages, pages);
      expect((await client.inspect('host-r', [slots[0]!]))[0]!.count).toBe(1);
      expect((await client.stats('host-r')).usedSlots).toBe(1);
      // Neither requests.log nor the journal carries the pages, only the ring does.
      const dir = path.join(fx.dir, 'coordinator');
      const marker = pages[2]!.subarray(0, 48);
      expect(fs.readFileSync(path.join(dir, 'answers.ring')).indexOf(marker)).toBeGreaterThanOrEqual(0);
      expect(fs.readFileSync(path.join(dir, 'requests.log'), 'utf8')).not.toContain(marker.toString('base64'));
      expect(fs.statSync(path.join(dir, 'requests.log')).size).toBeLessThan(8192);
      // A plain kill -9 now: the answer comes from requests.log's reference and the ring.
      await fx.cluster.restart('coordinator', 'SIGKILL');
      const after = await raw.load(req);
      expect(after.counts).toEqual([1, 0, 0, 0]);
      expectSamePages(after.pages, pages);
      expect((await client.stats('host-r')).usedSlots).toBe(1);
    } finally {
      raw.close();
    }
  });

  it('a ring that wraps forgets the oldest answers and a damaged region is forgotten: those retries run afresh', async () => {
    const client = await fx.start(
      { zswap: { poolBytes: '16M' }, coordinatorArgs: ['--retry-max-page-bytes', String(5 * 4096)] },
      30_000,
    );
    const raw = rawLoad(fx.cluster.address);
    try {
      const calls = ['a', 'b', 'c', 'd'].map((id) => ({ id, pages: [randomPage(), randomPage()] }));
      const slotsOf = new Map<string, number[]>();
      for (const c of calls) slotsOf.set(c.id, (await client.swapOut('host-w', c.pages)).slots);
      const req = (id: string) => ({ owner: 'host-w', slots: slotsOf.get(id), release: true, requestId: `w-${id}` });
      for (const c of calls) expectSamePages((await raw.load(req(c.id))).pages, c.pages);
      // 5 pages of ring, 2 pages an answer: c and d wrote over a and b.
      for (const c of calls.slice(2)) expectSamePages((await raw.load(req(c.id))).pages, c.pages);
      for (const c of calls.slice(0, 2)) await expectCode(raw.load(req(c.id)), Status.NOT_FOUND, /not allocated/);

      // Down: one byte of d's pages flipped in the ring file.
      await fx.cluster.kill('coordinator', 'SIGKILL');
      const file = path.join(fx.dir, 'coordinator', 'answers.ring');
      const ring = fs.readFileSync(file);
      const at = ring.indexOf(calls[3]!.pages[1]!);
      expect(at).toBeGreaterThanOrEqual(0);
      ring[at + 4000] = ring[at + 4000]! ^ 0x01;
      fs.writeFileSync(file, ring);
      await fx.cluster.startAgain('coordinator');
      await expectCode(raw.load(req('d')), Status.NOT_FOUND, /not allocated/);
      expectSamePages((await raw.load(req('c'))).pages, calls[2]!.pages);
      expect((await client.stats('host-w')).usedSlots).toBe(0);
    } finally {
      raw.close();
    }
  });
});
