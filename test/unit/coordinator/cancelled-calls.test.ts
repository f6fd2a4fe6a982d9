import { status as Status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { VswapError } from '../../../services/common/errors';
import { type FakeBackend, fakeClusters, type StartedFakes, page } from '../../support/fake-backend';

async function code(p: Promise<unknown>): Promise<Status | 'ok'> {
  return p.then(
    () => 'ok' as const,
    (e: unknown) => (e as VswapError).code,
  );
}

/** Issue 10, defect 6: a SwapOut or Allocate whose caller is gone before it commits rolls back. */
describe('cancelled and late calls', () => {
  const cluster = fakeClusters();

  async function start(): Promise<{ file0: FakeBackend; fc: StartedFakes }> {
    const fc = await cluster.start({ file0: 'swapfile' });
    return { file0: fc.fake('file0'), fc };
  }

  it('a SwapOut cancelled while its Put is in flight frees its slots and deletes the stored copies', async () => {
    const { file0, fc } = await start();
    const c = fc.coordinator;
    const put = file0.hold('put', 'after');
    const abort = new AbortController();
    const out = c.swapOut('app', [page('a'), page('b')], false, { signal: abort.signal });
    await put.reached;
    expect(file0.entries.size).toBe(2); // stored, reply not yet back
    abort.abort(new VswapError(Status.CANCELLED, 'the client cancelled the call'));
    put.release();
    expect(await code(out)).toBe(Status.CANCELLED);
    expect(fc.table.usedSlots()).toBe(0);
    await fc.close(); // sends the queued deletes
    expect(file0.entries.size).toBe(0);
  });

  it('a SwapOut whose deadline passed while its Put was in flight answers DEADLINE_EXCEEDED and keeps nothing', async () => {
    const { file0, fc } = await start();
    const c = fc.coordinator;
    const put = file0.hold('put', 'after');
    const deadline = Date.now() + 60_000;
    const out = c.swapOut('app', [page('a')], false, { deadline });
    await put.reached;
    // The deadline passes (a paused process wakes up late): no timer involved, the commit point reads the clock.
    const realNow = Date.now;
    Date.now = () => deadline + 1;
    try {
      put.release();
      expect(await code(out)).toBe(Status.DEADLINE_EXCEEDED);
    } finally {
      Date.now = realNow;
    }
    expect(fc.table.usedSlots()).toBe(0);
    await fc.close();
    expect(file0.entries.size).toBe(0);
  });

  it('a SwapOut that committed stands, and an Allocate of a caller already gone allocates nothing', async () => {
    const { fc } = await start();
    const c = fc.coordinator;
    const abort = new AbortController();
    const done = await c.swapOut('app', [page('a')], false, { signal: abort.signal });
    abort.abort(new VswapError(Status.CANCELLED, 'the client cancelled the call'));
    expect((await c.load('app', done.slots, false)).pages[0]!.equals(page('a'))).toBe(true);
    expect(await code(c.allocate('app', 4, false, { signal: abort.signal }))).toBe(Status.CANCELLED);
    expect(fc.table.usedSlots()).toBe(1);
  });
});
