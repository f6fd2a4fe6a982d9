/**
 * Random operations from several owners against the live coordinator. Every
 * reply is checked against a plain reference model of what each slot must
 * hold (owner, swap count, page bytes); after each run every slot is
 * compared with Inspect, then everything is freed and the table must be empty.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../../clients/cluster/local-cluster';
import type { VswapClient } from '../../../clients/sdk/client';
import { VswapClientError } from '../../../clients/sdk/errors';
import { PAGE_SIZE } from '../../../services/common/limits';

interface ModelSlot {
  owner: string;
  count: number;
  /** undefined while TIER_EMPTY */
  page: Buffer | undefined;
}
type Model = Map<number, ModelSlot>;
interface Real {
  c: VswapClient;
}

const OWNERS = ['a', 'b', 'c'];

/** Pages of every kind, from a small seed: zero, text-like, random-like. */
function pageOf(kind: number, seed: number): Buffer {
  const p = Buffer.alloc(PAGE_SIZE);
  if (kind === 0) return p;
  if (kind === 1) return Buffer.from(`page ${seed} `.repeat(PAGE_SIZE).slice(0, PAGE_SIZE));
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < PAGE_SIZE; i += 4) {
    x = (x * 1103515245 + 12345) >>> 0;
    p.writeUInt32LE(x, i);
  }
  return p;
}

const pick = (model: Model, owner: string, idx: number[]): number[] => {
  const mine = [...model.entries()].filter(([, v]) => v.owner === owner).map(([s]) => s);
  if (mine.length === 0) return [];
  return [...new Set(idx.map((i) => mine[i % mine.length]!))];
};

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    if (e instanceof VswapClientError) return e.codeName;
    throw e;
  }
}

class SwapOut implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly owner: string,
    readonly kinds: number[],
    readonly seed: number,
    readonly contiguous: boolean,
  ) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    const pages = this.kinds.map((k, i) => pageOf(k, this.seed + i));
    const { slots } = await r.c.swapOut(this.owner, pages, { contiguous: this.contiguous });
    expect(slots).toHaveLength(pages.length);
    for (const [i, s] of slots.entries()) {
      expect(m.has(s), `slot ${s} handed out twice`).toBe(false);
      m.set(s, { owner: this.owner, count: 1, page: pages[i] });
    }
  }
  toString = (): string => `swapOut(${this.owner}, ${this.kinds.length}${this.contiguous ? ', contiguous' : ''})`;
}

class Allocate implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly owner: string,
    readonly count: number,
  ) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    const slots = await r.c.allocate(this.owner, this.count);
    for (const s of slots) {
      expect(m.has(s)).toBe(false);
      m.set(s, { owner: this.owner, count: 1, page: undefined });
    }
  }
  toString = (): string => `allocate(${this.owner}, ${this.count})`;
}

class StorePages implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly owner: string,
    readonly idx: number[],
    readonly kind: number,
    readonly seed: number,
  ) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    const slots = pick(m, this.owner, this.idx);
    if (slots.length === 0) return;
    const pages = slots.map((_, i) => pageOf(this.kind, this.seed + i));
    await r.c.store(this.owner, slots, pages);
    slots.forEach((s, i) => (m.get(s)!.page = pages[i]));
  }
  toString = (): string => `store(${this.owner}, ${this.idx})`;
}

class Duplicate implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly owner: string,
    readonly idx: number[],
  ) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    const slots = pick(m, this.owner, this.idx);
    if (slots.length === 0) return;
    const counts = await r.c.duplicate(this.owner, slots);
    slots.forEach((s, i) => {
      const e = m.get(s)!;
      e.count++;
      expect(counts[i]).toBe(e.count);
    });
  }
  toString = (): string => `duplicate(${this.owner}, ${this.idx})`;
}

class Free implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly owner: string,
    readonly idx: number[],
  ) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    const slots = pick(m, this.owner, this.idx);
    if (slots.length === 0) return;
    const counts = await r.c.free(this.owner, slots);
    slots.forEach((s, i) => {
      const e = m.get(s)!;
      e.count--;
      expect(counts[i]).toBe(e.count);
      if (e.count === 0) m.delete(s);
    });
  }
  toString = (): string => `free(${this.owner}, ${this.idx})`;
}

class Load implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly owner: string,
    readonly idx: number[],
    readonly release: boolean,
  ) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    const slots = pick(m, this.owner, this.idx);
    if (slots.length === 0) return;
    if (slots.some((s) => m.get(s)!.page === undefined)) {
      expect(await code(r.c.load(this.owner, slots, { release: this.release }))).toBe('FAILED_PRECONDITION');
      return;
    }
    const pages = await r.c.load(this.owner, slots, { release: this.release });
    slots.forEach((s, i) => expect(pages[i]!.equals(m.get(s)!.page!), `slot ${s} bytes`).toBe(true));
    if (this.release)
      for (const s of slots) {
        const e = m.get(s)!;
        if (--e.count === 0) m.delete(s);
      }
  }
  toString = (): string => `load(${this.owner}, ${this.idx}${this.release ? ', release' : ''})`;
}

/** Bad requests: another owner's slot, a freed one: the right code, and the model unchanged. */
class Misuse implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly owner: string,
    readonly victim: string,
    readonly idx: number[],
  ) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    const theirs = pick(m, this.victim, this.idx);
    if (this.victim !== this.owner && theirs.length > 0) {
      expect(await code(r.c.free(this.owner, theirs))).toBe('PERMISSION_DENIED');
      expect(await code(r.c.duplicate(this.owner, theirs))).toBe('PERMISSION_DENIED');
    }
    const gone = 7 * 512 * 1024 + 3; // never allocated in a run this short
    expect(await code(r.c.free(this.owner, [gone]))).toBe('NOT_FOUND');
  }
  toString = (): string => `misuse(${this.owner} -> ${this.victim})`;
}

/** Compares every slot of the model with Inspect, and the totals with Stats. */
async function checkAll(m: Model, c: VswapClient): Promise<void> {
  for (const owner of OWNERS) {
    const slots = [...m.entries()].filter(([, v]) => v.owner === owner).map(([s]) => s);
    if (slots.length > 0) {
      const infos = await c.inspect(owner, slots);
      infos.forEach((info, i) => {
        const e = m.get(slots[i]!)!;
        expect(info.count).toBe(e.count);
        expect(info.owner).toBe(owner);
        expect(info.tier === 'TIER_EMPTY').toBe(e.page === undefined);
      });
    }
    expect((await c.stats(owner)).usedSlots).toBe(slots.length);
  }
}

describe('coordinator against a reference model', () => {
  let dir: string;
  let cluster: LocalCluster;
  let client: VswapClient;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-model-'));
    // A small zswap pool so that random runs also exercise rejection and writeback.
    cluster = await LocalCluster.start({
      dataDir: dir,
      zswap: { poolBytes: '256K' },
      swapfiles: [
        { name: 'f1', capacityPages: 8192, priority: 1 },
        { name: 'f2', capacityPages: 8192, priority: 1 },
      ],
      coordinatorArgs: ['--poll-ms', '50'],
    });
    client = cluster.client();
  });
  afterAll(async () => {
    client?.close();
    await cluster?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps counts, ownership, ids and bytes right through random sequences', async () => {
    const owner = fc.constantFrom(...OWNERS);
    const idx = fc.array(fc.nat(1000), { minLength: 1, maxLength: 12 });
    const commands = [
      fc
        .tuple(
          owner,
          fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 40 }),
          fc.nat(1e6),
          fc.boolean(),
        )
        .map(([o, k, s, c]) => new SwapOut(o, k, s, c)),
      fc.tuple(owner, fc.integer({ min: 1, max: 20 })).map(([o, n]) => new Allocate(o, n)),
      fc
        .tuple(owner, idx, fc.integer({ min: 0, max: 2 }), fc.nat(1e6))
        .map(([o, i, k, s]) => new StorePages(o, i, k, s)),
      fc.tuple(owner, idx).map(([o, i]) => new Duplicate(o, i)),
      fc.tuple(owner, idx).map(([o, i]) => new Free(o, i)),
      fc.tuple(owner, idx, fc.boolean()).map(([o, i, r]) => new Load(o, i, r)),
      fc.tuple(owner, owner, idx).map(([o, v, i]) => new Misuse(o, v, i)),
    ];
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 60 }), async (cmds) => {
        const model: Model = new Map();
        await fc.asyncModelRun(() => ({ model, real: { c: client } }), cmds);
        await checkAll(model, client);
        for (const [s, e] of model) for (let k = 0; k < e.count; k++) await client.free(e.owner, [s]);
        expect((await client.stats()).usedSlots).toBe(0);
      }),
      { numRuns: 12, seed: 20261127 },
    );
  });
});
