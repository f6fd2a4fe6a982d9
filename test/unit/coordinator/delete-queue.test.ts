import { status as Status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { type FakeBackend, fakeClusters, page, turns } from '../../support/fake-backend';

interface DeleteCall {
  handles: number[];
  reason: string;
  ignoreMissing: boolean;
  epoch: string;
}

const deletesOf = (f: FakeBackend): DeleteCall[] =>
  f.calls.filter((c) => c.method === 'delete').map((c) => c.req as DeleteCall);

describe('backend deletes (DeleteQueue): batched per backend, reason and epoch, once per turn', () => {
  const cluster = fakeClusters();

  it('the pages freed in one turn go to each backend as one Delete, with its epoch and ignore_missing', async () => {
    // file0 comes first by priority and holds three pages; the rest spill to file1.
    const fc = await cluster.start({
      file0: { kind: 'swapfile', priority: 10, capacityPages: 3 },
      file1: { kind: 'swapfile', priority: 5 },
    });
    const file0 = fc.fake('file0');
    const file1 = fc.fake('file1');
    const c = fc.coordinator;
    const out = await c.swapOut('app', [page('a'), page('b'), page('c'), page('d'), page('e')], false);
    expect(file0.entries.size).toBe(3);
    expect(file1.entries.size).toBe(2);
    const file0Handles = [...file0.entries.keys()];
    const file1Handles = [...file1.entries.keys()];

    // Two Frees in the same turn, each over both backends: one Delete per backend, not one per call or per page.
    await Promise.all([c.free('app', out.slots.slice(0, 4)), c.free('app', out.slots.slice(4))]);
    await turns(3);
    expect(deletesOf(file0)).toEqual([
      { handles: file0Handles, reason: 'DELETE_FREED', ignoreMissing: true, epoch: file0.epoch },
    ]);
    expect(deletesOf(file1)).toEqual([
      { handles: file1Handles, reason: 'DELETE_FREED', ignoreMissing: true, epoch: file1.epoch },
    ]);
    expect(file0.entries.size + file1.entries.size).toBe(0);
  });

  it('different reasons to one backend go as separate Deletes, each with its own handles', async () => {
    const fc = await cluster.start({ zswap: 'zswap' });
    const zswap = fc.fake('zswap');
    const c = fc.coordinator;
    const kept = await c.swapOut('app', [page('a'), page('b')], false);
    const freed = await c.swapOut('app', [page('c')], false);
    const [replacedA, replacedB] = [...zswap.entries.keys()];
    const [freedHandle] = [...zswap.entries.keys()].slice(2);
    // Store over both kept slots (their old copies are replaced) and free the third, all in one turn.
    await Promise.all([c.store('app', kept.slots, [page('A'), page('B')]), c.free('app', freed.slots)]);
    await turns(3);
    const calls = deletesOf(zswap);
    expect(calls).toHaveLength(2);
    expect(calls).toContainEqual({
      handles: [replacedA, replacedB],
      reason: 'DELETE_REPLACED',
      ignoreMissing: true,
      epoch: zswap.epoch,
    });
    expect(calls).toContainEqual({
      handles: [freedHandle],
      reason: 'DELETE_FREED',
      ignoreMissing: true,
      epoch: zswap.epoch,
    });
    const back = await c.load('app', kept.slots, false);
    expect(back.pages.map((p) => p.subarray(0, 1).toString())).toEqual(['A', 'B']);
  });

  it('a Delete that fails (backend down) is sent again later with the same handles', async () => {
    const fc = await cluster.start({ zswap: 'zswap' }, { deleteRetryMs: 1 });
    const zswap = fc.fake('zswap');
    const c = fc.coordinator;
    const out = await c.swapOut('app', [page('a'), page('b')], false);
    const handles = [...zswap.entries.keys()];
    zswap.failNext('delete', Status.UNAVAILABLE, 'backend down');
    await c.free('app', out.slots);
    await expect.poll(() => deletesOf(zswap).length, { interval: 5, timeout: 5000 }).toBe(2);
    const [first, second] = deletesOf(zswap);
    expect(first).toEqual(second);
    expect(second!.handles).toEqual(handles);
    expect(fc.counters.backend_delete_retries).toBe(1);
    await expect.poll(() => zswap.entries.size, { interval: 5, timeout: 5000 }).toBe(0);
  });

  it('a Delete the backend refuses for its epoch is dropped, not sent again', async () => {
    const fc = await cluster.start({ zswap: 'zswap' });
    const zswap = fc.fake('zswap');
    const c = fc.coordinator;
    const out = await c.swapOut('app', [page('a')], false);
    zswap.failNext('delete', Status.FAILED_PRECONDITION, 'epoch epoch-0 is not this backend');
    await c.free('app', out.slots);
    await turns(3);
    // A batch kept for a retry is counted at once: none was.
    expect(deletesOf(zswap)).toHaveLength(1);
    expect(fc.counters.backend_delete_retries).toBe(0);
  });
});
