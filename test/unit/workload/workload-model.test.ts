/**
 * The workload against an in-memory model of the coordinator's slot rules
 * (no processes): corruptions and lost pages must be seen and counted, never
 * hidden, and the references it reports must be exactly what it holds.
 */
import { status as Status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { VswapClient } from '../../../clients/sdk/client';
import { VswapClientError } from '../../../clients/sdk/errors';
import { Workload } from '../../../clients/workload/workload';

class ModelCluster {
  next = 1;
  slots = new Map<number, { owner: string; count: number; page: Buffer; lost: boolean }>();
  /** Flip a byte of every page read from this slot. */
  corrupt = new Set<number>();

  private check(owner: string, slots: number[]) {
    if (new Set(slots).size !== slots.length)
      throw new VswapClientError(Status.INVALID_ARGUMENT, 'the same slot twice');
    for (const s of slots) {
      const e = this.slots.get(s);
      if (!e) throw new VswapClientError(Status.NOT_FOUND, `slot ${s} is not allocated`, slots);
      if (e.owner !== owner)
        throw new VswapClientError(Status.PERMISSION_DENIED, `slot ${s} belongs to another owner`, slots);
    }
  }
  client(): VswapClient {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the fake's methods close over the model
    const m = this;
    const free = async (owner: string, slots: number[]) => {
      m.check(owner, slots);
      return slots.map((s) => {
        const e = m.slots.get(s)!;
        if (--e.count === 0) m.slots.delete(s);
        return e.count;
      });
    };
    return {
      async swapOut(owner: string, pages: Buffer[]) {
        const slots = pages.map((p) => {
          const s = m.next++;
          m.slots.set(s, { owner, count: 1, page: Buffer.from(p), lost: false });
          return s;
        });
        return { slots, tiers: slots.map(() => 'TIER_ZSWAP' as const) };
      },
      async load(owner: string, slots: number[], o: { release?: boolean } = {}) {
        m.check(owner, slots);
        for (const s of slots)
          if (m.slots.get(s)!.lost) throw new VswapClientError(Status.DATA_LOSS, `slot ${s} lost its data`, slots);
        const pages = slots.map((s) => {
          const p = Buffer.from(m.slots.get(s)!.page);
          if (m.corrupt.has(s)) p[100] = p[100]! ^ 0xff;
          return p;
        });
        if (o.release) await free(owner, slots);
        return pages;
      },
      async duplicate(owner: string, slots: number[]) {
        m.check(owner, slots);
        return slots.map((s) => ++m.slots.get(s)!.count);
      },
      free,
      async inspect(owner: string, slots: number[]) {
        m.check(owner, slots);
        return slots.map((s) => ({
          slot: s,
          count: m.slots.get(s)!.count,
          owner,
          tier: 'TIER_ZSWAP',
          backend: 'zswap',
          handle: 0,
          checksum: 0,
          inSwapCache: false,
        }));
      },
    } as unknown as VswapClient;
  }
  counts(): Map<number, number> {
    return new Map([...this.slots].map(([s, e]) => [s, e.count]));
  }
}

const options = {
  processes: 3,
  pagesPerProcess: 200,
  memoryLimitPages: 40,
  operations: 400,
  forkRate: 0.05,
  exitRate: 0.03,
  concurrency: 3,
  seed: 11,
};

describe('Workload over a model cluster', () => {
  it('holds exactly the references the cluster counts, through forks and exits, and drains to nothing', async () => {
    const m = new ModelCluster();
    const w = new Workload(m.client(), options);
    const r = await w.run();
    expect(r.steps).toBe(400);
    expect(r.corruptions).toBe(0);
    expect(r.errors).toEqual({});
    expect(r.processes.forks).toBeGreaterThan(0);
    expect(r.processes.exits).toBeGreaterThan(0);
    expect(w.liveReferences()).toEqual(m.counts());
    expect(r.liveReferences).toBe([...m.counts().values()].reduce((a, b) => a + b, 0));
    expect((await w.verifyAll()).corruptions).toBe(0);
    const d = await w.drain();
    expect(d.remaining).toBe(0);
    expect(m.slots.size).toBe(0);
  });

  it('the same seed makes the same run (one step in flight)', async () => {
    const a = new ModelCluster();
    const b = new ModelCluster();
    const ra = await new Workload(a.client(), { ...options, concurrency: 1 }).run();
    const rb = await new Workload(b.client(), { ...options, concurrency: 1 }).run();
    expect([ra.pagesOut, ra.pagesIn, ra.processes]).toEqual([rb.pagesOut, rb.pagesIn, rb.processes]);
    expect([...a.slots.values()].map((e) => e.page.toString('hex'))).toEqual(
      [...b.slots.values()].map((e) => e.page.toString('hex')),
    );
  });

  it('counts a page that comes back different as a corruption, with its slot', async () => {
    const m = new ModelCluster();
    const w = new Workload(m.client(), { ...options, forkRate: 0, exitRate: 0 });
    await w.run();
    const victims = [...m.slots.keys()].slice(0, 3);
    for (const s of victims) m.corrupt.add(s);
    const v = await w.verifyAll();
    expect(v.corruptions).toBe(3);
    expect(v.problems.map((p) => p.slot).sort((x, y) => x - y)).toEqual(victims);
    expect(v.problems.every((p) => p.kind === 'corruption' && p.expectedChecksum !== p.actualChecksum)).toBe(true);
    // And during a run, when a process faults one of them back in.
    const r = await w.run();
    expect(r.corruptions).toBeGreaterThan(0);
    expect(r.problems.filter((p) => p.kind === 'corruption').every((p) => victims.includes(p.slot))).toBe(true);
  });

  it('counts DATA_LOSS by code and lost page, frees the lost slot, and keeps going', async () => {
    const m = new ModelCluster();
    const w = new Workload(m.client(), { ...options, forkRate: 0, exitRate: 0, pattern: 'uniform' });
    await w.run();
    for (const e of m.slots.values()) e.lost = true;
    const r = await w.run();
    expect(r.errors.DATA_LOSS).toBeGreaterThan(0);
    expect(r.errorsByOp.load?.DATA_LOSS).toBe(r.errors.DATA_LOSS);
    expect(r.lostPages).toBeGreaterThan(0);
    expect(r.problems.some((p) => p.kind === 'data-loss' && p.code === 'DATA_LOSS' && p.slot > 0)).toBe(true);
    expect(r.corruptions).toBe(0);
    // Lost slots it found were freed; the references it reports are still exact.
    expect(w.liveReferences()).toEqual(m.counts());
    await w.drain();
    expect(m.slots.size).toBe(0);
  });
});
