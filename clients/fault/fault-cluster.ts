/**
 * The cluster a fault run works on: real processes on free ports.
 *
 * - a redis-server of its own, persistent (appendonly yes, appendfsync always);
 * - zswap (memory store: volatile by design, its pages die with it);
 * - `file0`: a swapfile on a real file with `--fsync always`;
 * - `remote0`: a swapfile on the Redis above (the remote tier);
 * - the coordinator, dialing every backend through a TCP proxy of ours, so
 *   the network between them can be slowed, partitioned and reset.
 *
 * Nodes are named coordinator, zswap, file0, remote0 and redis.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { ChildProcess } from 'node:child_process';
import { LocalCluster } from '../cluster/local-cluster';
import { ensureCredentials } from '../credentials/credentials';
import { readTokenFile } from '../credentials/layout';
import { type CoordinatorAccess, coordinatorClient } from './coordinator-access';
import { VswapClient } from '../sdk/client';
import type { History } from './history';
import { RedisServer } from '../cluster/redis-server';
import * as grpc from '@grpc/grpc-js';
import { HangTracker } from './hang-tracker';
import { TcpProxy } from './tcp-proxy';
import { journalLogBytes } from '../../services/coordinator/journal-files';

const execFileAsync = promisify(execFile);

export const BACKENDS = ['zswap', 'file0', 'remote0'] as const;
export type BackendName = (typeof BACKENDS)[number];
export const NODES = ['coordinator', ...BACKENDS, 'redis'] as const;
export type NodeName = (typeof NODES)[number];

export interface FaultClusterOptions {
  /** Everything on disk goes here (created). */
  dataDir: string;
  history: History;
  /** zswap pool limit; default "2M" (small, so that writeback runs). */
  zswapPoolBytes?: string;
  /** Pages of each swapfile; default 16384 (64 MiB). */
  swapfilePages?: number;
  /** Coordinator's deadline for backend calls; default 1000 ms (a hung peer is noticed fast). */
  backendDeadlineMs?: number;
  /** How often the coordinator polls backends' Info; default 200 ms. */
  pollMs?: number;
  /**
   * Journal size after which the coordinator starts a snapshot; default
   * 256 KiB, so that kills, full disks and stalls land on background
   * snapshots and their switches too, not only on appends.
   */
  snapshotAfterBytes?: number;
  /** Called with every child process as it is spawned (cleanup on signals). */
  onSpawn?: (child: ChildProcess) => void;
}

/** Time from a coordinator kill until it served a Stats call again. */
export interface Recovery {
  /** What the restart was part of, e.g. "kill-coordinator". */
  cause: string;
  /** Kill sent -> Stats answered. */
  ms: number;
  /** Start of the new process -> ready line (journal replay, reconcile). */
  startMs: number;
}

export class FaultCluster {
  readonly recoveries: Recovery[] = [];
  /**
   * Stores allowed to lose pages in this run: zswap (memory) once it was
   * killed, remote0 once Redis restarted without persistence.
   */
  readonly volatileStores = new Set<string>();
  /** The nemeses' own requests (swapoffs, writebacks, storms), checked for hangs. */
  readonly hangs = new HangTracker();
  /** Backends currently taken out with Swapoff by a nemesis (healed with Swapon). */
  readonly swappedOff = new Set<BackendName>();
  /** Rules a nemesis saw broken while it ran (e.g. a backend left draining); each fails the run. */
  readonly violations: string[] = [];
  private readonly paused = new Set<NodeName>();
  private readonly limited = new Set<BackendName | 'coordinator'>();

  private constructor(
    readonly options: FaultClusterOptions,
    readonly redis: RedisServer,
    readonly cluster: LocalCluster,
    readonly proxies: Map<BackendName, TcpProxy>,
    /** The checker's and nemeses' own client (short deadline). */
    readonly admin: VswapClient,
    /** TLS and the admin token, for the harness's raw clients. */
    readonly access: CoordinatorAccess,
  ) {}

  get address(): string {
    return this.cluster.address;
  }

  get logDir(): string {
    return path.join(this.options.dataDir, 'logs');
  }

  get coordinatorDataDir(): string {
    return path.join(this.options.dataDir, 'coordinator');
  }

  static async start(options: FaultClusterOptions): Promise<FaultCluster> {
    fs.mkdirSync(options.dataDir, { recursive: true });
    const redis = await RedisServer.start({
      persistence: 'always',
      dir: path.join(options.dataDir, 'redis'),
      onSpawn: options.onSpawn,
    });
    const proxies = new Map<BackendName, TcpProxy>();
    let cluster: LocalCluster;
    let access: CoordinatorAccess;
    try {
      // Authentication on (issue 11): TLS everywhere, the principals file, the cluster token and client certificates.
      const { paths } = await ensureCredentials({ dir: path.join(options.dataDir, 'credentials') });
      access = { token: readTokenFile(paths.adminToken)!, ca: fs.readFileSync(paths.ca) };
      const pages = options.swapfilePages ?? 16384;
      cluster = await LocalCluster.start({
        dataDir: options.dataDir,
        zswap: { poolBytes: options.zswapPoolBytes ?? '2M' },
        swapfiles: [
          { name: 'file0', store: 'file', fsync: 'always', capacityPages: pages },
          { name: 'remote0', store: 'redis', redisUrl: redis.url, capacityPages: pages },
        ],
        coordinatorArgs: [
          '--backend-deadline-ms',
          String(options.backendDeadlineMs ?? 1000),
          '--poll-ms',
          String(options.pollMs ?? 200),
          '--snapshot-after-bytes',
          String(options.snapshotAfterBytes ?? 256 * 1024),
        ],
        logDir: path.join(options.dataDir, 'logs'),
        onSpawn: options.onSpawn,
        credentials: paths,
        routeBackend: async (name, address) => {
          const proxy = await TcpProxy.start({ target: address });
          proxies.set(name as BackendName, proxy);
          return proxy.address;
        },
      });
    } catch (err) {
      for (const p of proxies.values()) await p.close();
      await redis.stop();
      throw err;
    }
    const admin = new VswapClient({ address: cluster.address, deadlineMs: 5000, token: access.token, ca: access.ca });
    const fc = new FaultCluster(options, redis, cluster, proxies, admin, access);
    fc.hangs.start();
    options.history.add(
      'info',
      `cluster up: coordinator ${cluster.address}, redis ${redis.url}, ` +
        `${BACKENDS.map((b) => `${b} ${cluster.node(b).address} via ${proxies.get(b)?.address}`).join(', ')}`,
    );
    return fc;
  }

  proxy(name: BackendName): TcpProxy {
    const p = this.proxies.get(name);
    if (!p) throw new Error(`no proxy in front of ${name}`);
    return p;
  }

  pid(name: NodeName): number | undefined {
    if (name === 'redis') return this.redis.pid;
    const child = this.cluster.node(name).service?.child;
    return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
  }

  async kill(name: NodeName): Promise<void> {
    this.paused.delete(name);
    if (name === 'zswap') this.volatileStores.add('zswap');
    if (name === 'redis') await this.redis.kill();
    else await this.cluster.kill(name, 'SIGKILL');
  }

  async startAgain(name: NodeName): Promise<void> {
    if (name === 'redis') await this.redis.restart();
    else await this.cluster.startAgain(name);
  }

  pause(name: NodeName): void {
    this.paused.add(name);
    if (name === 'redis') this.redis.pause();
    else this.cluster.pause(name);
  }

  resume(name: NodeName): void {
    this.paused.delete(name);
    if (name === 'redis') this.redis.resume();
    else this.cluster.resume(name);
  }

  /**
   * A full disk for a file-backed swapfile: RLIMIT_FSIZE of the running
   * process (prlimit --pid), so that a write past `bytes` into the swap file
   * fails with EFBIG, a real error from the kernel (the file is sparse at its
   * full size, but the limit applies to the write position, not the size).
   * undefined lifts the limit.
   */
  async limitFileSize(name: BackendName | 'coordinator', bytes: number | undefined): Promise<void> {
    const pid = this.pid(name);
    if (pid === undefined) return;
    // Soft limit only, so that it can be raised again without privileges.
    await execFileAsync('prlimit', ['--pid', String(pid), `--fsize=${bytes ?? 'unlimited'}:`]);
    if (bytes === undefined) this.limited.delete(name);
    else this.limited.add(name);
  }

  /**
   * Swapoff of `backend`, read to its end, tracked as a request with a bound:
   * a swapoff still running after `boundMs` counts as hung and is cancelled
   * (so a stuck drain cannot stall the run). Resolves with a line for the
   * history; never rejects.
   */
  async swapoff(backend: string, boundMs = 60_000, signal?: AbortSignal): Promise<string> {
    const raw = coordinatorClient(this.address, this.access);
    const id = this.hangs.begin(`swapoff ${backend}`, boundMs);
    let last = '';
    try {
      return await new Promise<string>((resolve) => {
        const call = raw.swapoff({ backend });
        const timer = setTimeout(() => {
          this.hangs.sweep();
          call.cancel();
        }, boundMs + 1000);
        timer.unref();
        const cancel = (): void => call.cancel();
        signal?.addEventListener('abort', cancel);
        const finish = (text: string): void => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', cancel);
          resolve(text);
        };
        call.on(
          'data',
          (m: { moved: number; remaining: number; done: boolean }) =>
            (last = `moved ${m.moved}, remaining ${m.remaining}${m.done ? ', done' : ''}`),
        );
        call.on('error', (err: grpc.ServiceError) =>
          finish(
            `swapoff ${backend} ended (${last || 'no progress'}): ${grpc.status[err.code] ?? err.code} ${err.details}`,
          ),
        );
        call.on('end', () => finish(`swapoff ${backend} finished: ${last || 'no progress'}`));
      });
    } finally {
      this.hangs.end(id);
      raw.close();
    }
  }

  /**
   * Bytes of the coordinator's journal log now (zero-filled ahead of its
   * records). Not the newest file in its data directory: that is as often
   * requests.log or answers.ring, and a limit at requests.log's size, below
   * the journal's write position, failed the journal's next write (EFBIG:
   * stopped until restart) instead of its growth, so writes never resumed.
   */
  coordinatorJournalBytes(): number {
    return journalLogBytes(this.coordinatorDataDir);
  }

  /** Redis loses everything it held: killed, its files deleted, started again (a restart without persistence). */
  async wipeRedis(): Promise<void> {
    this.volatileStores.add('remote0');
    await this.redis.kill();
    for (const f of fs.readdirSync(this.redis.dir))
      fs.rmSync(path.join(this.redis.dir, f), { recursive: true, force: true });
    await this.redis.restart();
  }

  /** A copy of Redis's files as they are now, for rollbackRedis(). */
  snapshotRedis(): string {
    const copy = `${this.redis.dir}.rollback`;
    fs.rmSync(copy, { recursive: true, force: true });
    fs.cpSync(this.redis.dir, copy, { recursive: true });
    return copy;
  }

  /** Redis comes back from an older copy of its files (a restore from backup, a lost AOF tail). */
  async rollbackRedis(copy: string): Promise<void> {
    this.volatileStores.add('remote0');
    await this.redis.kill();
    fs.rmSync(this.redis.dir, { recursive: true, force: true });
    fs.renameSync(copy, this.redis.dir);
    await this.redis.restart();
  }

  /** The backends' priorities and states now. */
  async backendStates(): Promise<Map<string, { state: string; priority: number }>> {
    const bs = await this.admin.listBackends();
    return new Map(bs.map((b) => [b.name, { state: b.state, priority: b.priority }]));
  }

  /** Kills the coordinator (SIGKILL), starts it again and measures until it answers Stats. */
  async restartCoordinator(cause: string, downMs = 0): Promise<Recovery> {
    const t0 = Date.now();
    await this.kill('coordinator');
    this.options.history.fault(`${cause}: coordinator killed (SIGKILL)`);
    if (downMs > 0) await sleep(downMs);
    const t1 = Date.now();
    await this.cluster.startAgain('coordinator');
    const t2 = Date.now();
    await this.waitServing(30_000);
    const r = { cause, ms: Date.now() - t0, startMs: t2 - t1 };
    this.recoveries.push(r);
    this.options.history.fault(
      `${cause}: coordinator serving again ${r.ms} ms after the kill (process ready in ${r.startMs} ms)`,
    );
    return r;
  }

  /** Resolves once the coordinator answers Stats. */
  async waitServing(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.admin.stats();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(20);
      }
    }
  }

  /** Undoes every fault in force: processes resumed and started, network and disk healed, backends swapped on. */
  async healAll(): Promise<void> {
    for (const n of [...this.paused]) this.resume(n);
    for (const p of this.proxies.values()) p.setMode({ kind: 'pass' });
    for (const b of [...this.limited]) await this.limitFileSize(b, undefined);
    if (this.pid('redis') === undefined && fs.existsSync(`${this.redis.dir}.rollback`))
      fs.rmSync(`${this.redis.dir}.rollback`, { recursive: true, force: true });
    if (this.pid('redis') === undefined) await this.startAgain('redis');
    for (const b of BACKENDS) if (this.pid(b) === undefined) await this.startAgain(b);
    if (this.pid('coordinator') === undefined) await this.cluster.startAgain('coordinator');
    await this.waitServing(30_000);
    for (const b of [...this.swappedOff]) {
      await this.admin.swapon(b, 0);
      this.swappedOff.delete(b);
    }
  }

  /** What the last health check saw of each backend (for the history when it never got healthy). */
  lastHealth = '';

  /** Waits until every backend is reachable, active and reconciled (at most timeoutMs). */
  async waitHealthy(timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const bs = await this.admin.listBackends();
        this.lastHealth = bs.map((b) => `${b.name} ${b.reachable ? 'reachable' : 'unreachable'} ${b.state}`).join(', ');
        if (bs.length === BACKENDS.length && bs.every((b) => b.reachable && b.state === 'active')) return true;
        for (const b of bs) if (b.state !== 'active') await this.admin.swapon(b.name, b.priority);
      } catch {
        // the coordinator is coming back
      }
      if (Date.now() > deadline) return false;
      await sleep(100);
    }
  }

  /** Every node's log lines (from logDir), for failure messages. */
  log(name: NodeName): string {
    try {
      return fs.readFileSync(path.join(this.logDir, `${name}.log`), 'utf8');
    } catch {
      return '';
    }
  }

  async stop(): Promise<void> {
    this.hangs.stop();
    this.admin.close();
    for (const n of [...this.paused]) this.resume(n);
    await this.cluster.stop();
    for (const p of this.proxies.values()) await p.close();
    await this.redis.stop();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
