import { status as Status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { fakeClusters, page } from '../../support/fake-backend';

/** Load checks the whole batch before any backend read; with several bad slots, the first one in order is named. */
describe('Load: which bad slot an error names', () => {
  const cluster = fakeClusters();

  it('names the first bad slot of the batch, whatever is wrong with the later ones, and changes nothing', async () => {
    const fc = await cluster.start({ file0: 'swapfile' });
    const c = fc.coordinator;
    const { slots: data } = await c.swapOut('app', [page('a'), page('b')], false);
    const [empty] = await c.allocate('app', 1, false);
    const { slots: theirs } = await c.swapOut('other', [page('c')], false);
    const reject = (slots: number[]): Promise<unknown> => c.load('app', slots, true).catch((e: unknown) => e);

    // An empty slot before another owner's slot: FAILED_PRECONDITION naming the empty one.
    expect(await reject([data[0]!, empty!, theirs[0]!])).toMatchObject({
      code: Status.FAILED_PRECONDITION,
      message: expect.stringContaining(`slot ${empty} holds no data`),
    });
    // Another owner's slot before the empty one: PERMISSION_DENIED naming it.
    expect(await reject([data[0]!, theirs[0]!, empty!])).toMatchObject({
      code: Status.PERMISSION_DENIED,
      message: expect.stringContaining(`slot ${theirs[0]}`),
    });
    // A slot never allocated, after good ones.
    expect(await reject([data[1]!, 999_999])).toMatchObject({ code: Status.NOT_FOUND });
    // Nothing was read or released: every slot is still there with its page.
    expect(fc.fake('file0').count('get')).toBe(0);
    expect((await c.load('app', data, true)).pages).toEqual([page('a'), page('b')]);
    expect(fc.reporting.inspect('other', theirs).map((s) => s.count)).toEqual([1]);
  });
});
