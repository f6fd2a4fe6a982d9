/**
 * npm run bench:snapshot [-- --json]
 *
 * What a journal snapshot costs the coordinator's callers when the table is
 * large. A real cluster (the coordinator and a zswap), `--slots` live slots
 * (default 1,000,000, all-zero pages: the zero tier, so filling costs no
 * backend I/O) over 1,000 owners; then for `--seconds` one owner Duplicates
 * and Frees the same 512 slots back to back, which grows the journal until it
 * starts a new generation (a snapshot of the whole table), again and again,
 * while a probe makes one Inspect call at a time (2 ms apart) and times it.
 *
 * Figures: the snapshots started in the window (the coordinator's own
 * journal counter, from Stats), the probe's p50/p99/p99.9/max latency, and
 * how many probes waited more than 50 ms: the probe's max is about what one
 * snapshot costs the calls that meet it. A snapshot used to be built and
 * written on the coordinator's event loop, so every call waited for all of it
 * (max 736-859 ms here); it now runs in the background (journal.ts:
 * startSnapshot()) and only its switch takes one turn: max 31-45 ms, as
 * with no snapshot at all (38 ms with VSWAP_COORDINATOR_SNAPSHOT_AFTER_BYTES
 * past reach), the rest of the tail being the churn's own 512-slot calls.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import { positiveInteger } from './option-parsers';
import { ChildRegistry } from '../cluster/child-registry';
import { LocalCluster } from '../cluster/local-cluster';
import { emitReport, progress, round } from './report';

const OWNERS = 1000;
const BATCH = 512;
const PAGE_SIZE = 4096;

/** The `q` quantile of ascending `sorted`. */
function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  const o = new Command('bench:snapshot')
    .option('--slots <n>', 'live slots before the window', positiveInteger, 1_000_000)
    .option('--seconds <s>', 'length of the timed window', positiveInteger, 30)
    .option('--json', 'print one JSON object')
    .parse()
    .opts<{ slots: number; seconds: number; json?: boolean }>();
  const registry = new ChildRegistry();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-bench-snapshot-'));
  try {
    const cluster = await LocalCluster.start({
      dataDir: dir,
      zswap: { poolBytes: '64M' },
      swapfiles: [],
      onSpawn: (c) => registry.track(c),
    });
    const client = cluster.client(60_000);
    try {
      const zeros = Array<Buffer>(BATCH).fill(Buffer.alloc(PAGE_SIZE));
      let churned: number[] = [];
      const filled = performance.now();
      for (let i = 0, turn = 0; i < o.slots; i += BATCH, turn++) {
        const owner = `owner-${turn % OWNERS}`;
        const { slots } = await client.swapOut(owner, zeros);
        if (owner === 'owner-1' && churned.length === 0) churned = slots;
        if (turn % 200 === 0) progress(`filled ${i + BATCH} of ${o.slots} slots`);
      }
      if (churned.length === 0) throw new Error(`--slots ${o.slots} is too few: owner-1 got no slots`);
      const fillSeconds = (performance.now() - filled) / 1000;
      const probed = churned[0]!;
      const before = (await client.stats()).journal;
      const latencies: number[] = [];
      let stop = false;
      const probe = (async (): Promise<void> => {
        while (!stop) {
          const t = performance.now();
          await client.inspect('owner-1', [probed]);
          latencies.push(performance.now() - t);
          await new Promise((r) => setTimeout(r, 2));
        }
      })();
      let calls = 0;
      const end = performance.now() + o.seconds * 1000;
      try {
        while (performance.now() < end) {
          await client.duplicate('owner-1', churned);
          await client.free('owner-1', churned);
          calls += 2;
        }
      } finally {
        stop = true;
        await probe;
      }
      const after = (await client.stats()).journal;
      latencies.sort((a, b) => a - b);
      const figures = {
        live_slots: o.slots,
        fill_seconds: round(fillSeconds, 1),
        churn_calls: calls,
        snapshots: Number(after?.snapshots ?? 0) - Number(before?.snapshots ?? 0),
        probes: latencies.length,
        probe_p50_ms: round(quantile(latencies, 0.5), 2),
        probe_p99_ms: round(quantile(latencies, 0.99), 2),
        probe_p999_ms: round(quantile(latencies, 0.999), 2),
        probe_max_ms: round(latencies.at(-1) ?? NaN, 1),
        probes_over_50ms: latencies.filter((l) => l > 50).length,
      };
      emitReport({
        json: o.json === true,
        figures,
        text:
          `journal snapshots with ${o.slots} live slots (${OWNERS} owners), ${o.seconds} s of Duplicate + Free ` +
          `of ${BATCH} slots:\n` +
          `  snapshots started: ${figures.snapshots} (${calls} churn calls)\n` +
          `  probe (one Inspect at a time, ${latencies.length} calls): p50 ${figures.probe_p50_ms} ms, ` +
          `p99 ${figures.probe_p99_ms} ms, p99.9 ${figures.probe_p999_ms} ms, max ${figures.probe_max_ms} ms\n` +
          `  probes over 50 ms: ${figures.probes_over_50ms}\n`,
      });
    } finally {
      client.close();
      await cluster.stop();
    }
  } finally {
    await registry.stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:snapshot: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
