import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { SlotTable, TierCode, type Result } from '../../../services/coordinator/slot-table';
import { expectError, ok, snapshot } from './helpers';

/**
 * Every bad batch gets its status code and changes nothing, for every slot in
 * it: the whole observable state of the batch's slots (and the table's
 * totals) is compared before and after, for check, duplicate and free alike.
 */
function setup() {
  const t = new SlotTable({ maxSwapCount: 5 });
  const mine = ok(t.allocate('a', 8, false));
  const theirs = ok(t.allocate('b', 4, true));
  const freed = ok(t.allocate('a', 2, false));
  ok(t.free('a', freed));
  t.setBacking(mine[0]!, { tier: TierCode.ZSWAP, backend: 1, handle: 11, checksum: 12 });
  ok(t.duplicate('a', [mine[1]!]));
  return { t, mine, theirs, freed: freed[1]! };
}

type Op = 'check' | 'duplicate' | 'free';
const ops: Op[] = ['check', 'duplicate', 'free'];

function expectRejected(
  t: SlotTable,
  owner: string,
  op: Op,
  batch: number[],
  code: number,
  message: RegExp,
  watch: number[],
) {
  const before = snapshot(t, watch);
  const r: Result<unknown> =
    op === 'check' ? t.check(owner, batch) : op === 'duplicate' ? t.duplicate(owner, batch) : t.free(owner, batch);
  expectError(r, code, message);
  expect(snapshot(t, watch)).toEqual(before);
}

describe.each(ops)('%s with a bad batch changes nothing', (op) => {
  it('empty batch: INVALID_ARGUMENT', () => {
    const { t, mine } = setup();
    expectRejected(t, 'a', op, [], status.INVALID_ARGUMENT, /no slots given/, mine);
  });

  it('more than 512 slots: INVALID_ARGUMENT before anything else', () => {
    const { t, mine } = setup();
    const batch = [...mine, ...Array.from({ length: 505 }, (_, i) => 10 ** 6 + i)];
    expect(batch.length).toBe(513);
    expectRejected(t, 'a', op, batch, status.INVALID_ARGUMENT, /513 slots in one request: at most 512/, mine);
  });

  it('the same slot twice: INVALID_ARGUMENT (small and large batches)', () => {
    const { t, mine } = setup();
    expectRejected(
      t,
      'a',
      op,
      [mine[2]!, mine[3]!, mine[2]!],
      status.INVALID_ARGUMENT,
      new RegExp(`slot ${mine[2]} appears twice`),
      mine,
    );
    // Large batch (Set path), duplicate of an unknown slot still counts as a duplicate first.
    const big = [...mine, ...Array.from({ length: 40 }, (_, i) => 10 ** 6 + i), 10 ** 6 + 3];
    expectRejected(t, 'a', op, big, status.INVALID_ARGUMENT, /slot 1000003 appears twice/, mine);
  });

  it.each([
    ['slot 0', () => 0],
    ['a slot never allocated', () => 10 ** 6],
    ['a negative id', () => -512],
    ['a fractional id', () => 600.5],
  ])('%s: NOT_FOUND', (_name, bad) => {
    const { t, mine } = setup();
    const b = bad();
    expectRejected(
      t,
      'a',
      op,
      [mine[0]!, mine[1]!, b],
      status.NOT_FOUND,
      new RegExp(`slot ${b} is not allocated`),
      mine,
    );
  });

  it('a slot already freed (double free): NOT_FOUND', () => {
    const { t, mine, freed } = setup();
    expectRejected(t, 'a', op, [mine[4]!, freed], status.NOT_FOUND, new RegExp(`slot ${freed} is not allocated`), [
      ...mine,
      freed,
    ]);
  });

  it("another owner's slot: PERMISSION_DENIED", () => {
    const { t, mine, theirs } = setup();
    const watch = [...mine, ...theirs];
    expectRejected(
      t,
      'a',
      op,
      [mine[0]!, theirs[1]!],
      status.PERMISSION_DENIED,
      new RegExp(`slot ${theirs[1]} belongs to another owner`),
      watch,
    );
    // An owner the table has never seen owns nothing.
    expectRejected(t, 'stranger', op, [mine[0]!], status.PERMISSION_DENIED, /belongs to another owner/, watch);
  });

  it('the first failing slot in request order decides the code', () => {
    const { t, mine, theirs } = setup();
    const watch = [...mine, ...theirs];
    expectRejected(t, 'a', op, [mine[0]!, 10 ** 6, theirs[0]!], status.NOT_FOUND, /not allocated/, watch);
    expectRejected(t, 'a', op, [mine[0]!, theirs[0]!, 10 ** 6], status.PERMISSION_DENIED, /another owner/, watch);
  });
});

describe('duplicate past the maximum swap count', () => {
  it('RESOURCE_EXHAUSTED for the whole batch, after the validation checks', () => {
    const { t, mine } = setup();
    for (let i = 0; i < 3; i++) ok(t.duplicate('a', [mine[1]!])); // count 2 -> 5 (the max)
    expect(t.countOf(mine[1]!)).toBe(5);
    expectRejected(
      t,
      'a',
      'duplicate',
      [mine[0]!, mine[1]!, mine[2]!],
      status.RESOURCE_EXHAUSTED,
      new RegExp(`slot ${mine[1]} is already at the maximum swap count 5`),
      mine,
    );
    // NOT_FOUND anywhere in the batch wins over the count check.
    expectRejected(t, 'a', 'duplicate', [mine[1]!, 10 ** 6], status.NOT_FOUND, /not allocated/, mine);
    // free and check are not limited by the maximum.
    ok(t.check('a', [mine[1]!]));
  });
});

describe('ok batches', () => {
  it('check accepts the owner’s own live slots and changes nothing', () => {
    const { t, mine } = setup();
    const before = snapshot(t, mine);
    expect(t.check('a', mine)).toEqual({ ok: true, value: undefined });
    expect(snapshot(t, mine)).toEqual(before);
  });
  it('a 512-slot batch is accepted', () => {
    const t = new SlotTable();
    const slots = ok(t.allocate('a', 512, false));
    expect(ok(t.duplicate('a', slots))).toEqual(new Array(512).fill(2));
    expect(ok(t.free('a', slots)).counts).toEqual(new Array(512).fill(1));
  });
});
