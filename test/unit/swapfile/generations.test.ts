import { describe, expect, it } from 'vitest';
import { SwapAllocator, WORD_USED } from '../../../services/swapfile/allocator';

const SLOT_SPACE = 2 ** 28;

function take(a: SwapAllocator, n: number): number[] {
  const out = new Int32Array(n);
  a.allocate(n, out);
  return [...out];
}

describe('SwapAllocator handles and generations', () => {
  it('a freed slot comes back under a new handle; the old one names nothing', () => {
    const a = new SwapAllocator({ capacity: 4 });
    const [s] = take(a, 1);
    const h1 = a.handleOf(s!);
    expect(h1).toBe(s! + 1); // first life: generation 0
    a.free(s!);
    expect(a.slotOfHandle(h1)).toBe(-1);
    take(a, 4);
    const h2 = a.handleOf(s!);
    expect(h2).toBe(SLOT_SPACE + s! + 1);
    expect(a.slotOfHandle(h1)).toBe(-1);
    expect(a.describeMissing(h1)).toMatch(/stale/);
    expect(a.slotOfHandle(h2)).toBe(s);
    expect(h2).toBeLessThan(2 ** 40);
  });

  it('words round-trip used slots and generations', () => {
    const a = new SwapAllocator({ capacity: 8 });
    take(a, 3);
    a.free(1);
    const words = a.toWords();
    expect(words[0]).toBe(WORD_USED);
    expect(words[1]).toBe(1);
    const b = new SwapAllocator({ capacity: 8 });
    b.restoreWords(words);
    expect(b.used).toBe(2);
    expect(b.slotOfHandle(1 + 1)).toBe(-1);
    take(b, 8);
    expect(b.handleOf(1)).toBe(SLOT_SPACE + 2);
  });

  it('after a store rollback, keeps only pages the store still has under the same handle and never reissues a lost handle', () => {
    const a = new SwapAllocator({ capacity: 4 });
    take(a, 4); // every slot at generation 0
    const before = a.toWords(); // the state a snapshot kept
    a.free(1);
    expect(take(a, 1)).toEqual([1]); // slot 1 again, generation 1: lost with the rollback
    const lostHandle = a.handleOf(1);
    expect(a.mergeAfterLoss(before)).toBe(1);
    expect(a.used).toBe(3);
    expect(a.slotOfHandle(1)).toBe(0); // slot 0's page survived under its handle
    expect(a.slotOfHandle(lostHandle)).toBe(-1);
    expect(take(a, 1)).toEqual([1]);
    expect(a.handleOf(1)).not.toBe(lostHandle);
    expect(a.handleOf(1)).not.toBe(2); // nor the generation-0 handle the snapshot had
  });
});
