import { status } from '@grpc/grpc-js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SHARED_ORDER } from '../../../services/coordinator/slot-cluster';
import { SHARE_LIMIT } from '../../../services/coordinator/slot-owners';
import { SlotTable, TierCode, type Backing } from '../../../services/coordinator/slot-table';

/**
 * Model-based property test: long random sequences of allocate / duplicate /
 * free / setBacking / pin / unpin / releaseSlot across several owners, with
 * bad batches in the mix, run against the slot table and against a plain
 * reference model (a Map of slot -> fields). After every command the whole
 * observable state must agree.
 */

const OWNERS = ['a', 'b', 'c'];
const MAX_SWAP_COUNT = 2; // small, so RESOURCE_EXHAUSTED comes up often

interface MSlot extends Backing {
  owner: string;
  count: number;
  pinned: boolean;
  order: number;
}

class Model {
  /** Allocated slots (count > 0 or pinned). */
  readonly slots = new Map<number, MSlot>();
  /** Ids once allocated and since released (good candidates for "double free"). */
  readonly released: number[] = [];
}
type Real = SlotTable;

/** How a command names a slot; resolved against the model when it runs. */
type Pick = { kind: 'own' | 'any' | 'random' | 'released' | 'again'; n: number };
const pickArb: fc.Arbitrary<Pick> = fc.record({
  kind: fc.constantFrom<Pick['kind']>('own', 'own', 'own', 'own', 'any', 'random', 'released', 'again'),
  n: fc.nat(),
});

function resolve(m: Model, owner: string, picks: readonly Pick[]): number[] {
  const all = [...m.slots.keys()];
  const own = all.filter((s) => m.slots.get(s)!.owner === owner && m.slots.get(s)!.count > 0);
  const out: number[] = [];
  for (const p of picks) {
    const from = (xs: number[]) => (xs.length > 0 ? xs[p.n % xs.length]! : 512 + (p.n % 4096));
    // 'own' picks are distinct (each one taken out of the candidates): duplicates come from 'again' only.
    if (p.kind === 'own') out.push(own.length > 0 ? own.splice(p.n % own.length, 1)[0]! : 512 + (p.n % 4096));
    else if (p.kind === 'any') out.push(from(all));
    else if (p.kind === 'released') out.push(from(m.released));
    else if (p.kind === 'again' && out.length > 0) out.push(out[p.n % out.length]!);
    else out.push(p.n % 3 === 0 ? 0 : 512 + (p.n % 8192));
  }
  return out;
}

/** The code the spec gives a batch, or undefined if it passes validation. */
function expectedCode(m: Model, owner: string, slots: readonly number[]): number | undefined {
  if (slots.length === 0 || slots.length > 512) return status.INVALID_ARGUMENT;
  if (new Set(slots).size !== slots.length) return status.INVALID_ARGUMENT;
  for (const s of slots) {
    const x = m.slots.get(s);
    if (x === undefined || x.count === 0) return status.NOT_FOUND;
    if (x.owner !== owner) return status.PERMISSION_DENIED;
  }
  return undefined;
}

function releaseInModel(m: Model, slot: number): { slot: number; tier: TierCode; backend: number; handle: number } {
  const x = m.slots.get(slot)!;
  m.slots.delete(slot);
  m.released.push(slot);
  return { slot, tier: x.tier, backend: x.backend, handle: x.handle };
}

function same(what: string, got: unknown, want: unknown): void {
  if (got !== want) throw new Error(`${what}: table has ${String(got)}, model has ${String(want)}`);
}

/**
 * The whole observable state of the table agrees with the model. Plain
 * comparisons (not expect) so that checking thousands of slots after every
 * command stays cheap.
 */
function checkAgainstModel(m: Model, r: Real): void {
  const used: Record<string, number> = {};
  const byTier: Record<string, number[]> = {};
  let live = 0;
  for (const [s, x] of m.slots) {
    same(`count of ${s}`, r.countOf(s), x.count);
    same(`isLive of ${s}`, r.isLive(s), x.count > 0);
    same(`owner of ${s}`, r.ownerOf(s), x.owner);
    same(`tier of ${s}`, r.tierOf(s), x.tier);
    same(`backend of ${s}`, r.backendOf(s), x.backend);
    same(`handle of ${s}`, r.handleOf(s), x.handle);
    same(`checksum of ${s}`, r.checksumOf(s), x.checksum);
    same(`pin of ${s}`, r.isPinned(s), x.pinned);
    same(`order of ${s}`, r.orderOf(s), x.order);
    if (x.count > 0) {
      live++;
      used[x.owner] = (used[x.owner] ?? 0) + 1;
      (byTier[x.owner] ??= [0, 0, 0, 0, 0, 0])[x.tier]!++;
    }
  }
  same('usedSlots()', r.usedSlots(), live);
  for (const owner of OWNERS) {
    same(`usedSlots(${owner})`, r.usedSlots(owner), used[owner] ?? 0);
    same(`pagesByTier(${owner})`, r.pagesByTier(owner).join(), (byTier[owner] ?? [0, 0, 0, 0, 0, 0]).join());
  }
  same('owners()', r.owners().sort().join(), [...new Set([...m.slots.values()].map((x) => x.owner))].sort().join());
  let seen = 0;
  r.forEachSlot((s) => {
    if (!m.slots.has(s)) throw new Error(`table has slot ${s} allocated, model does not`);
    seen++;
  });
  same('allocated slots', seen, m.slots.size);
  for (const s of m.released.slice(-20)) if (!m.slots.has(s)) same(`owner of released ${s}`, r.ownerOf(s), undefined);
}

class AllocateCmd implements fc.Command<Model, Real> {
  constructor(
    readonly owner: string,
    readonly count: number,
    readonly contiguous: boolean,
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const res = r.allocate(this.owner, this.count, this.contiguous);
    if (this.count < 1 || this.count > 512) {
      expect(res.ok ? 0 : res.error.code).toBe(status.INVALID_ARGUMENT);
    } else {
      if (!res.ok) throw new Error(res.error.message);
      const slots = res.value;
      expect(slots.length).toBe(this.count);
      expect(new Set(slots).size).toBe(this.count);
      // A small owner (no slot in a cluster of its own, few slots) is served from the shared clusters.
      const mineNow = [...m.slots.values()].filter((x) => x.owner === this.owner);
      const small = mineNow.every((x) => x.order === SHARED_ORDER) && mineNow.length + this.count <= SHARE_LIMIT;
      const order = this.contiguous && this.count > 1 ? Math.ceil(Math.log2(this.count)) : small ? SHARED_ORDER : 0;
      if (this.contiguous) {
        expect(slots[0]! % 2 ** (this.count > 1 ? order : 0)).toBe(0);
        slots.forEach((s, i) => expect(s).toBe(slots[0]! + i));
      }
      for (const s of slots) {
        // Never handed out twice while allocated (pinned count-0 slots included).
        if (m.slots.has(s)) throw new Error(`slot ${s} handed out again while allocated`);
        if (!(s >= 512)) throw new Error(`bad slot id ${s}`);
        m.slots.set(s, {
          owner: this.owner,
          count: 1,
          pinned: false,
          order,
          tier: TierCode.EMPTY,
          backend: 0,
          handle: 0,
          checksum: 0,
        });
      }
      // Two owners never share a cluster of their own; a shared cluster holds only shared slots.
      const mine = new Set(slots.map((y) => y >>> 9));
      for (const [s, x] of m.slots)
        if (mine.has(s >>> 9) && x.owner !== this.owner && (x.order !== SHARED_ORDER || order !== SHARED_ORDER))
          throw new Error(`owners ${x.owner} and ${this.owner} share cluster ${s >>> 9}`);
    }
    checkAgainstModel(m, r);
  }
  toString = () => `allocate(${this.owner}, ${this.count}, ${this.contiguous})`;
}

class DuplicateCmd implements fc.Command<Model, Real> {
  constructor(
    readonly owner: string,
    readonly picks: Pick[],
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const slots = resolve(m, this.owner, this.picks);
    let code = expectedCode(m, this.owner, slots);
    if (code === undefined && slots.some((s) => m.slots.get(s)!.count >= MAX_SWAP_COUNT))
      code = status.RESOURCE_EXHAUSTED;
    const res = r.duplicate(this.owner, slots);
    if (code !== undefined) {
      expect(res.ok ? 'ok' : res.error.code).toBe(code);
    } else {
      expect(res).toEqual({ ok: true, value: slots.map((s) => ++m.slots.get(s)!.count) });
    }
    checkAgainstModel(m, r);
  }
  toString = () => `duplicate(${this.owner}, ${JSON.stringify(this.picks)})`;
}

class FreeCmd implements fc.Command<Model, Real> {
  constructor(
    readonly owner: string,
    readonly picks: Pick[],
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const slots = resolve(m, this.owner, this.picks);
    const code = expectedCode(m, this.owner, slots);
    const res = r.free(this.owner, slots);
    if (code !== undefined) {
      expect(res.ok ? 'ok' : res.error.code).toBe(code);
    } else {
      const counts: number[] = [];
      const released = [];
      for (const s of slots) {
        const x = m.slots.get(s)!;
        counts.push(--x.count);
        if (x.count === 0 && !x.pinned) released.push(releaseInModel(m, s));
      }
      expect(res).toEqual({ ok: true, value: { counts, released } });
    }
    checkAgainstModel(m, r);
  }
  toString = () => `free(${this.owner}, ${JSON.stringify(this.picks)})`;
}

/** setBacking / pin / unpin / releaseSlot on one allocated slot (or, for unpin, any id). */
class SlotCmd implements fc.Command<Model, Real> {
  constructor(
    readonly op: 'setBacking' | 'pin' | 'unpin' | 'releaseSlot',
    readonly n: number,
    readonly backing: Backing,
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const all = [...m.slots.keys()];
    if (this.op === 'unpin' && (all.length === 0 || this.n % 5 === 0)) {
      const s = 512 + (this.n % 8192);
      if (!m.slots.has(s)) expect(r.unpin(s)).toBeUndefined();
      checkAgainstModel(m, r);
      return;
    }
    if (all.length === 0) return;
    const s = all[this.n % all.length]!;
    const x = m.slots.get(s)!;
    if (this.op === 'setBacking') {
      r.setBacking(s, this.backing);
      Object.assign(x, this.backing);
    } else if (this.op === 'pin') {
      r.pin(s);
      x.pinned = true;
    } else if (this.op === 'unpin') {
      const got = r.unpin(s);
      const wasPinned = x.pinned;
      x.pinned = false;
      expect(got).toEqual(wasPinned && x.count === 0 ? releaseInModel(m, s) : undefined);
    } else {
      r.releaseSlot(s);
      releaseInModel(m, s);
    }
    checkAgainstModel(m, r);
  }
  toString = () => `${this.op}(#${this.n}, ${JSON.stringify(this.backing)})`;
}

const ownerArb = fc.constantFrom(...OWNERS);
const ownPickArb: fc.Arbitrary<Pick> = fc.record({ kind: fc.constant<Pick['kind']>('own'), n: fc.nat() });
const picksArb = fc.oneof(
  { weight: 12, arbitrary: fc.array(ownPickArb, { minLength: 1, maxLength: 8 }) },
  { weight: 8, arbitrary: fc.array(pickArb, { minLength: 1, maxLength: 8 }) },
  { weight: 1, arbitrary: fc.constant([] as Pick[]) },
  { weight: 1, arbitrary: fc.constant(Array.from({ length: 513 }, (_, i): Pick => ({ kind: 'random', n: i }))) },
);
const backingArb: fc.Arbitrary<Backing> = fc.record({
  tier: fc.constantFrom(TierCode.EMPTY, TierCode.ZERO, TierCode.ZSWAP, TierCode.SWAPFILE, TierCode.LOST),
  backend: fc.integer({ min: 0, max: 255 }),
  handle: fc.nat({ max: 0xffffffff }),
  checksum: fc.nat({ max: 0xffffffff }),
});
const countArb = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 1, max: 40 }) },
  { weight: 3, arbitrary: fc.integer({ min: 41, max: 512 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 513) },
);

const commands = fc.commands(
  [
    fc.tuple(ownerArb, countArb, fc.boolean()).map(([o, n, c]) => new AllocateCmd(o, n, c)),
    fc.tuple(ownerArb, picksArb).map(([o, p]) => new DuplicateCmd(o, p)),
    fc.tuple(ownerArb, picksArb).map(([o, p]) => new FreeCmd(o, p)),
    fc.tuple(ownerArb, picksArb).map(([o, p]) => new FreeCmd(o, p)),
    fc.tuple(fc.nat(), backingArb).map(([n, b]) => new SlotCmd('setBacking', n, b)),
    fc.tuple(fc.nat(), backingArb).map(([n, b]) => new SlotCmd('pin', n, b)),
    fc.tuple(fc.nat(), backingArb).map(([n, b]) => new SlotCmd('unpin', n, b)),
    fc.tuple(fc.nat(), backingArb).map(([n, b]) => new SlotCmd('releaseSlot', n, b)),
  ],
  { maxCommands: 120, size: 'max' },
);

describe('slot table against a reference model', () => {
  it('agrees on every command of long random sequences, bad batches included', () => {
    fc.assert(
      fc.property(commands, (cmds) => {
        fc.modelRun(() => ({ model: new Model(), real: new SlotTable({ maxSwapCount: MAX_SWAP_COUNT }) }), cmds);
      }),
      { numRuns: 60 },
    );
  });
});
