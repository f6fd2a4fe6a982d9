/**
 * npm run bench:cluster [-- --json]
 *
 * What the coordinator's hop costs. For each target (zswap in memory,
 * swapfile on a file, swapfile on Redis) it starts a real cluster and runs,
 * for batches of 1, 16 and 512, the same cycle two ways with the same calls
 * in flight: through the coordinator (SwapOut, then Load with release) and
 * straight to the backend (Put, Get, Delete) as unary calls, as a stock gRPC
 * client makes them. The figure is pages per second of whole cycles, in
 * steady state: every path first runs unmeasured at every batch
 * (`--warm-up`, see warmUp()); then the ways alternate in rounds, each timed
 * window right after a short unmeasured run of its own path (`--lead-in`,
 * see window()), and each ratio is the median of per-round ratios (the
 * machine is shared: ratios measured side by side drift much less than
 * absolute figures). Pages are counted after each await (`total += n`), so
 * concurrent workers never lose a count.
 *
 * The hop's ceiling: the same cycle through a forwarder (forwarder.ts), a
 * VirtualSwap that is only the hop (SwapOut -> Put, Load -> Get, no slot
 * table, journal or request log), in the same rounds. forwarder_vs_direct
 * is what any coordinator made of gRPC unary calls reaches here;
 * coordinator_vs_forwarder is what the coordinator's own work costs on top.
 *
 * The coordinator and the forwarder send their Puts, Gets and Deletes on a
 * Backend.Link stream (backend-link.ts), which costs the caller far less CPU
 * than a unary call each. So the same direct cycle also runs on a link of its
 * own (direct_link): coordinator_vs_direct_link is the hop against a direct
 * caller with the same transport, the strict comparison.
 *
 * Also: single-page Load latency through the coordinator against a
 * single-page backend Get (one call in flight), with the same Load through
 * the bare forwarder beside it (forwarder_load_p99_us: the tail any hop adds
 * here, the floor of the coordinator's), and 50 owners against one owner
 * with the same 50 calls in flight (zswap target, batch 16).
 *
 * Where the CPU goes: in every timed window, the CPU time (user + system,
 * /proc/<pid>/stat) of each process on the path, per 1000 pages
 * (by_target.*.cpu_ms_per_1000_pages: client, coordinator or forwarder,
 * backend and its Redis server, total). This machine's cores are shared by
 * the client, the hop and the backend, so once they are all busy pages/s
 * follows the total: cpu_bound_ratio_{512,16} (direct total / coordinator
 * total, the lowest over the targets) is what coordinator_vs_direct comes to
 * when CPU is the only limit, and moves far less from run to run than pages/s.
 *
 * And the cost of security: the same SwapOut + Load(release) cycle through
 * two zswap clusters side by side, one with TLS, tokens, the principals file
 * and mutual TLS to the backend (what `npm start` runs), one plaintext with
 * none: secure_vs_plain_{512,16,1} (goal >= 0.8 at 512), with the CPU each
 * process spends per 1000 pages in each (security.cpu_ms_per_1000_pages), to
 * show which end pays for TLS.
 *
 * The client: this process is the client of every path, and it runs with
 * the services' heap growth (`--client-heap-growth`, default 300, as every
 * service and the forwarder; heap-growth.ts). With V8's own heuristic (0)
 * its mark-compacts came at a rate per second however fast the path ran, so
 * the slower path paid more client CPU per page (figures: the README,
 * Benchmarks, *Heap growth*).
 *
 * Headline keys: coordinator_vs_direct_{512,16} are the lowest ratio over
 * the targets, as are forwarder_vs_direct_{512,16} and
 * coordinator_vs_forwarder_{512,16}; load_*_us, direct_get_p99_us and
 * forwarder_load_p99_us come from the target with the worst p99 ratio;
 * pages_per_s_512 is zswap's; by_target has everything.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command, InvalidArgumentError } from 'commander';
import * as lz4 from 'lz4-napi';
import { BackendClient } from '../../services/common/backend-client';
import { DEFAULT_HEAP_GROWTH_PERCENT, applyHeapGrowth } from '../../services/common/heap-growth';
import { ChildRegistry } from '../cluster/child-registry';
import { LocalCluster, type LocalClusterOptions } from '../cluster/local-cluster';
import { CpuMeter, startForwarder, startRedis } from './children';
import { heapGrowthPercent, nonNegativeNumber, positiveNumber } from './option-parsers';
import { ensureCredentials } from '../credentials/credentials';
import type { CredentialPaths } from '../credentials/layout';
import { VswapClient } from '../sdk/client';
import { buildCorpus } from './corpus';
import { emitReport, median, progress, renderTable, round, type Cell } from './report';

const TARGETS = ['zswap', 'swapfile_file', 'swapfile_redis'] as const;
type TargetName = (typeof TARGETS)[number];
const BATCHES = [1, 16, 512] as const;

interface Options {
  json: boolean;
  seconds: number;
  rounds: number;
  inFlight: number;
  /** Seconds each path runs at each batch, unmeasured, before the rounds. */
  warmUp: number;
  /** Seconds each path runs, unmeasured, right before each of its timed windows (0: none). */
  leadIn: number;
  latencySamples: number;
  targets: TargetName[];
  /** This process's heap growth (heap-growth.ts; 0: V8's own heuristic). */
  clientHeapGrowth: number;
}

interface TargetResult {
  /** Pages/s through the coordinator, the bare forwarder and direct, per batch (medians over rounds). */
  coordinator: PerBatch;
  forwarder: PerBatch;
  direct: PerBatch;
  /** Pages/s straight to the backend on a Link stream. */
  directLink: PerBatch;
  /** Medians of per-round ratios: coordinator/direct, forwarder/direct, coordinator/forwarder, coordinator/direct link. */
  ratio: PerBatch;
  forwarderRatio: PerBatch;
  overForwarder: PerBatch;
  linkRatio: PerBatch;
  loadP50Us: number;
  loadP99Us: number;
  directGetP50Us: number;
  directGetP99Us: number;
  /** Single-page Get on a Link stream. */
  directLinkGetP99Us: number;
  /** Single-page Load through the forwarder: the hop's own latency. */
  forwarderLoadP99Us: number;
  /** Per path and batch: ms of CPU per 1000 pages of each process on it, and their total. */
  cpu: Record<PathName, Record<number, Record<string, number>>>;
}

const PATHS = ['coordinator', 'forwarder', 'direct', 'direct_link'] as const;
type PathName = (typeof PATHS)[number];

/** A value for each batch. */
function byBatch<T>(f: (b: number) => T): Record<number, T> {
  return Object.fromEntries(BATCHES.map((b) => [b, f(b)]));
}

/** One CpuMeter per batch for each set of processes (a path's, or a cluster's), under the same key. */
function cpuMeters<K extends string>(pids: Record<K, Record<string, number>>): Record<K, Record<number, CpuMeter>> {
  return Object.fromEntries(
    Object.entries<Record<string, number>>(pids).map(([k, p]) => [k, byBatch(() => new CpuMeter(p))]),
  ) as Record<K, Record<number, CpuMeter>>;
}

/** Each meter's ms of CPU per 1000 pages, per process and total, to 0.01 ms. */
function cpuFigures<K extends string>(
  meters: Record<K, Record<number, CpuMeter>>,
): Record<K, Record<number, Record<string, number>>> {
  const per1000 = (m: CpuMeter): Record<string, number> =>
    Object.fromEntries(Object.entries(m.msPer1000Pages()).map(([k, v]) => [k, round(v, 2)]));
  return Object.fromEntries(
    Object.entries<Record<number, CpuMeter>>(meters).map(([k, m]) => [k, byBatch((b) => per1000(m[b]!))]),
  ) as Record<K, Record<number, Record<string, number>>>;
}

/** What the coordinator/direct ratio would be if the CPU the processes use were the only limit. */
function cpuBoundRatio(r: TargetResult, batch: number): number {
  return r.cpu.direct[batch]!.total! / r.cpu.coordinator[batch]!.total!;
}

/** A started service's pid (NaN, so CPU figures read NaN, should it have none). */
function pidOf(service: { child: { pid?: number } } | undefined): number {
  return service?.child.pid ?? NaN;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Pages/s of each round, per batch. */
type Rounds = Record<number, number[]>;
/** One figure per batch. */
type PerBatch = Record<number, number>;

/** Per batch, the median over the rounds. */
function medians(rec: Rounds): PerBatch {
  return byBatch((b) => median(rec[b]!));
}

/** Per batch, the median of the per-round ratios a/b (measured side by side, so the machine's drift cancels). */
function roundRatios(a: Rounds, b: Rounds): PerBatch {
  return byBatch((n) => median(a[n]!.map((x, i) => x / b[n]![i]!)));
}

/** A per-batch figure rounded for the report. */
function perBatch(rec: PerBatch, decimals = 0): PerBatch {
  return byBatch((b) => round(rec[b]!, decimals));
}

/** The corpus pages in turn, `n` at a time, round and round. */
function pageFeed(pages: readonly Buffer[]): (n: number) => Buffer[] {
  let cursor = 0;
  return (n) => {
    const out: Buffer[] = [];
    for (let i = 0; i < n; i++) out.push(pages[cursor++ % pages.length]!);
    return out;
  };
}

/** The workload's cycle through a VirtualSwap: SwapOut of `batch`, then Load with release of its slots. */
async function swapCycle(via: VswapClient, owner: string, batch: Buffer[]): Promise<number> {
  const { slots } = await via.swapOut(owner, batch);
  await via.load(owner, slots, { release: true });
  return batch.length;
}

/** What a timed run completed: pages, in how many seconds. */
interface Completed {
  pages: number;
  seconds: number;
}

/** Runs `workers` loops of `cycle` for `seconds`; returns the pages they completed. */
async function run(seconds: number, workers: number, cycle: (worker: number) => Promise<number>): Promise<Completed> {
  let total = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      while (performance.now() < end) {
        const n = await cycle(w);
        total += n;
      }
    }),
  );
  return { pages: total, seconds: (performance.now() - start) / 1000 };
}

/** Runs `workers` loops of `cycle` for `seconds`; returns pages per second. */
async function timed(seconds: number, workers: number, cycle: (worker: number) => Promise<number>): Promise<number> {
  const done = await run(seconds, workers, cycle);
  return done.pages / done.seconds;
}

/**
 * Runs every path at every batch for `warmUp` seconds, unmeasured, before the
 * rounds. Each process JIT-compiles its path over its first ~20 s of load (in
 * 0.5 s windows a fresh coordinator's pages/s rose from ~2,500 to ~5,000 at
 * batch 16, and the direct path's with it), and the path with the most code
 * (the coordinator) warms up last: measured cold, a ratio says more about
 * V8's tiers than about the hop.
 */
async function warmUp(o: Options, paths: ((batch: number) => (worker: number) => Promise<number>)[]): Promise<void> {
  for (const b of BATCHES) for (const p of paths) await timed(o.warmUp, o.inFlight, p(b));
}

/**
 * One timed window of a path, right after `o.leadIn` seconds of the same path
 * unmeasured. In the rounds a path sits idle while the others run, and a
 * process coming back from idle starts slow. V8 counts Buffers' bytes as
 * external memory and collects as they grow (--trace-gc: "external memory
 * pressure", about every 0.1 s in the coordinator at batch 16): in steady
 * state as scavenges, but right after an idle spell as a run of ten or so
 * mark-compacts in the first 0.7 s. In 0.25 s buckets after 2 s idle, the
 * coordinator's first 0.75 s at batch 16 ran 10-20% below the rest of its
 * window; the forwarder showed no such dip. Without the lead-in each window
 * measures how fast a path recovers from idle, which depends on the order
 * the paths run in, more than how fast it runs.
 */
async function window(o: Options, cycle: (worker: number) => Promise<number>, cpu?: CpuMeter): Promise<number> {
  if (o.leadIn > 0) await timed(o.leadIn, o.inFlight, cycle);
  const measured = (): Promise<Completed> => run(o.seconds, o.inFlight, cycle);
  const done = await (cpu ? cpu.measure(measured) : measured());
  return done.pages / done.seconds;
}

async function startTarget(
  name: TargetName,
  dir: string,
  registry: ChildRegistry,
  credentials?: CredentialPaths,
): Promise<{ cluster: LocalCluster; backend: string; redisPid?: number }> {
  let opts: Omit<LocalClusterOptions, 'dataDir'>;
  let backend: string;
  let redisPid: number | undefined;
  if (name === 'zswap') {
    opts = { zswap: { poolBytes: '1G' }, swapfiles: [] };
    backend = 'zswap';
  } else if (name === 'swapfile_file') {
    opts = { zswap: false, swapfiles: [{ name: 'file0', capacityPages: 262144 }] };
    backend = 'file0';
  } else {
    const redis = await startRedis(registry, path.join(dir, 'redis'));
    redisPid = redis.pid;
    opts = {
      zswap: false,
      swapfiles: [{ name: 'redis0', store: 'redis', redisUrl: redis.url, capacityPages: 262144 }],
    };
    backend = 'redis0';
  }
  const cluster = await LocalCluster.start({
    dataDir: path.join(dir, name),
    ...opts,
    credentials,
    onSpawn: (c) => registry.track(c),
  });
  return { cluster, backend, redisPid };
}

async function measureTarget(
  name: TargetName,
  o: Options,
  pages: readonly Buffer[],
  dir: string,
  registry: ChildRegistry,
): Promise<TargetResult> {
  const { cluster, backend, redisPid } = await startTarget(name, dir, registry);
  const client = cluster.client(60_000);
  const backendAddress = cluster.node(backend).address;
  const direct = new BackendClient(backendAddress, { deadlineMs: 60_000, link: false });
  const directLink = new BackendClient(backendAddress, { deadlineMs: 60_000 });
  const { service: forwarder, client: hop } = await startForwarder(registry, backendAddress, 60_000);
  try {
    const take = pageFeed(pages);
    const through = (via: VswapClient, batch: number) => (): Promise<number> => swapCycle(via, 'bench', take(batch));
    const straight = (via: BackendClient, batch: number) => async (): Promise<number> => {
      const res = await via.put(take(batch));
      const handles = res.handles.filter((h) => h > 0);
      if (handles.length > 0) {
        await via.get(handles, true);
        await via.delete(handles, 'DELETE_FREED');
      }
      return handles.length;
    };
    await warmUp(o, [
      (b) => through(client, b),
      (b) => through(hop, b),
      (b) => straight(direct, b),
      (b) => straight(directLink, b),
    ]);
    const coord: Rounds = {};
    const fwd: Rounds = {};
    const dir2: Rounds = {};
    const dirLink: Rounds = {};
    // The backend's CPU includes its Redis server's, where it has one.
    const backendPids = { backend: pidOf(cluster.node(backend).service), ...(redisPid ? { redis: redisPid } : {}) };
    const cpu = cpuMeters({
      coordinator: { client: process.pid, coordinator: pidOf(cluster.coordinator.service), ...backendPids },
      forwarder: { client: process.pid, forwarder: pidOf(forwarder), ...backendPids },
      direct: { client: process.pid, ...backendPids },
      direct_link: { client: process.pid, ...backendPids },
    });
    for (let r = 0; r < o.rounds; r++) {
      for (const b of BATCHES) {
        // The order turns each round, so no path always runs first (or last) on a drifting machine.
        const paths = [
          { out: coord, cycle: through(client, b), cpu: cpu.coordinator[b] },
          { out: fwd, cycle: through(hop, b), cpu: cpu.forwarder[b] },
          { out: dir2, cycle: straight(direct, b), cpu: cpu.direct[b] },
          { out: dirLink, cycle: straight(directLink, b), cpu: cpu.direct_link[b] },
        ];
        for (let i = 0; i < paths.length; i++) {
          const p = paths[(i + r) % paths.length]!;
          (p.out[b] ??= []).push(await window(o, p.cycle, p.cpu));
        }
      }
      progress(
        `${name}: round ${r + 1}/${o.rounds}: ` +
          `${BATCHES.map((b) => `b${b} ${[coord, fwd, dir2, dirLink].map((x) => round(x[b]!.at(-1)!)).join('/')}`).join(', ')} ` +
          'pages/s (coordinator/forwarder/direct/direct link)',
      );
    }
    // Latency: one page, one call in flight.
    const { slots } = await client.swapOut('latency', take(256));
    const hopSlots = (await hop.swapOut('latency', take(256))).slots;
    const put = await direct.put(take(256));
    const handles = put.handles.filter((h) => h > 0);
    const loadUs: number[] = [];
    const hopUs: number[] = [];
    const getUs: number[] = [];
    const linkGetUs: number[] = [];
    for (let i = 0; i < o.latencySamples; i++) {
      const s = slots[i % slots.length]!;
      const h = handles[i % handles.length]!;
      let t = performance.now();
      await client.load('latency', [s]);
      loadUs.push((performance.now() - t) * 1000);
      t = performance.now();
      await direct.get([h], true);
      getUs.push((performance.now() - t) * 1000);
      t = performance.now();
      await hop.load('latency', [hopSlots[i % hopSlots.length]!]);
      hopUs.push((performance.now() - t) * 1000);
      t = performance.now();
      await directLink.get([h], true);
      linkGetUs.push((performance.now() - t) * 1000);
    }
    for (const samples of [loadUs, getUs, hopUs, linkGetUs]) samples.sort((a, b) => a - b);
    await client.free('latency', slots);
    await direct.delete(handles, 'DELETE_FREED');
    return {
      coordinator: medians(coord),
      forwarder: medians(fwd),
      direct: medians(dir2),
      directLink: medians(dirLink),
      ratio: roundRatios(coord, dir2),
      linkRatio: roundRatios(coord, dirLink),
      forwarderRatio: roundRatios(fwd, dir2),
      overForwarder: roundRatios(coord, fwd),
      loadP50Us: percentile(loadUs, 50),
      loadP99Us: percentile(loadUs, 99),
      directGetP50Us: percentile(getUs, 50),
      directGetP99Us: percentile(getUs, 99),
      directLinkGetP99Us: percentile(linkGetUs, 99),
      forwarderLoadP99Us: percentile(hopUs, 99),
      cpu: cpuFigures(cpu),
    };
  } finally {
    client.close();
    hop.close();
    direct.close();
    directLink.close();
    await forwarder.kill();
    await cluster.stop();
  }
}

/** Pages/s with TLS and tokens against plaintext with none, per batch (medians over rounds), zswap target. */
interface SecurityResult {
  secure: PerBatch;
  plain: PerBatch;
  ratio: PerBatch;
  /** Per cluster and batch: ms of CPU per 1000 pages of the client, coordinator and zswap, and their total. */
  cpu: Record<SecurityMode, Record<number, Record<string, number>>>;
}

type SecurityMode = 'secure' | 'plain';

async function measureSecurity(
  o: Options,
  pages: readonly Buffer[],
  dir: string,
  registry: ChildRegistry,
): Promise<SecurityResult> {
  const credentials = (await ensureCredentials({ dir: path.join(dir, 'credentials') })).paths;
  const secure = await startTarget('zswap', path.join(dir, 'secure'), registry, credentials);
  const plain = await startTarget('zswap', path.join(dir, 'plain'), registry);
  const clients = { secure: secure.cluster.client(60_000), plain: plain.cluster.client(60_000) };
  const pids = (c: LocalCluster): Record<string, number> => ({
    client: process.pid,
    coordinator: pidOf(c.coordinator.service),
    backend: pidOf(c.node('zswap').service),
  });
  const cpu = cpuMeters({ secure: pids(secure.cluster), plain: pids(plain.cluster) });
  try {
    if (!clients.secure.tls || clients.plain.tls)
      throw new Error('the secure cluster must use TLS and the plain one not');
    const take = pageFeed(pages);
    const cycle = (client: VswapClient, batch: number) => (): Promise<number> =>
      swapCycle(client, 'bench', take(batch));
    await warmUp(o, [(b) => cycle(clients.secure, b), (b) => cycle(clients.plain, b)]);
    const on: Rounds = {};
    const off: Rounds = {};
    for (let r = 0; r < o.rounds; r++) {
      for (const b of BATCHES) {
        const order = r % 2 === 0 ? (['secure', 'plain'] as const) : (['plain', 'secure'] as const);
        const got: Record<string, number> = {};
        for (const which of order) got[which] = await window(o, cycle(clients[which], b), cpu[which][b]);
        (on[b] ??= []).push(got.secure!);
        (off[b] ??= []).push(got.plain!);
      }
      progress(
        `security: round ${r + 1}/${o.rounds}: ` +
          `${BATCHES.map((b) => `b${b} ${round(on[b]!.at(-1)!)}/${round(off[b]!.at(-1)!)}`).join(', ')} ` +
          'pages/s (secure/plain)',
      );
    }
    return {
      secure: medians(on),
      plain: medians(off),
      ratio: roundRatios(on, off),
      cpu: cpuFigures(cpu),
    };
  } finally {
    clients.secure.close();
    clients.plain.close();
    await secure.cluster.stop();
    await plain.cluster.stop();
  }
}

/** 50 owners at once against one owner, the same 50 calls in flight (zswap, batch 16). */
async function measureOwners(
  o: Options,
  pages: readonly Buffer[],
  dir: string,
  registry: ChildRegistry,
): Promise<number> {
  const { cluster } = await startTarget('zswap', path.join(dir, 'owners'), registry);
  const client = cluster.client(60_000);
  try {
    const take = pageFeed(pages);
    const cycle =
      (owner: (w: number) => string) =>
      (w: number): Promise<number> =>
        swapCycle(client, owner(w), take(16));
    await timed(
      o.warmUp,
      50,
      cycle((w) => `warm-${w}`),
    );
    const ratios: number[] = [];
    for (let r = 0; r < o.rounds; r++) {
      const one = await timed(
        o.seconds,
        50,
        cycle(() => 'one'),
      );
      const fifty = await timed(
        o.seconds,
        50,
        cycle((w) => `owner-${w}`),
      );
      ratios.push(fifty / one);
    }
    return median(ratios);
  } finally {
    client.close();
    await cluster.stop();
  }
}

/** --targets: commander reports a bad name as the option's error (exit 1), not as a crash. */
function targetList(v: string): TargetName[] {
  const names = v.split(',');
  for (const t of names)
    if (!(TARGETS as readonly string[]).includes(t))
      throw new InvalidArgumentError(`unknown target "${t}": one of ${TARGETS.join(', ')}`);
  return names as TargetName[];
}

async function main(): Promise<void> {
  const cmd = new Command('bench:cluster')
    .description('pages/s and latency through the coordinator against straight to the backend')
    .option('--json', 'print one JSON object', false)
    .option('--seconds <s>', 'length of each timed measurement', positiveNumber, 2)
    .option('--warm-up <s>', 'unmeasured seconds per path and batch before the rounds', positiveNumber, 2)
    .option(
      '--lead-in <s>',
      'unmeasured seconds of each path right before each of its timed windows',
      nonNegativeNumber,
      1,
    )
    .option('--rounds <n>', 'rounds (median reported)', positiveNumber, 3)
    .option('--in-flight <n>', 'calls in flight', positiveNumber, 4)
    .option('--latency-samples <n>', 'single-page calls timed per target', positiveNumber, 2000)
    .option('--targets <list>', `comma-separated: ${TARGETS.join(',')}`, targetList, [...TARGETS])
    .option(
      '--client-heap-growth <percent>',
      "this process's V8 heap growth, as every service's (0: V8's own heuristic)",
      heapGrowthPercent,
      DEFAULT_HEAP_GROWTH_PERCENT,
    )
    .parse();
  const raw = cmd.opts<Options>();
  const o: Options = {
    ...raw,
    rounds: Math.round(raw.rounds),
    inFlight: Math.round(raw.inFlight),
    latencySamples: Math.round(raw.latencySamples),
  };
  // The client of every path runs with the services' heap growth (see the header).
  applyHeapGrowth(o.clientHeapGrowth);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-bench-cluster-'));
  const registry = new ChildRegistry();
  try {
    // Text pages only (zswap takes them all, and no zero page skips the backends on one path only),
    // and only pages that compress to under half (zswap refuses what it cannot shrink).
    const corpus = buildCorpus({ pages: 4096, mix: { zero: 0, node: 0, lib: 0, text: 1 } });
    const pages = corpus.pages.filter((p) => lz4.compressSync(p).length < p.length / 2);
    if (pages.length < 512) throw new Error(`only ${pages.length} corpus pages compress to under half`);
    const results: Partial<Record<TargetName, TargetResult>> = {};
    for (const t of o.targets) results[t] = await measureTarget(t, o, pages, dir, registry);
    const fifty = await measureOwners(o, pages, dir, registry);
    const security = await measureSecurity(o, pages, dir, registry);
    const list = Object.entries(results) as [TargetName, TargetResult][];
    /** The lowest of a ratio over the targets: the headline keys. */
    const lowest = (pick: (r: TargetResult) => number): number => round(Math.min(...list.map(([, r]) => pick(r))), 3);
    const worstLatency = list.reduce((a, b) =>
      b[1].loadP99Us / b[1].directGetP99Us > a[1].loadP99Us / a[1].directGetP99Us ? b : a,
    );
    const figures = {
      coordinator_vs_direct_512: lowest((r) => r.ratio[512]!),
      coordinator_vs_direct_16: lowest((r) => r.ratio[16]!),
      coordinator_vs_direct_1: lowest((r) => r.ratio[1]!),
      forwarder_vs_direct_512: lowest((r) => r.forwarderRatio[512]!),
      forwarder_vs_direct_16: lowest((r) => r.forwarderRatio[16]!),
      coordinator_vs_forwarder_512: lowest((r) => r.overForwarder[512]!),
      coordinator_vs_forwarder_16: lowest((r) => r.overForwarder[16]!),
      coordinator_vs_direct_link_512: lowest((r) => r.linkRatio[512]!),
      coordinator_vs_direct_link_16: lowest((r) => r.linkRatio[16]!),
      cpu_bound_ratio_512: lowest((r) => cpuBoundRatio(r, 512)),
      cpu_bound_ratio_16: lowest((r) => cpuBoundRatio(r, 16)),
      load_p50_us: round(worstLatency[1].loadP50Us),
      load_p99_us: round(worstLatency[1].loadP99Us),
      direct_get_p99_us: round(worstLatency[1].directGetP99Us),
      direct_link_get_p99_us: round(worstLatency[1].directLinkGetP99Us),
      forwarder_load_p99_us: round(worstLatency[1].forwarderLoadP99Us),
      latency_target: worstLatency[0],
      pages_per_s_512: round(results.zswap?.coordinator[512] ?? list[0]![1].coordinator[512]!),
      fifty_vs_one_owner: round(fifty, 3),
      secure_vs_plain_512: round(security.ratio[512]!, 3),
      secure_vs_plain_16: round(security.ratio[16]!, 3),
      secure_vs_plain_1: round(security.ratio[1]!, 3),
      security: {
        secure_pages_per_s: perBatch(security.secure),
        plain_pages_per_s: perBatch(security.plain),
        cpu_ms_per_1000_pages: security.cpu,
      },
      by_target: Object.fromEntries(
        list.map(([t, r]) => [
          t,
          {
            coordinator_pages_per_s: perBatch(r.coordinator),
            forwarder_pages_per_s: perBatch(r.forwarder),
            direct_pages_per_s: perBatch(r.direct),
            direct_link_pages_per_s: perBatch(r.directLink),
            coordinator_vs_direct: perBatch(r.ratio, 3),
            forwarder_vs_direct: perBatch(r.forwarderRatio, 3),
            coordinator_vs_forwarder: perBatch(r.overForwarder, 3),
            coordinator_vs_direct_link: perBatch(r.linkRatio, 3),
            load_p50_us: round(r.loadP50Us),
            load_p99_us: round(r.loadP99Us),
            direct_get_p50_us: round(r.directGetP50Us),
            direct_get_p99_us: round(r.directGetP99Us),
            direct_link_get_p99_us: round(r.directLinkGetP99Us),
            forwarder_load_p99_us: round(r.forwarderLoadP99Us),
            cpu_ms_per_1000_pages: r.cpu,
          },
        ]),
      ),
      settings: {
        seconds: o.seconds,
        warm_up_seconds: o.warmUp,
        lead_in_seconds: o.leadIn,
        rounds: o.rounds,
        in_flight: o.inFlight,
        latency_samples: o.latencySamples,
        client_heap_growth_percent: o.clientHeapGrowth,
        cpus: os.cpus().length,
        loadavg: os.loadavg().map((v) => round(v, 2)),
      },
    };
    const rows: Cell[][] = [];
    for (const [t, r] of list)
      for (const b of BATCHES)
        rows.push([
          t,
          b,
          round(r.coordinator[b]!),
          round(r.forwarder[b]!),
          round(r.direct[b]!),
          round(r.directLink[b]!),
          round(r.ratio[b]!, 3),
          round(r.forwarderRatio[b]!, 3),
          round(r.linkRatio[b]!, 3),
        ]);
    const text =
      renderTable({
        title:
          'SwapOut + Load(release) through the coordinator and through the bare forwarder (the hop alone) ' +
          'vs Put + Get + Delete straight to the backend (unary calls, and on a Link stream)',
        headers: [
          'target',
          'batch',
          'coordinator pages/s',
          'forwarder pages/s',
          'direct pages/s',
          'direct link pages/s',
          'coordinator/direct',
          'forwarder/direct',
          'coordinator/direct link',
        ],
        rows,
      }) +
      '\n' +
      renderTable({
        title: 'single-page latency, one call in flight (µs)',
        headers: ['target', 'Load p50', 'Load p99', 'Get p50', 'Get p99', 'link Get p99', 'forwarder Load p99'],
        rows: list.map(([t, r]) => [
          t,
          round(r.loadP50Us),
          round(r.loadP99Us),
          round(r.directGetP50Us),
          round(r.directGetP99Us),
          round(r.directLinkGetP99Us),
          round(r.forwarderLoadP99Us),
        ]),
      }) +
      '\n' +
      renderTable({
        title:
          'CPU per 1000 pages (ms, user + system, /proc/<pid>/stat) of each process on a path, in its timed windows; ' +
          'cpu-bound ratio: direct total / coordinator total',
        headers: ['target', 'batch', 'path', 'client', 'hop', 'backend', 'total', 'cpu-bound ratio'],
        rows: list.flatMap(([t, r]) =>
          [16, 512].flatMap((b) =>
            PATHS.map((p): Cell[] => {
              const c = r.cpu[p][b]!;
              return [
                t,
                b,
                p,
                c.client!,
                c.coordinator ?? c.forwarder ?? '',
                (c.backend ?? 0) + (c.redis ?? 0),
                c.total!,
                p === 'coordinator' ? round(cpuBoundRatio(r, b), 3) : '',
              ];
            }),
          ),
        ),
      }) +
      '\n' +
      renderTable({
        title: 'TLS and tokens on vs off: SwapOut + Load(release) through the coordinator (zswap)',
        headers: ['batch', 'secure pages/s', 'plain pages/s', 'ratio'],
        rows: BATCHES.map((b) => [
          b,
          round(security.secure[b]!),
          round(security.plain[b]!),
          round(security.ratio[b]!, 3),
        ]),
      }) +
      '\n' +
      renderTable({
        title: 'CPU per 1000 pages (ms), TLS and tokens on vs off',
        headers: ['batch', 'cluster', 'client', 'coordinator', 'backend', 'total'],
        rows: [16, 512].flatMap((b) =>
          (['secure', 'plain'] as const).map((m): Cell[] => {
            const c = security.cpu[m][b]!;
            return [b, m, c.client!, c.coordinator!, c.backend!, c.total!];
          }),
        ),
      }) +
      `\n50 owners vs 1 owner (50 calls in flight, zswap, batch 16): ${round(fifty, 3)}\n` +
      'goals: coordinator_vs_direct_512/_16 >= 0.6 (now ' +
      `${figures.coordinator_vs_direct_512} / ` +
      `${figures.coordinator_vs_direct_16}; against a direct link ${figures.coordinator_vs_direct_link_512} / ` +
      `${figures.coordinator_vs_direct_link_16}); Load p99 <= 2x Get p99 (now ` +
      `${round(figures.load_p99_us / figures.direct_get_p99_us, 2)}x on ` +
      `${figures.latency_target}; the bare forwarder there: ` +
      `${round(figures.forwarder_load_p99_us / figures.direct_get_p99_us, 2)}x); fifty_vs_one_owner >= 0.95; ` +
      `secure_vs_plain_512 >= 0.8 (now ${figures.secure_vs_plain_512})\n`;
    emitReport({ json: o.json, text, figures });
  } finally {
    await registry.stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:cluster failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
