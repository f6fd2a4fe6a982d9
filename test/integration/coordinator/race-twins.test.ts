/**
 * Real-process twins of the in-process race tests (test/unit/coordinator/
 * races.test.ts): there each ordering is forced once with a held fake call;
 * here a real coordinator and real backends (child processes, real gRPC) run
 * the same interleavings many times over, concurrently, and every answer is
 * checked strictly:
 * - every Load returns the bytes of a version of the slot that was the last
 *   acknowledged one when the Load was sent, or a Store sent before it
 *   answered (a Store in flight may be served from the swap cache), never
 *   anything else, and no Load or Store fails;
 * - nothing leaks: once every slot is freed, every backend holds 0 pages.
 * Nothing sleeps to synchronise: the actors run loops of calls and stop when
 * the writers are done; waits for backends to settle are bounded polls.
 */
import { describe, expect, it } from 'vitest';
import type { VswapClient } from '../../../clients/sdk/client';
import { PAGE_SIZE } from '../../../services/common/limits';
import { clusterPerTest, counter, until } from './helpers';

/**
 * The bytes of version `v` of a slot: text (zswap keeps it), seeded noise
 * (zswap rejects it: the swapfile), or, every 7th, all zero (no backend), so
 * the storms cross tiers. Distinct per slot and version (but for zero pages).
 */
function versionPage(slot: number, v: number): Buffer {
  if (v % 7 === 6) return Buffer.alloc(PAGE_SIZE);
  if (v % 2 === 0) {
    const line = `slot ${slot} version ${v} the quick brown fox jumps over the lazy dog\n`;
    return Buffer.from(line.repeat(Math.ceil(PAGE_SIZE / line.length)).slice(0, PAGE_SIZE));
  }
  const b = Buffer.alloc(PAGE_SIZE);
  let x = (slot * 2654435761 + v * 40503 + 1) >>> 0 || 1;
  for (let i = 0; i < PAGE_SIZE; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, i);
  }
  return b;
}

/**
 * What is known of each slot's versions: `acked` the last Store (or SwapOut)
 * answered, `sent` the last sent. One writer per slot, so at most one version
 * is in flight.
 */
class Versions {
  readonly acked = new Map<number, number>();
  readonly sent = new Map<number, number>();
  /** Loads checked, and those that saw a version still in flight. */
  loads = 0;
  inFlightSeen = 0;

  start(slots: readonly number[]): void {
    for (const s of slots) {
      this.acked.set(s, 0);
      this.sent.set(s, 0);
    }
  }

  /** A strict check of one Load: sent after `ackedAtSend`, answered before `sentAtAnswer`. */
  check(slots: readonly number[], pages: readonly Buffer[], ackedAtSend: number[], sentAtAnswer: number[]): void {
    expect(pages).toHaveLength(slots.length);
    slots.forEach((s, i) => {
      let found = -1;
      for (let v = ackedAtSend[i]!; v <= sentAtAnswer[i]!; v++) if (pages[i]!.equals(versionPage(s, v))) found = v;
      expect(found, `slot ${s}: not version ${ackedAtSend[i]} to ${sentAtAnswer[i]}`).toBeGreaterThanOrEqual(0);
      if (found > ackedAtSend[i]!) this.inFlightSeen++;
    });
    this.loads++;
  }

  /** Loads `slots` (without release) and checks what comes back. */
  async load(c: VswapClient, owner: string, slots: readonly number[]): Promise<void> {
    const ackedAtSend = slots.map((s) => this.acked.get(s)!);
    const pages = await c.load(owner, [...slots]);
    this.check(
      slots,
      pages,
      ackedAtSend,
      slots.map((s) => this.sent.get(s)!),
    );
  }

  /** Stores the next version of each slot (one writer per slot). */
  async store(c: VswapClient, owner: string, slots: readonly number[]): Promise<void> {
    const next = slots.map((s) => this.sent.get(s)! + 1);
    slots.forEach((s, i) => this.sent.set(s, next[i]!));
    await c.store(
      owner,
      [...slots],
      slots.map((s, i) => versionPage(s, next[i]!)),
    );
    slots.forEach((s, i) => this.acked.set(s, next[i]!));
  }
}

/** Runs `body` in a loop until `done()` says stop; the count of rounds run. */
/** `n` new slots of `owner`, each holding version 0 under its own id, tracked from there by a new Versions. */
async function versionedSlots(c: VswapClient, owner: string, n: number): Promise<{ slots: number[]; vs: Versions }> {
  const { slots } = await c.swapOut(
    owner,
    Array.from({ length: n }, (_, i) => versionPage(0, i)),
  );
  // A page names its slot, which only the SwapOut's answer tells: store version 0 again under each id.
  const vs = new Versions();
  vs.start(slots);
  await c.store(
    owner,
    slots,
    slots.map((s) => versionPage(s, 0)),
  );
  return { slots, vs };
}

async function loopUntil(done: () => boolean, body: (i: number) => Promise<void>): Promise<number> {
  let i = 0;
  while (!done()) await body(i++);
  return i;
}

/** A few distinct slots of `slots`, picked by round. */
function pick(slots: readonly number[], round: number, n: number): number[] {
  const out = new Set<number>();
  for (let k = 0; out.size < Math.min(n, slots.length); k++)
    out.add(slots[(round * 7919 + k * 104729) % slots.length]!);
  return [...out];
}

/** Waits (bounded) until every backend holds no page, and returns their used pages. */
async function backendsEmpty(c: VswapClient): Promise<number[]> {
  const list = await until(
    () => c.listBackends(),
    (bs) => bs.every((b) => b.usedPages === 0),
    20_000,
  );
  return list.map((b) => b.usedPages);
}

describe('race twins against a real cluster', () => {
  const fx = clusterPerTest();

  it('Store vs Load (and writeback): storms on the same slots; every Load is the last acknowledged version or one in flight, and nothing leaks', async () => {
    const c = await fx.start(
      {
        zswap: { poolBytes: '1M' },
        swapfiles: [{ name: 'file0', capacityPages: 16384 }],
        coordinatorArgs: ['--writeback-batch', '16', '--poll-ms', '100'],
      },
      30_000,
    );
    const owner = 'storm';
    const { slots, vs } = await versionedSlots(c, owner, 96);
    // Four writers, each the only writer of its quarter of the slots.
    const quarters = [0, 1, 2, 3].map((q) => slots.filter((_, i) => i % 4 === q));
    let writing = 4;
    const writers = quarters.map(async (mine) => {
      for (let round = 0; round < 40; round++) await vs.store(c, owner, pick(mine, round, 1 + (round % 8)));
      writing--;
    });
    const done = (): boolean => writing === 0;
    const readers = [0, 1, 2, 3].map((r) => loopUntil(done, (i) => vs.load(c, owner, pick(slots, i * 4 + r, 8))));
    // Writeback on demand, next to the background writeback a 1 MiB pool sets off.
    const writebacks = loopUntil(done, () => c.writeback(24).then(() => undefined));
    await Promise.all(writers);
    const [rounds] = await Promise.all([Promise.all(readers), writebacks]);
    expect(rounds.every((n) => n > 0)).toBe(true);
    // At rest: every slot reads exactly its last acknowledged version.
    await vs.load(c, owner, slots);
    for (const s of slots) expect(vs.acked.get(s)).toBe(vs.sent.get(s));
    const st = await c.stats(owner);
    expect(counter(st.pagesByTier, 'TIER_SWAPFILE')).toBeGreaterThan(0);
    expect(counter((await c.stats()).counters, 'written_back_pages')).toBeGreaterThan(0);
    // Free everything: both backends end empty (no copy of an overwritten or moved version is kept).
    await c.free(owner, slots);
    expect(await backendsEmpty(c)).toEqual([0, 0]);
  });

  it('Free vs writeback: slots freed while writeback moves them are released everywhere; the rest read back exactly', async () => {
    const c = await fx.start(
      {
        zswap: { poolBytes: '64M' },
        swapfiles: [{ name: 'file0', capacityPages: 16384 }],
        coordinatorArgs: ['--writeback-batch', '8'],
      },
      30_000,
    );
    for (let round = 0; round < 6; round++) {
      const owners = ['fa', 'fb', 'fc'];
      const held = new Map<string, { slots: number[]; pages: Buffer[] }>();
      for (const [k, o] of owners.entries()) {
        const pages = Array.from({ length: 128 }, (_, i) => versionPage(round * 1000 + k * 200 + i, 0));
        // Text pages: zswap takes them (the swapfile, should a poll on a loaded machine miss zswap).
        const { slots } = await c.swapOut(o, pages);
        held.set(o, { slots, pages });
      }
      // Writeback moves them while each owner frees (and loads with release) its slots in batches.
      let freeing = owners.length;
      const frees = owners.map(async (o) => {
        const { slots, pages } = held.get(o)!;
        for (let i = 0; i < slots.length; i += 16) {
          const batch = slots.slice(i, i + 16);
          if ((i / 16) % 2 === 0) await c.free(o, batch);
          else {
            const back = await c.load(o, batch, { release: true });
            back.forEach((p, k) => expect(p.equals(pages[i + k]!)).toBe(true));
          }
        }
        freeing--;
      });
      const moved = [0, 1].map(() =>
        loopUntil(
          () => freeing === 0,
          () => c.writeback(16).then(() => undefined),
        ),
      );
      await Promise.all([...frees, ...moved]);
      expect((await c.stats()).usedSlots).toBe(0);
      expect(await backendsEmpty(c)).toEqual([0, 0]);
    }
    expect(counter((await c.stats()).counters, 'written_back_pages')).toBeGreaterThan(0);
  });

  it('swapoff vs Store: Stores to the slots being drained win, the drain keeps no stale copy, and the backend ends off and empty', async () => {
    const c = await fx.start(
      {
        zswap: false,
        swapfiles: [
          { name: 'a', capacityPages: 4096, priority: 10 },
          { name: 'b', capacityPages: 4096, priority: 1 },
        ],
        coordinatorArgs: ['--writeback-batch', '8'],
      },
      30_000,
    );
    const owner = 'drained';
    for (let round = 0; round < 4; round++) {
      const { slots, vs } = await versionedSlots(c, owner, 160);
      // The drain runs while two writers store new versions of the same slots and a reader checks them.
      let draining = true;
      const drain = (async () => {
        const progress = [];
        for await (const p of c.swapoff('a')) progress.push(p);
        draining = false;
        return progress;
      })();
      const halves = [0, 1].map((h) => slots.filter((_, i) => i % 2 === h));
      const writers = halves.map((mine) =>
        loopUntil(
          () => !draining,
          (i) => vs.store(c, owner, pick(mine, i, 4)),
        ),
      );
      const reader = loopUntil(
        () => !draining,
        (i) => vs.load(c, owner, pick(slots, i, 16)),
      );
      const [progress] = await Promise.all([drain, ...writers, reader]);
      expect(progress.at(-1)).toMatchObject({ done: true, remaining: 0 });
      await vs.load(c, owner, slots);
      const infos = await c.inspect(owner, slots);
      expect(infos.filter((d) => d.backend === 'a')).toEqual([]);
      // b holds exactly the live pages (all but the zero ones): no copy of a replaced version stayed behind.
      const onB = infos.filter((d) => d.backend === 'b').length;
      const list = await until(
        () => c.listBackends(),
        (bs) => bs.find((b) => b.name === 'b')!.usedPages === onB,
        20_000,
      );
      expect(list.map((b) => [b.name, b.state, b.usedPages])).toEqual([
        ['a', 'off', 0],
        ['b', 'active', onB],
      ]);
      await c.free(owner, slots);
      expect(await backendsEmpty(c)).toEqual([0, 0]);
      await c.swapon('a', 10);
    }
  });

  it('reconcile vs Put, both ways: SwapOuts keep running while a swapfile stops and comes back to be reconciled; acknowledged pages are never deleted as orphans, refused ones keep nothing', async () => {
    const c = await fx.start(
      {
        zswap: false,
        swapfiles: [
          { name: 'a', capacityPages: 8192 },
          { name: 'b', capacityPages: 8192 },
        ],
        coordinatorArgs: ['--backend-deadline-ms', '60000', '--poll-ms', '100'],
      },
      90_000,
    );
    const held = new Map<number, { owner: string; page: Buffer }>();
    let refused = 0;
    for (let round = 0; round < 3; round++) {
      const reconciles = counter((await c.stats()).counters, 'reconciles');
      let running = true;
      // Writers: SwapOuts to both swapfiles, some of them in flight on `a` while it is stopped and reconciled.
      const writers = [0, 1, 2].map((w) =>
        loopUntil(
          () => !running,
          async (i) => {
            const pages = Array.from({ length: 8 }, (_, k) => versionPage(round * 100000 + w * 10000 + i * 8 + k, 1));
            try {
              const { slots } = await c.swapOut(`w${w}`, pages);
              slots.forEach((s, k) => held.set(s, { owner: `w${w}`, page: pages[k]! }));
            } catch (e) {
              // The documented answer of a SwapOut no backend could take; it changed nothing.
              expect((e as { codeName?: string }).codeName).toBe('UNAVAILABLE');
              refused++;
            }
          },
        ),
      );
      fx.cluster.pause('a');
      // The coordinator's poll sees `a` gone (a reconcile is then due when it answers again)...
      await until(
        () => c.listBackends(),
        (bs) => !bs.find((b) => b.name === 'a')!.reachable,
        20_000,
      );
      fx.cluster.resume('a');
      // ...and reconciles it while the writers go on.
      await until(
        () => c.stats(),
        (s) => counter(s.counters, 'reconciles') > reconciles,
        20_000,
      );
      running = false;
      await Promise.all(writers);
    }
    // Every acknowledged page is where its slot says, byte for byte; the refused SwapOuts hold no slot.
    expect((await c.stats()).usedSlots).toBe(held.size);
    for (const o of ['w0', 'w1', 'w2']) {
      const mine = [...held].filter(([, h]) => h.owner === o).map(([s]) => s);
      for (let i = 0; i < mine.length; i += 64) {
        const batch = mine.slice(i, i + 64);
        (await c.load(o, batch)).forEach((p, k) => expect(p.equals(held.get(batch[k]!)!.page)).toBe(true));
        await c.free(o, batch);
      }
    }
    expect((await c.stats()).usedSlots).toBe(0);
    // Nothing leaked: neither a page a reconcile kept for a refused SwapOut nor one it failed to delete.
    expect(await backendsEmpty(c)).toEqual([0, 0]);
    expect(refused).toBeLessThan(held.size);
  });
});
