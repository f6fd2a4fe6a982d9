import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../../clients/cluster/local-cluster';
import type { VswapClient } from '../../../clients/sdk/client';
import { Workload } from '../../../clients/workload/workload';

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 2000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every slot the workload holds shows exactly the references it holds. */
async function expectCountsMatch(client: VswapClient, w: Workload): Promise<number> {
  let checked = 0;
  for (const owner of w.owners()) {
    const refs = w.liveReferences(owner);
    const slots = [...refs.keys()];
    if (slots.length === 0) continue;
    const infos = await client.inspect(owner, slots);
    const wrong = infos.filter((s) => s.count !== refs.get(s.slot) || s.owner !== owner);
    expect(wrong, `swap counts of ${owner}`).toEqual([]);
    checked += slots.length;
  }
  return checked;
}

describe('workload driver against a real cluster', () => {
  let dir: string;
  let cluster: LocalCluster;
  let client: VswapClient;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-workload-'));
    // A small zswap pool, so pages spill to the swapfile too.
    cluster = await LocalCluster.start({
      dataDir: dir,
      zswap: { poolBytes: '2M' },
      swapfiles: [{ name: 'file0', capacityPages: 32768 }],
    });
    client = cluster.client();
  });

  afterAll(async () => {
    client?.close();
    await cluster?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs processes that fork and exit with zero corruptions; counts match; drain leaves nothing behind', async () => {
    const w = new Workload(client, {
      processes: 4,
      pagesPerProcess: 384,
      memoryLimitPages: 96,
      pattern: 'zipfian',
      // A step budget, not a duration: the same amount of work however busy the machine is.
      operations: 600,
      forkRate: 0.06,
      exitRate: 0.04,
      concurrency: 4,
      seed: 7,
    });
    const report = await w.run();
    expect(report.corruptions).toBe(0);
    expect(report.problems).toEqual([]);
    expect(report.errors).toEqual({});
    expect(report.pagesOut).toBeGreaterThan(0);
    expect(report.pagesIn).toBeGreaterThan(0);
    expect(report.processes.forks + report.processes.exits).toBeGreaterThan(0);
    expect(report.operations.duplicate).toBeGreaterThan(0);
    expect(report.latency.swapOut?.count).toBeGreaterThan(0);
    expect(report.latency.swapOut!.p99Us).toBeGreaterThanOrEqual(report.latency.swapOut!.p50Us);

    // Pages spread over the tiers a real mix ends up on.
    const tiers = Object.fromEntries((await client.stats()).pagesByTier.map((c) => [c.name, c.value]));
    expect(tiers.TIER_ZERO).toBeGreaterThan(0);
    expect(tiers.TIER_ZSWAP).toBeGreaterThan(0);
    expect(tiers.TIER_SWAPFILE).toBeGreaterThan(0);

    // Shared slots after forks: the cluster's swap counts are exactly our references.
    const refs = w.liveReferences();
    expect([...refs.values()].some((n) => n > 1)).toBe(true);
    expect(await expectCountsMatch(client, w)).toBe(refs.size);

    const verify = await w.verifyAll();
    expect(verify.corruptions).toBe(0);
    expect(verify.errors).toEqual({});
    expect(verify.pages).toBe([...refs.values()].reduce((a, b) => a + b, 0));

    const drained = await w.drain();
    expect(drained.remaining).toBe(0);
    expect(drained.errors).toEqual({});
    expect(w.liveReferences().size).toBe(0);
    const stats = await until(
      () => client.stats(),
      (s) => s.usedSlots === 0,
    );
    expect(stats.usedSlots).toBe(0);
    const backends = await until(
      () => client.listBackends(),
      (bs) => bs.every((b) => b.usedPages === 0),
    );
    expect(backends.map((b) => [b.name, b.usedPages])).toEqual([
      ['zswap', 0],
      ['file0', 0],
    ]);
  });

  it('a shared owner and a sequential scan: every fault is verified, the run stops at the operation budget', async () => {
    const w = new Workload(client, {
      processes: 2,
      pagesPerProcess: 128,
      memoryLimitPages: 32,
      pattern: 'sequential',
      operations: 60,
      owners: 'shared',
      ownerPrefix: 'scan',
      forkRate: 0.1,
      exitRate: 0,
      concurrency: 2,
    });
    const report = await w.run();
    expect(report.steps).toBe(60);
    expect(w.owners()).toEqual(['scan']);
    expect(report.corruptions).toBe(0);
    expect(report.errors).toEqual({});
    // A scan larger than memory faults every page back in once it wraps.
    expect(report.pagesIn).toBeGreaterThan(0);
    await expectCountsMatch(client, w);
    expect((await w.verifyAll()).corruptions).toBe(0);
    await w.drain();
    const s = await until(
      () => client.stats('scan'),
      (st) => st.usedSlots === 0,
    );
    expect(s.usedSlots).toBe(0);
  });

  it('stops promptly when aborted, and refuses verify/drain while running', async () => {
    const w = new Workload(client, {
      processes: 2,
      pagesPerProcess: 256,
      memoryLimitPages: 64,
      durationMs: 60_000,
      ownerPrefix: 'abort',
    });
    const ac = new AbortController();
    const running = w.run(ac.signal);
    await expect(w.drain()).rejects.toThrow(/while the workload runs/);
    await expect(w.run()).rejects.toThrow(/already running/);
    setTimeout(() => ac.abort(), 500).unref();
    const report = await running;
    expect(report.elapsedMs).toBeLessThan(30_000);
    expect(report.corruptions).toBe(0);
    await w.drain();
    expect(w.liveReferences().size).toBe(0);
  });
});
