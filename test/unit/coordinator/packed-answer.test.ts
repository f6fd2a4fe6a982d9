/** Answers the request log keeps for retries come back exactly as they were given. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packAnswer, unpackAnswer } from '../../../services/coordinator/packed-answer';

const TIERS = ['TIER_ZERO', 'TIER_ZSWAP', 'TIER_SWAPFILE', 'TIER_EMPTY'];

describe('packed answers', () => {
  it('gives back every answer shape the service remembers', () => {
    const run = Array.from({ length: 512 }, (_, i) => 1024 + i);
    const answers: unknown[] = [
      { slots: run, tiers: run.map((_, i) => TIERS[i % 3]!) },
      { slots: [5, 9, 700, 701, 702, 703, 12] },
      { tiers: ['TIER_ZERO'] },
      { counts: [0, 0, 0, 0, 0, 1, 2, 3] },
      [3, 2, 1, 0, 7, 7, 7, 7],
      { slots: [] },
      {},
    ];
    for (const a of answers) expect(unpackAnswer(packAnswer(a))).toEqual(a);
  });

  it('keeps a run of consecutive slot ids in a few characters, and a tier in one', () => {
    const slots = Array.from({ length: 512 }, (_, i) => 4096 + i);
    const packed = packAnswer({ slots, tiers: slots.map(() => 'TIER_ZSWAP') }) as string;
    expect(packed.length).toBeLessThan(512 + 64);
    expect(packed).toContain('[4096,1,512]');
  });

  it('keeps answers it cannot give back exactly as they are (pages, nested objects, -0, undefined)', () => {
    const answers = [
      { pages: [Buffer.alloc(8)], counts: [0] },
      { nested: { slots: [1, 2, 3, 4] } },
      { counts: [-0, 0, 0, 0] },
      { slots: undefined },
      7,
    ];
    for (const a of answers) expect(packAnswer(a)).toBe(a);
  });

  it("packs a string answer too: a string in an answer's place is always a packed one", () => {
    for (const a of ['text', '[0,{"r":[1,1,5]}]', '']) {
      expect(packAnswer(a)).not.toBe(a);
      expect(unpackAnswer(packAnswer(a))).toBe(a);
    }
  });

  it('round-trips any JSON-like answer (property)', () => {
    const field = fc.oneof(
      fc.array(fc.integer({ min: 0, max: 2 ** 32 }), { maxLength: 600 }),
      fc.array(fc.constantFrom(...TIERS), { maxLength: 600 }),
      fc.array(fc.oneof(fc.integer(), fc.string()), { maxLength: 20 }),
      fc.integer(),
      fc.string(),
      fc.boolean(),
    );
    fc.assert(
      fc.property(fc.oneof(fc.dictionary(fc.constantFrom('slots', 'tiers', 'counts', 'x'), field), field), (a) => {
        expect(unpackAnswer(packAnswer(a))).toEqual(a);
      }),
      { numRuns: 300 },
    );
  });
});
