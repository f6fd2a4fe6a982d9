/**
 * npm run bench:backends [-- --json]
 *
 * How close each backend service comes to the gRPC ceiling. For every target
 * (zswap in memory, swapfile on a file, swapfile on Redis, and an echo
 * service that carries the same payloads with zero storage work) the same
 * client code runs Put -> Get (of what was put) -> Delete cycles in batches,
 * a few calls in flight, for a fixed time; the figure is Put+Get pages per
 * second ((pages put + pages read back) / 2: a page zswap refuses is not
 * read back). All targets are measured in one run, in rounds with
 * a rotating order, and each ratio is the median of per-round ratios against
 * the echo measured in the same round: absolute figures drift on a noisy
 * 2-core machine, ratios measured side by side much less.
 *
 * zswap_secure is zswap as `npm start` runs it: TLS, client certificates from
 * the cluster CA (mutual TLS) and the cluster token on every call;
 * secure_vs_plain_<batch> is its figure against plain zswap's, each against
 * the echo of its round (goal >= 0.8 at 512).
 *
 * For zswap also: the compression ratio on the corpus, and its pages/s
 * against the raw codec (lz4-napi compress + decompress) in this process on
 * one core.
 */
import { sharedEnv } from '../../services/common/config';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command, InvalidArgumentError } from 'commander';
import * as lz4 from 'lz4-napi';
import { BackendClient } from '../../services/common/backend-client';
import { MAX_BATCH, PAGE_SIZE } from '../../services/common/limits';
import { generateKeyRingText } from '../../services/common/page-cipher';
import type { ClientTls } from '../../services/common/auth/tls-channel';
import { ensureCredentials } from '../credentials/credentials';
import { readTokenFile } from '../credentials/layout';
import { backendSecurityArgs } from '../cluster/local-cluster';
import { ServiceStartError, type StartedService } from '../cluster/spawn-service';
import { buildCorpus, PAGE_KINDS, type Corpus } from './corpus';
import { ChildRegistry } from '../cluster/child-registry';
import { processCpuSeconds, startRedis } from './children';
import { emitReport, median, progress, renderTable, round, type Cell } from './report';

/** The package root, from dist/clients/bench. */
const REPO_ROOT = path.resolve(__dirname, '../../..');
const TARGETS = ['echo', 'zswap', 'zswap_secure', 'swapfile_file', 'swapfile_redis', 'swapfile_redis_sealed'] as const;
type TargetName = (typeof TARGETS)[number];
const TARGET_LABEL: Record<TargetName, string> = {
  echo: 'echo (gRPC ceiling)',
  zswap: 'zswap memory',
  zswap_secure: 'zswap memory, mTLS + token',
  swapfile_file: 'swapfile file',
  swapfile_redis: 'swapfile redis',
  swapfile_redis_sealed: 'swapfile redis, AES-256-GCM',
};
/** What the issue asks of every service: service / echo, and zswap / codec. */
const TARGET_RATIO = 0.7;

export interface BackendBenchOptions {
  /** Print one JSON object on stdout instead of the table; default false. */
  json: boolean;
  /** Length of each timed measurement; default 2 s (short slices, interleaved: load drifts less within one). */
  seconds: number;
  /** Rounds of every measurement (median reported); default 5. */
  rounds: number;
  /** Calls in flight per target; default 4. */
  inFlight: number;
  /** Batch sizes; the first is the headline figure; default 64 and 512. */
  batches: number[];
  /** Pages in the corpus; default 4096 (16 MiB). */
  corpusPages: number;
  /** Corpus seed; default 1. */
  seed: number;
  /** Targets besides echo (always measured); default all three services. */
  targets: TargetName[];
  /** zswap's compressor; default lz4 (the codec compared against is lz4). */
  compressor: string;
  /** swapfile --fsync (file store); default batch, the service's own default. */
  fsync: string;
  /** Node options for the service processes, echo included (e.g. --cpu-prof); default none. */
  serviceNodeArgs: string[];
}

interface Target {
  name: TargetName;
  label: string;
  service: StartedService;
  client: BackendClient;
  /** The service process, and the redis-server it stores into (0: none). */
  pid: number;
  redisPid: number;
}

interface Measurement {
  /** (pages put + pages read back) / 2, per second. */
  pagesPerSec: number;
  /** Pages Put refused (handle 0), which then skip Get and Delete. */
  rejected: number;
  pages: number;
  /** CPU microseconds per Put+Get page: in the service process, in its redis-server (0 without), and in this client. */
  serverCpuUsPerPage: number;
  redisCpuUsPerPage: number;
  clientCpuUsPerPage: number;
}

function parseArgs(argv: string[]): BackendBenchOptions {
  const positiveInt = (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('a positive integer');
    return n;
  };
  const program = new Command('bench:backends')
    .description('Put+Get pages/s of each backend service against an echo service and the raw codec')
    .option('--json', 'print exactly one JSON object on stdout', false)
    .option(
      '--seconds <s>',
      'length of each timed measurement',
      (v) => {
        const n = Number(v);
        if (!(n > 0)) throw new InvalidArgumentError('a positive number');
        return n;
      },
      2,
    )
    .option('--rounds <n>', 'rounds (median reported)', positiveInt, 5)
    .option('--in-flight <n>', 'calls in flight per target', positiveInt, 4)
    .option(
      '--batches <list>',
      'batch sizes, comma-separated; the first is the headline',
      (v) => {
        const list = v.split(',').map((s) => positiveInt(s.trim()));
        if (list.some((b) => b > MAX_BATCH)) throw new InvalidArgumentError(`at most ${MAX_BATCH} pages per batch`);
        return list;
      },
      [64, 512],
    )
    .option('--corpus-pages <n>', 'pages in the corpus', positiveInt, 4096)
    .option('--seed <n>', 'corpus seed', positiveInt, 1)
    .option(
      '--targets <list>',
      `services to measure besides echo: ${TARGETS.slice(1).join(',')}`,
      (v) => {
        const list = v
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s.length > 0);
        for (const t of list)
          if (!(TARGETS as readonly string[]).includes(t) || t === 'echo')
            throw new InvalidArgumentError(`unknown target "${t}"`);
        return list as TargetName[];
      },
      ['zswap', 'zswap_secure', 'swapfile_file', 'swapfile_redis', 'swapfile_redis_sealed'] as TargetName[],
    )
    .option('--compressor <name>', 'zswap compressor', 'lz4')
    .option('--fsync <mode>', 'swapfile fsync mode with the file store (always|batch|never)', 'batch')
    .option(
      '--service-node-args <args>',
      'node options for the services, space-separated (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof")',
      '',
    )
    .parse(argv);
  const o = program.opts<Omit<BackendBenchOptions, 'serviceNodeArgs'> & { serviceNodeArgs: string }>();
  return { ...o, serviceNodeArgs: o.serviceNodeArgs.split(' ').filter((s) => s.length > 0) };
}

/** Page views for the i-th batch, wrapping around the corpus. */
function batchAt(corpus: Corpus, batch: number, i: number): Buffer[] {
  const per = Math.floor(corpus.pages.length / batch);
  const start = (i % per) * batch;
  return corpus.pages.slice(start, start + batch);
}

/**
 * Put -> Get -> Delete cycles with `inFlight` calls in flight until the time
 * is up; every worker finishes the cycle it is in, and the clock stops when
 * the last one does.
 */
async function measure(
  client: BackendClient,
  corpus: Corpus,
  batch: number,
  inFlight: number,
  seconds: number,
  pid = 0,
  redisPid = 0,
): Promise<Measurement> {
  const server0 = processCpuSeconds(pid);
  const redis0 = redisPid ? processCpuSeconds(redisPid) : 0;
  const client0 = process.cpuUsage();
  let next = 0;
  let pages = 0;
  let rejected = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const put = await client.put(batchAt(corpus, batch, next++));
      const handles = put.handles.filter((h) => h !== 0);
      rejected += put.handles.length - handles.length;
      if (handles.length > 0) {
        const got = await client.get(handles, true);
        if (got.pages.length !== handles.length)
          throw new Error(`Get of ${handles.length} handles returned ${got.pages.length} pages`);
        await client.delete(handles, 'DELETE_FREED');
      }
      // Put+Get pages: a page refused by Put is not read back, so it counts half.
      pages += (batch + handles.length) / 2;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsed = (performance.now() - start) / 1000;
  const clientCpu = process.cpuUsage(client0);
  return {
    pagesPerSec: pages / elapsed,
    rejected,
    pages,
    serverCpuUsPerPage: ((processCpuSeconds(pid) - server0) * 1e6) / pages,
    redisCpuUsPerPage: redisPid ? ((processCpuSeconds(redisPid) - redis0) * 1e6) / pages : 0,
    clientCpuUsPerPage: (clientCpu.user + clientCpu.system) / pages,
  };
}

interface Verified {
  /** Original bytes of the pages stored / bytes the backend says it holds for them (stored_sizes). */
  storedSizesRatio: number;
  /** Original bytes / pool_total_size (zswap Stats) or Info.stored_bytes, with the whole corpus stored. */
  poolRatio: number | undefined;
  rejected: number;
}

/**
 * Stores the whole corpus, reads it back and compares every byte, then
 * deletes it: warms both sides up, proves the service is not measured while
 * broken, and yields the compression ratio with the corpus resident.
 */
async function verifyRoundTrip(target: Target, corpus: Corpus, inFlight: number): Promise<Verified> {
  const batch = 64;
  const batches = Math.ceil(corpus.pages.length / batch);
  const handles = new Array<number>(corpus.pages.length).fill(0);
  let original = 0;
  let stored = 0;
  let next = 0;
  const putWorker = async (): Promise<void> => {
    for (let b = next++; b < batches; b = next++) {
      const pages = corpus.pages.slice(b * batch, (b + 1) * batch);
      const res = await target.client.put(pages);
      for (let i = 0; i < pages.length; i++) {
        const h = res.handles[i] ?? 0;
        handles[b * batch + i] = h;
        if (h !== 0) {
          original += PAGE_SIZE;
          stored += res.storedSizes[i] ?? 0;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, putWorker));

  let poolRatio: number | undefined;
  if (target.name !== 'echo') {
    const [info, stats] = await Promise.all([target.client.info(), target.client.stats()]);
    const pool = stats.counters.find((c) => c.name === 'pool_total_size')?.value ?? info.storedBytes;
    poolRatio = pool > 0 ? original / pool : undefined;
  }

  let mismatched = 0;
  for (let b = 0; b < batches; b++) {
    const idx: number[] = [];
    for (let i = b * batch; i < Math.min((b + 1) * batch, corpus.pages.length); i++) if (handles[i] !== 0) idx.push(i);
    if (idx.length === 0) continue;
    const got = await target.client.get(
      idx.map((i) => handles[i]!),
      false,
    );
    if (target.name === 'echo') continue; // the echo returns a fixed pattern by design
    idx.forEach((pageIndex, k) => {
      if (!got.pages[k]?.equals(corpus.pages[pageIndex]!)) mismatched++;
    });
  }
  if (mismatched > 0)
    throw new Error(`${target.label} returned different bytes for ${mismatched} of ${corpus.pages.length} pages`);
  for (let b = 0; b < batches; b++) {
    const hs = handles.slice(b * batch, (b + 1) * batch).filter((h) => h !== 0);
    if (hs.length > 0) await target.client.delete(hs, 'DELETE_FREED');
  }
  const rejected = handles.filter((h) => h === 0).length;
  return { storedSizesRatio: stored > 0 ? original / stored : NaN, poolRatio, rejected };
}

interface CodecFigures {
  compressPagesPerSec: number;
  decompressPagesPerSec: number;
  /** One page compressed then decompressed: 1 / (1/c + 1/d). */
  cyclePagesPerSec: number;
  ratio: number;
}

/** lz4-napi in this process, one core, page by page over the corpus, for about `seconds`. */
function measureCodec(corpus: Corpus, seconds: number): CodecFigures {
  const n = corpus.pages.length;
  const compressed = new Array<Buffer>(n);
  let compressedBytes = 0;
  const timeLoop = (perPage: (i: number) => void): number => {
    const end = performance.now() + (seconds * 1000) / 2;
    const start = performance.now();
    let done = 0;
    do {
      for (let i = 0; i < n; i++) perPage(i);
      done += n;
    } while (performance.now() < end);
    return done / ((performance.now() - start) / 1000);
  };
  const compressPagesPerSec = timeLoop((i) => {
    compressed[i] = lz4.compressSync(corpus.pages[i]!);
  });
  for (const c of compressed) compressedBytes += c.length;
  let sink = 0;
  const decompressPagesPerSec = timeLoop((i) => {
    sink += lz4.uncompressSync(compressed[i]!).length;
  });
  if (sink % PAGE_SIZE !== 0) throw new Error('lz4 decompressed to a size that is not whole pages');
  return {
    compressPagesPerSec,
    decompressPagesPerSec,
    cyclePagesPerSec: 1 / (1 / compressPagesPerSec + 1 / decompressPagesPerSec),
    ratio: (n * PAGE_SIZE) / compressedBytes,
  };
}

function serviceEntry(name: 'zswap' | 'swapfile'): string {
  const entry = path.join(REPO_ROOT, 'dist', 'services', name, 'main.js');
  if (!fs.existsSync(entry))
    throw new Error(`${name} service is not built: ${path.relative(REPO_ROOT, entry)} is missing (run npx tsc -p .)`);
  return entry;
}

async function startTarget(
  name: TargetName,
  registry: ChildRegistry,
  options: BackendBenchOptions,
  env: { tmp: string; redis: () => Promise<{ url: string; pid: number }> },
): Promise<Target> {
  const listen = ['--listen', '127.0.0.1:0'];
  let script: string;
  let args: string[];
  let security: { tls: ClientTls; token: string } | undefined;
  switch (name) {
    case 'echo':
      script = path.join(__dirname, 'echo-server.js');
      args = listen;
      break;
    case 'zswap':
      script = serviceEntry('zswap');
      args = [...listen, '--compressor', options.compressor, '--pool-bytes', '512M', '--store', 'memory'];
      break;
    case 'zswap_secure': {
      // The credentials npm start makes, in this run's directory.
      const c = (await ensureCredentials({ dir: path.join(env.tmp, 'credentials') })).paths;
      script = serviceEntry('zswap');
      args = [
        ...listen,
        '--compressor',
        options.compressor,
        '--pool-bytes',
        '512M',
        '--store',
        'memory',
        ...backendSecurityArgs(c),
      ];
      security = {
        tls: { ca: fs.readFileSync(c.ca), key: fs.readFileSync(c.clientKey), cert: fs.readFileSync(c.clientCert) },
        token: readTokenFile(c.clusterToken)!,
      };
      break;
    }
    case 'swapfile_file':
      script = serviceEntry('swapfile');
      args = [
        ...listen,
        '--path',
        path.join(env.tmp, 'swap.file'),
        '--capacity-pages',
        '65536',
        '--store',
        'file',
        '--fsync',
        options.fsync,
      ];
      break;
    case 'swapfile_redis':
    case 'swapfile_redis_sealed': {
      script = serviceEntry('swapfile');
      // --path too: the service may keep files next to it, and must not write into the cwd.
      args = [
        ...listen,
        '--path',
        path.join(env.tmp, `swap.${name}`),
        '--capacity-pages',
        '65536',
        '--store',
        'redis',
        '--redis-url',
        (await env.redis()).url,
      ];
      if (name === 'swapfile_redis_sealed') {
        // The same, every page sealed with AES-256-GCM (encryption at rest, issue 11).
        const keyFile = path.join(env.tmp, 'redis.key');
        fs.writeFileSync(keyFile, generateKeyRingText(1), { mode: 0o600 });
        args.push('--redis-key-prefix', 'vswap:sealed:', '--encryption-key-file', keyFile);
      }
      break;
    }
  }
  const label = name.startsWith('zswap') ? `${TARGET_LABEL[name]} ${options.compressor}` : TARGET_LABEL[name];
  try {
    const service = await registry.startService({
      script,
      args,
      execArgv: options.serviceNodeArgs,
      env: { VSWAP_LOG_LEVEL: sharedEnv(undefined, { logLevel: 'warn' }).logLevel },
      timeoutMs: 20_000,
      stderrLimit: 64 * 1024,
    });
    // A generous deadline: a 512-page batch on a slow store must not time out mid-benchmark.
    const redisPid = name === 'swapfile_redis' || name === 'swapfile_redis_sealed' ? (await env.redis()).pid : 0;
    return {
      name,
      label,
      service,
      pid: service.child.pid ?? 0,
      redisPid,
      // Unary calls, as the echo server (the ceiling this compares with) takes them.
      client: new BackendClient(service.address, { deadlineMs: 60_000, link: false, ...security }),
    };
  } catch (err) {
    if (err instanceof ServiceStartError) {
      const last = err.stderr
        .trim()
        .split('\n')
        .filter((l) => l.trim().length > 0)
        .pop();
      throw new Error(`${label} service failed to start (${err.reason})${last ? `: ${last.trim()}` : ''}`);
    }
    throw err;
  }
}

async function run(options: BackendBenchOptions, registry: ChildRegistry, tmp: string): Promise<void> {
  const t0 = performance.now();
  // Fail before any work if a service was never built.
  if (options.targets.some((t) => t.startsWith('zswap'))) serviceEntry('zswap');
  if (options.targets.some((t) => t.startsWith('swapfile'))) serviceEntry('swapfile');
  const corpus = buildCorpus({ pages: options.corpusPages, seed: options.seed });
  const c = corpus.counts;
  const corpusLine =
    `corpus: ${corpus.pages.length} pages ` +
    `(${((corpus.pages.length * PAGE_SIZE) / 2 ** 20).toFixed(0)} MiB), ` +
    `seed ${options.seed}: ` +
    PAGE_KINDS.map((k) => `${c[k]} ${k}`).join(', ') +
    ` (${corpus.sources.libs} libraries, ${corpus.sources.textFiles} text files)`;
  progress(corpusLine);

  let redisStarted: Promise<{ url: string; pid: number }> | undefined;
  const redis = (): Promise<{ url: string; pid: number }> => {
    redisStarted ??= startRedis(registry, tmp).then((r) => {
      progress(`redis-server on ${r.url}`);
      return r;
    });
    return redisStarted;
  };
  const names: TargetName[] = ['echo', ...TARGETS.filter((t) => t !== 'echo' && options.targets.includes(t))];
  const targets: Target[] = [];
  for (const name of names) {
    const target = await startTarget(name, registry, options, { tmp, redis });
    targets.push(target);
    progress(`${target.label}: ${target.service.address}`);
  }

  const verified = new Map<TargetName, Verified>();
  for (const t of targets) {
    const v = await verifyRoundTrip(t, corpus, options.inFlight);
    verified.set(t.name, v);
    progress(
      `${t.label}: corpus stored and read back${t.name === 'echo' ? '' : ', every byte matches'}` +
        (v.rejected ? `, ${v.rejected} pages refused` : ''),
    );
    // Warm-up: a short run at every batch size so both sides are compiled.
    for (const b of options.batches)
      await measure(t.client, corpus, b, options.inFlight, Math.min(1, options.seconds / 2));
  }

  // rates[batch][target] and ratios[batch][target] per round.
  // Per batch size and target, one sample per round: the measurement and its ratio to that round's echo.
  const samples = new Map<string, { m: Measurement; vsEcho: number }[]>();
  const key = (batch: number, name: TargetName): string => `${batch}/${name}`;
  const codecRounds: CodecFigures[] = [];
  for (let r = 0; r < options.rounds; r++) {
    codecRounds.push(measureCodec(corpus, Math.min(2, options.seconds)));
    const cr = codecRounds[codecRounds.length - 1]!;
    progress(`round ${r + 1}/${options.rounds}: lz4 in-process ${Math.round(cr.cyclePagesPerSec)} pages/s`);
    for (const batch of options.batches) {
      const order = targets.map((_, i) => targets[(i + r) % targets.length]!);
      const thisRound = new Map<TargetName, Measurement>();
      for (const t of order) {
        const m = await measure(t.client, corpus, batch, options.inFlight, options.seconds, t.pid, t.redisPid);
        thisRound.set(t.name, m);
        progress(
          `round ${r + 1}/${options.rounds} batch ${batch}: ${t.label} ${Math.round(m.pagesPerSec)} pages/s, ` +
            `CPU/page ${m.serverCpuUsPerPage.toFixed(0)} us server` +
            (t.redisPid ? ` + ${m.redisCpuUsPerPage.toFixed(0)} us redis-server` : '') +
            `, ${m.clientCpuUsPerPage.toFixed(0)} us client`,
        );
      }
      const echo = thisRound.get('echo')!.pagesPerSec;
      for (const [name, m] of thisRound) {
        const list = samples.get(key(batch, name)) ?? [];
        samples.set(key(batch, name), list);
        list.push({ m, vsEcho: m.pagesPerSec / echo });
      }
    }
  }

  // Figures: medians over rounds.
  const codec: CodecFigures = {
    compressPagesPerSec: median(codecRounds.map((x) => x.compressPagesPerSec)),
    decompressPagesPerSec: median(codecRounds.map((x) => x.decompressPagesPerSec)),
    cyclePagesPerSec: median(codecRounds.map((x) => x.cyclePagesPerSec)),
    ratio: codecRounds[0]!.ratio,
  };
  const headline = options.batches[0]!;
  const medianOf = (
    name: TargetName,
    batch: number,
    pick: (x: { m: Measurement; vsEcho: number }) => number,
  ): number | null => {
    const list = samples.get(key(batch, name));
    return list ? median(list.map(pick)) : null;
  };
  const rateOf = (name: TargetName, batch = headline): number | null => {
    const v = medianOf(name, batch, (x) => x.m.pagesPerSec);
    return v === null ? null : round(v);
  };
  const ratioOf = (name: TargetName, batch = headline): number | null => {
    const v = medianOf(name, batch, (x) => x.vsEcho);
    return v === null ? null : round(v, 3);
  };
  const cpuOf = (name: TargetName, batch: number, side: 'server' | 'redis' | 'client'): number | null => {
    const v = medianOf(name, batch, (x) =>
      side === 'server' ? x.m.serverCpuUsPerPage : side === 'redis' ? x.m.redisCpuUsPerPage : x.m.clientCpuUsPerPage,
    );
    return v === null || Number.isNaN(v) ? null : round(v, 1);
  };
  // Both cores are busy at the gRPC ceiling, so pages/s goes as 1 / (all CPU per page):
  // the ratio of CPU per page is an estimate of the throughput ratio that the
  // load of other processes on the machine hardly moves.
  const cpuRatioOf = (name: TargetName, batch = headline): number | null => {
    const total = (n: TargetName): number | null => {
      const v = medianOf(n, batch, (x) => x.m.serverCpuUsPerPage + x.m.redisCpuUsPerPage + x.m.clientCpuUsPerPage);
      return v === null || !(v > 0) ? null : v;
    };
    const echo = total('echo');
    const mine = total(name);
    return echo === null || mine === null ? null : round(echo / mine, 3);
  };
  const vsCodec = (batch: number): number | null => {
    const v = medianOf('zswap', batch, (x) => x.m.pagesPerSec);
    return v === null ? null : round(v / codec.cyclePagesPerSec, 3);
  };
  // Encryption at rest: the sealed Redis swapfile against the plaintext one, both measured against echo per round.
  const sealedVsPlain = (batch: number): number | null => {
    const sealed = medianOf('swapfile_redis_sealed', batch, (x) => x.vsEcho);
    const plain = medianOf('swapfile_redis', batch, (x) => x.vsEcho);
    return sealed === null || plain === null || !(plain > 0) ? null : round(sealed / plain, 3);
  };
  // Security: zswap with mTLS and the cluster token against plain zswap, both against echo per round.
  const secureVsPlain = (batch: number): number | null => {
    const secure = medianOf('zswap_secure', batch, (x) => x.vsEcho);
    const plain = medianOf('zswap', batch, (x) => x.vsEcho);
    return secure === null || plain === null || !(plain > 0) ? null : round(secure / plain, 3);
  };
  const zv = verified.get('zswap');
  const perBatch: Record<string, Record<string, number | null>> = {};
  for (const b of options.batches) {
    perBatch[String(b)] = {
      echo_pages_per_s: rateOf('echo', b),
      zswap_pages_per_s: rateOf('zswap', b),
      swapfile_file_pages_per_s: rateOf('swapfile_file', b),
      swapfile_redis_pages_per_s: rateOf('swapfile_redis', b),
      zswap_vs_echo: ratioOf('zswap', b),
      swapfile_file_vs_echo: ratioOf('swapfile_file', b),
      swapfile_redis_vs_echo: ratioOf('swapfile_redis', b),
      swapfile_redis_sealed_pages_per_s: rateOf('swapfile_redis_sealed', b),
      swapfile_redis_sealed_vs_echo: ratioOf('swapfile_redis_sealed', b),
      swapfile_redis_sealed_vs_plain: sealedVsPlain(b),
      zswap_secure_pages_per_s: rateOf('zswap_secure', b),
      secure_vs_plain: secureVsPlain(b),
      zswap_vs_codec: vsCodec(b),
      zswap_vs_echo_cpu: cpuRatioOf('zswap', b),
      swapfile_file_vs_echo_cpu: cpuRatioOf('swapfile_file', b),
      swapfile_redis_vs_echo_cpu: cpuRatioOf('swapfile_redis', b),
    };
    for (const t of targets) {
      perBatch[String(b)]![`${t.name}_server_cpu_us_per_page`] = cpuOf(t.name, b, 'server');
      perBatch[String(b)]![`${t.name}_client_cpu_us_per_page`] = cpuOf(t.name, b, 'client');
      if (t.redisPid) perBatch[String(b)]![`${t.name}_redis_server_cpu_us_per_page`] = cpuOf(t.name, b, 'redis');
    }
  }
  const figures = {
    zswap_vs_echo: ratioOf('zswap'),
    swapfile_file_vs_echo: ratioOf('swapfile_file'),
    swapfile_redis_vs_echo: ratioOf('swapfile_redis'),
    zswap_vs_codec: vsCodec(headline),
    zswap_vs_echo_cpu: cpuRatioOf('zswap'),
    swapfile_file_vs_echo_cpu: cpuRatioOf('swapfile_file'),
    swapfile_redis_vs_echo_cpu: cpuRatioOf('swapfile_redis'),
    compression_ratio: zv ? round(zv.storedSizesRatio, 3) : null,
    compression_ratio_pool: zv?.poolRatio !== undefined ? round(zv.poolRatio, 3) : null,
    codec_compression_ratio: round(codec.ratio, 3),
    echo_pages_per_s: rateOf('echo'),
    zswap_pages_per_s: rateOf('zswap'),
    swapfile_file_pages_per_s: rateOf('swapfile_file'),
    swapfile_redis_pages_per_s: rateOf('swapfile_redis'),
    swapfile_redis_sealed_pages_per_s: rateOf('swapfile_redis_sealed'),
    swapfile_redis_sealed_vs_plain: sealedVsPlain(headline),
    zswap_secure_pages_per_s: rateOf('zswap_secure'),
    ...Object.fromEntries(options.batches.map((b) => [`secure_vs_plain_${b}`, secureVsPlain(b)])),
    codec_pages_per_s: round(codec.cyclePagesPerSec),
    codec_compress_pages_per_s: round(codec.compressPagesPerSec),
    codec_decompress_pages_per_s: round(codec.decompressPagesPerSec),
    zswap_rejected_pages: zv ? zv.rejected : null,
    batch: headline,
    batches: perBatch,
    config: {
      seconds: options.seconds,
      rounds: options.rounds,
      in_flight: options.inFlight,
      corpus_pages: corpus.pages.length,
      seed: options.seed,
      compressor: options.compressor,
      fsync: options.fsync,
      corpus: corpus.counts,
    },
    elapsed_s: round((performance.now() - t0) / 1000, 1),
  };

  // The table.
  const rows: Cell[][] = [];
  for (const b of options.batches) {
    for (const t of targets) {
      const rate = rateOf(t.name, b);
      const ratio = ratioOf(t.name, b);
      const verdict = t.name === 'echo' || ratio === null ? '' : ratio >= TARGET_RATIO ? 'ok' : `below ${TARGET_RATIO}`;
      const server = cpuOf(t.name, b, 'server');
      const client = cpuOf(t.name, b, 'client');
      const redisCpu = t.redisPid ? cpuOf(t.name, b, 'redis') : null;
      const serverCell =
        server === null ? '-' : server.toFixed(1) + (redisCpu === null ? '' : ` + ${redisCpu.toFixed(1)} redis`);
      const cpuRatio = cpuRatioOf(t.name, b);
      rows.push([
        t.label,
        b,
        rate ?? '-',
        ratio === null ? '-' : ratio.toFixed(2),
        verdict,
        serverCell,
        client === null ? '-' : client.toFixed(1),
        cpuRatio === null ? '-' : cpuRatio.toFixed(2),
      ]);
    }
  }
  const zswapRate = rateOf('zswap');
  const text = [
    `vswap backend benchmark: Put -> Get -> Delete cycles, ${options.inFlight} calls in flight, ` +
      `median of ${options.rounds} rounds x ${options.seconds} s;\npages/s = ` +
      '(pages put + pages read back) / 2 per second; ratios = median of ' +
      'per-round ratios to the echo;\n' +
      'CPU us/page: CPU time per such page in the service process (+ its ' +
      'redis-server) and in this client (same client code for all);\n' +
      `vs echo by CPU: echo's total CPU per page / the target's (both cores ` +
      'are busy, so this estimates the ratio without the noise of other load)',
    corpusLine,
    '',
    renderTable({
      headers: [
        'target',
        'batch',
        'pages/s',
        'vs echo',
        `target >= ${TARGET_RATIO}`,
        'server CPU us/page',
        'client CPU us/page',
        'vs echo by CPU',
      ],
      rows,
      align: ['left', 'right', 'right', 'right', 'left', 'right', 'right', 'right'],
    }),
    renderTable({
      title: `lz4 codec in this process, one core, page by page (median of ${options.rounds}):`,
      headers: ['compress pages/s', 'decompress pages/s', 'compress+decompress pages/s', 'ratio'],
      rows: [
        [
          round(codec.compressPagesPerSec),
          round(codec.decompressPagesPerSec),
          round(codec.cyclePagesPerSec),
          codec.ratio.toFixed(2),
        ],
      ],
    }),
    zv
      ? `zswap (${options.compressor}) compression ratio on the corpus: ` +
        `${zv.storedSizesRatio.toFixed(2)} (stored_sizes)` +
        (zv.poolRatio !== undefined ? `, ${zv.poolRatio.toFixed(2)} (pool_total_size with the corpus stored)` : '') +
        (zv.rejected ? `; ${zv.rejected} pages refused` : '')
      : 'zswap: not measured',
    zswapRate !== null
      ? `zswap_vs_codec (batch ${headline}): ` +
        `${figures.zswap_vs_codec?.toFixed(2)} = ${zswapRate} / ` +
        `${Math.round(codec.cyclePagesPerSec)} pages/s ` +
        `(target >= ${TARGET_RATIO}; the gRPC ceiling, echo ${rateOf('echo')} pages/s, bounds it)`
      : '',
    `TLS and tokens on vs off (zswap with mutual TLS and the cluster token / plain zswap, each vs its round's echo): ` +
      options.batches.map((b) => `batch ${b}: ${secureVsPlain(b) ?? 'n/a'}`).join(', ') +
      ' (goal >= 0.8 at 512)',
    `elapsed: ${figures.elapsed_s} s`,
    '',
  ].join('\n');
  emitReport({ json: options.json, text, figures });

  for (const t of targets) t.client.close();
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv);
  const registry = new ChildRegistry();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-bench-'));
  const cleanup = async (): Promise<void> => {
    await registry.stopAll();
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    progress(`bench:backends: ${signal}, stopping`);
    registry.killAllNow();
    fs.rmSync(tmp, { recursive: true, force: true });
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await run(options, registry, tmp);
  } catch (err) {
    await cleanup();
    process.stderr.write(`bench:backends: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  await cleanup();
  // grpc channels and timers may linger; the report is out, so leave now.
  process.exit(0);
}

void main();
