import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { status as Status } from '@grpc/grpc-js';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_BATCH } from '../../../services/common/limits';
import { CoalescingCalls } from '../../../services/coordinator/coalesce';
import { type RunningCoordinator, startCoordinator } from '../../../services/coordinator/running-coordinator';
import { FakeBackend, page } from '../../support/fake-backend';

const pages = (prefix: string, n: number): Buffer[] => Array.from({ length: n }, (_, i) => page(`${prefix}${i}-`));

describe('CoalescingCalls: Puts and Gets of one turn share a backend call', () => {
  it('Puts of one turn go out as one Put; each caller gets the handles of its own pages', async () => {
    const fake = new FakeBackend({ kind: 'zswap' });
    const calls = new CoalescingCalls(fake);
    const [a, b] = await Promise.all([
      calls.put(pages('a', 3), { tags: [1, 2, 3], epoch: fake.epoch }),
      calls.put(pages('b', 2), { tags: [4, 5], epoch: fake.epoch }),
    ]);
    expect(fake.count('put')).toBe(1);
    expect(a.handles).toHaveLength(3);
    expect(b.handles).toHaveLength(2);
    expect(a.outcomes).toEqual(['PUT_STORED', 'PUT_STORED', 'PUT_STORED']);
    expect(a.epoch).toBe(fake.epoch);
    // Each handle holds its caller's page and tag.
    expect(fake.entries.get(a.handles[2]!)).toEqual({ page: page('a2-'), tag: 3 });
    expect(fake.entries.get(b.handles[0]!)).toEqual({ page: page('b0-'), tag: 4 });
  });

  it('Gets of one turn go out as one Get; each caller gets its own pages in its order', async () => {
    const fake = new FakeBackend({ kind: 'swapfile' });
    const { handles } = await fake.put(pages('p', 4));
    const calls = new CoalescingCalls(fake);
    const [x, y] = await Promise.all([
      calls.get([handles[3]!, handles[0]!], true, fake.epoch),
      calls.get([handles[1]!], true, fake.epoch),
    ]);
    expect(fake.count('get')).toBe(1);
    expect(x.pages).toEqual([page('p3-'), page('p0-')]);
    expect(y.pages).toEqual([page('p1-')]);
  });

  it("a page missing for one caller fails that caller's Get only", async () => {
    const fake = new FakeBackend({ kind: 'swapfile' });
    const { handles } = await fake.put(pages('p', 2));
    const calls = new CoalescingCalls(fake);
    const [ok, missing] = await Promise.allSettled([
      calls.get([handles[0]!, handles[1]!], true, fake.epoch),
      calls.get([999], true, fake.epoch),
    ]);
    expect(ok).toEqual({ status: 'fulfilled', value: { pages: [page('p0-'), page('p1-')] } });
    expect(missing.status).toBe('rejected');
    expect((missing as PromiseRejectedResult).reason).toMatchObject({ code: Status.NOT_FOUND });
  });

  it('an unreachable backend fails every caller of the combined call, and nothing is stored', async () => {
    const fake = new FakeBackend({ kind: 'swapfile' });
    const calls = new CoalescingCalls(fake);
    fake.failNext('put', Status.UNAVAILABLE, 'down');
    const res = await Promise.allSettled([calls.put(pages('a', 1)), calls.put(pages('b', 1))]);
    expect(res.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    for (const r of res) expect((r as PromiseRejectedResult).reason).toMatchObject({ code: Status.UNAVAILABLE });
    expect(fake.count('put')).toBe(1);
    expect(fake.entries.size).toBe(0);
  });

  it('a Get in another epoch fails each caller with FAILED_PRECONDITION, asked once', async () => {
    const fake = new FakeBackend({ kind: 'swapfile' });
    const { handles } = await fake.put(pages('p', 2));
    const calls = new CoalescingCalls(fake);
    const res = await Promise.allSettled([
      calls.get([handles[0]!], true, 'old-epoch'),
      calls.get([handles[1]!], true, 'old-epoch'),
    ]);
    for (const r of res)
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: Status.FAILED_PRECONDITION });
    expect(fake.count('get')).toBe(1);
  });

  it('calls that differ in epoch, touch or tags are not combined', async () => {
    const fake = new FakeBackend({ kind: 'zswap' });
    const { handles } = await fake.put(pages('p', 2));
    const calls = new CoalescingCalls(fake);
    await Promise.all([
      calls.put(pages('a', 1), { tags: [7] }),
      calls.put(pages('b', 1)),
      calls.get([handles[0]!], true, fake.epoch),
      calls.get([handles[1]!], false, fake.epoch),
      calls.get([handles[1]!], true, ''),
    ]);
    expect(fake.count('put')).toBe(1 + 2);
    expect(fake.count('get')).toBe(3);
  });

  it('a turn never sends more than a full batch in one call', async () => {
    const fake = new FakeBackend({ kind: 'swapfile' });
    const calls = new CoalescingCalls(fake);
    const half = Math.ceil(MAX_BATCH / 2) + 1;
    const res = await Promise.all([calls.put(pages('a', half)), calls.put(pages('b', half)), calls.put(pages('c', 2))]);
    const sizes = fake.calls.filter((c) => c.method === 'put').map((c) => (c.req as { pages: Buffer[] }).pages.length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_BATCH);
    expect(sizes.reduce((x, y) => x + y, 0)).toBe(2 * half + 2);
    expect(res.map((r) => r.handles.length)).toEqual([half, half, 2]);
    expect(fake.entries.get(res[1]!.handles[0]!)?.page).toEqual(page('b0-'));
  });

  it('a call alone in its turn goes out as it was made', async () => {
    const fake = new FakeBackend({ kind: 'zswap' });
    const calls = new CoalescingCalls(fake);
    const one = pages('a', 2);
    await calls.put(one, { tags: [1, 2], epoch: fake.epoch });
    expect(fake.calls).toEqual([{ method: 'put', req: { pages: one, tags: [1, 2], epoch: fake.epoch } }]);
  });

  describe('through the coordinator', () => {
    let dir: string | undefined;
    let running: RunningCoordinator | undefined;
    afterEach(async () => {
      await running?.close();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("concurrent SwapOuts and Loads share backend calls, each answered with its own pages; one Load's lost page fails only that Load", async () => {
      const fake = new FakeBackend({ kind: 'swapfile' });
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-coalesce-'));
      running = await startCoordinator({
        dataDir: dir,
        backends: [{ name: 'file0', address: 'fake:file0', priority: 0 }],
        pollMs: 3_600_000,
        log: pino({ level: 'silent' }),
        connect: () => new CoalescingCalls(fake),
      });
      const { coordinator: c, reporting, table } = running;
      const outs = await Promise.all(['a', 'b', 'c'].map((o) => c.swapOut(o, pages(o, 3), false)));
      expect(fake.count('put')).toBe(1);
      const lost = outs[2]!.slots[1]!;
      fake.entries.delete(table.handleOf(lost));
      const loads = await Promise.allSettled(['a', 'b', 'c'].map((o, i) => c.load(o, outs[i]!.slots, true)));
      expect(loads[0]).toEqual({ status: 'fulfilled', value: { pages: pages('a', 3), counts: [0, 0, 0] } });
      expect(loads[1]).toEqual({ status: 'fulfilled', value: { pages: pages('b', 3), counts: [0, 0, 0] } });
      expect(loads[2]!.status).toBe('rejected');
      expect((loads[2] as PromiseRejectedResult).reason).toMatchObject({ code: Status.DATA_LOSS });
      // c's slots are still there (a failed Load releases nothing); a and b's are gone.
      expect(reporting.inspect('c', outs[2]!.slots).map((s) => s.count)).toEqual([1, 1, 1]);
      expect(table.usedSlots('a') + table.usedSlots('b')).toBe(0);
    });
  });
});
