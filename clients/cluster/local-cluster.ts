/**
 * A vswap cluster of real local processes: a coordinator, an optional zswap
 * service and any number of swapfile services, each on a port chosen up
 * front so that a restarted backend comes back at the address the
 * coordinator knows. Used by `npm start`, the integration and fault tests,
 * and the fault harness.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { freePort } from './free-port';
import { ServiceStartError, type StartedService, spawnService, stopChild } from './spawn-service';
import { VswapClient } from '../sdk/client';
import type { CredentialPaths } from '../credentials/layout';
import { readTokenFile } from '../credentials/layout';

/** dist/ of this package, whether this file runs compiled or from source (tests). */
export const DIST_ROOT = __filename.endsWith('.js')
  ? path.resolve(__dirname, '../..')
  : path.resolve(__dirname, '../../dist');

export interface ZswapNodeOptions {
  /** Backend name in the coordinator; default "zswap". */
  name?: string;
  /** Default "64M". */
  poolBytes?: string;
  compressor?: 'lz4' | 'zstd' | 'deflate';
  store?: 'memory' | 'redis';
  redisUrl?: string;
  args?: string[];
}

export interface SwapfileNodeOptions {
  name: string;
  store?: 'file' | 'redis';
  /** Default 65536 (256 MiB). */
  capacityPages?: number;
  priority?: number;
  redisUrl?: string;
  fsync?: 'always' | 'batch' | 'never';
  args?: string[];
}

export interface LocalClusterOptions {
  /** Everything on disk goes under here (created). */
  dataDir: string;
  /** Coordinator address; default 127.0.0.1 on a free port. */
  coordinatorAddress?: string;
  /** false for no zswap service. Default {}. */
  zswap?: ZswapNodeOptions | false;
  /** Default one file-backed swapfile named "swapfile". */
  swapfiles?: SwapfileNodeOptions[];
  /** Extra coordinator flags, e.g. ["--journal-fsync", "always"]. */
  coordinatorArgs?: string[];
  /** Added to every service's environment. Default VSWAP_LOG_LEVEL=warn. */
  env?: Record<string, string>;
  /** Extra node flags for every service. */
  execArgv?: string[];
  /** Called with every child as soon as it is spawned (for cleanup on signals). */
  onSpawn?: (child: ChildProcess) => void;
  /**
   * Also append each node's stderr (its logs) to `<logDir>/<name>.log`
   * (created); default: logs are only kept in memory (see logs()).
   */
  logDir?: string;
  /**
   * Where the coordinator dials a backend: called once per backend after it
   * first started, with its name and address; returns the address to give
   * the coordinator instead (e.g. a TCP proxy in front of it, for fault
   * injection). Default: the backend's own address.
   */
  routeBackend?: (name: string, address: string) => Promise<string>;
  /**
   * The cluster's credentials (clients/credentials): every listener serves
   * TLS with the server certificate, the coordinator checks callers against
   * the principals file and presents the cluster token and its client
   * certificate to the backends, which accept nothing else. Default none:
   * every service in protected mode (loopback, no authentication).
   */
  credentials?: CredentialPaths;
}

export interface ClusterNode {
  name: string;
  kind: 'coordinator' | 'zswap' | 'swapfile';
  /** host:port, fixed for the cluster's life once the node first started. */
  address: string;
  script: string;
  args: string[];
  /** Builds args for an address (used when the first pick of a port was taken meanwhile). */
  argsFor: (address: string) => string[];
  service: StartedService | undefined;
  /** Address the coordinator dials for this backend when it differs from `address` (see routeBackend). */
  dialAddress?: string;
}

export class LocalCluster {
  readonly nodes = new Map<string, ClusterNode>();
  private constructor(
    readonly options: LocalClusterOptions,
    readonly coordinator: ClusterNode,
  ) {}

  get address(): string {
    return this.coordinator.address;
  }

  static async start(options: LocalClusterOptions): Promise<LocalCluster> {
    fs.mkdirSync(options.dataDir, { recursive: true });
    const backends: ClusterNode[] = [];
    const zs = options.zswap === false ? undefined : (options.zswap ?? {});
    if (zs) {
      const name = zs.name ?? 'zswap';
      const argsFor = (address: string): string[] => {
        const args = [
          '--listen',
          address,
          '--pool-bytes',
          zs.poolBytes ?? '64M',
          '--compressor',
          zs.compressor ?? 'lz4',
          '--store',
          zs.store ?? 'memory',
        ];
        if (zs.redisUrl) args.push('--redis-url', zs.redisUrl);
        if (zs.store === 'redis' && options.credentials)
          args.push('--encryption-key-file', options.credentials.redisKey);
        return [...args, ...backendSecurityArgs(options.credentials), ...(zs.args ?? [])];
      };
      backends.push({
        name,
        kind: 'zswap',
        address: '',
        script: path.join(DIST_ROOT, 'services/zswap/main.js'),
        args: [],
        argsFor,
        service: undefined,
      });
    }
    for (const sf of options.swapfiles ?? [{ name: 'swapfile' }]) {
      const store = sf.store ?? 'file';
      const argsFor = (address: string): string[] => {
        const args = [
          '--listen',
          address,
          '--store',
          store,
          '--capacity-pages',
          String(sf.capacityPages ?? 65536),
          '--fsync',
          sf.fsync ?? 'batch',
        ];
        if (store === 'file') args.push('--path', path.join(options.dataDir, `${sf.name}.swap`));
        if (sf.redisUrl) args.push('--redis-url', sf.redisUrl, '--redis-key-prefix', `vswap:${sf.name}:`);
        // Pages in Redis are sealed with the cluster's key ring (issue 11).
        if (store === 'redis' && options.credentials) args.push('--encryption-key-file', options.credentials.redisKey);
        return [...args, ...backendSecurityArgs(options.credentials), ...(sf.args ?? [])];
      };
      backends.push({
        name: sf.name,
        kind: 'swapfile',
        address: '',
        script: path.join(DIST_ROOT, 'services/swapfile/main.js'),
        args: [],
        argsFor,
        service: undefined,
      });
    }
    const coordinator: ClusterNode = {
      name: 'coordinator',
      kind: 'coordinator',
      address: '',
      script: path.join(DIST_ROOT, 'services/coordinator/main.js'),
      args: [],
      argsFor: (address) => [
        '--listen',
        address,
        '--data-dir',
        path.join(options.dataDir, 'coordinator'),
        '--backends',
        backends.map((b) => `${b.name}=${b.dialAddress ?? b.address}@${priorities.get(b.name) ?? 0}`).join(','),
        ...coordinatorSecurityArgs(options.credentials),
        ...(options.coordinatorArgs ?? []),
      ],
      service: undefined,
    };
    const priorities = new Map((options.swapfiles ?? []).map((sf) => [sf.name, sf.priority ?? 0]));
    const cluster = new LocalCluster(options, coordinator);
    for (const b of backends) cluster.nodes.set(b.name, b);
    cluster.nodes.set('coordinator', coordinator);
    try {
      await Promise.all(backends.map((b) => cluster.firstStart(b)));
      if (options.routeBackend) for (const b of backends) b.dialAddress = await options.routeBackend(b.name, b.address);
      await cluster.firstStart(coordinator, options.coordinatorAddress);
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  node(name: string): ClusterNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node named ${name} in this cluster`);
    return n;
  }

  /**
   * Starts a node for the first time on a free port. A port can be taken
   * between the pick and the bind (parallel tests): then it picks another.
   */
  private async firstStart(n: ClusterNode, fixed?: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      n.address = fixed ?? `127.0.0.1:${await freePort()}`;
      n.args = n.argsFor(n.address);
      try {
        await this.startNode(n);
        return;
      } catch (err) {
        const portTaken =
          err instanceof ServiceStartError && /cannot listen|EADDRINUSE|No address added/i.test(err.stderr);
        if (!portTaken || fixed !== undefined || attempt >= 4) throw err;
      }
    }
  }

  private async startNode(n: ClusterNode): Promise<void> {
    const { logDir, onSpawn } = this.options;
    if (logDir) fs.mkdirSync(logDir, { recursive: true });
    n.service = await spawnService({
      script: n.script,
      args: n.args,
      env: { VSWAP_LOG_LEVEL: 'warn', ...this.options.env },
      execArgv: this.options.execArgv,
      stderrLimit: 256 * 1024,
      onSpawn: (child) => {
        // Piped from the start, so that a node that dies before it is ready leaves its reason on disk.
        if (logDir) child.stderr?.pipe(fs.createWriteStream(path.join(logDir, `${n.name}.log`), { flags: 'a' }));
        onSpawn?.(child);
      },
      timeoutMs: 30_000,
    });
  }

  /** Starts a node that was stopped or killed. */
  async startAgain(name: string): Promise<void> {
    const n = this.node(name);
    if (n.service && n.service.child.exitCode === null && n.service.child.signalCode === null) return;
    await this.startNode(n);
  }

  /** Stops a node with a signal (SIGKILL = crash) and waits for it to exit. */
  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const n = this.node(name);
    await stopChild(n.service?.child, signal);
  }

  async restart(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.kill(name, signal);
    await this.startAgain(name);
  }

  /** SIGSTOP / SIGCONT: a hung peer. */
  pause(name: string): void {
    this.node(name).service?.child.kill('SIGSTOP');
  }
  resume(name: string): void {
    this.node(name).service?.child.kill('SIGCONT');
  }

  /**
   * A new SDK client of the coordinator (the caller closes it): the admin
   * token and the cluster CA when the cluster has credentials, else
   * plaintext with no token (whatever VSWAP_TOKEN, VSWAP_CA or .vswap/ say).
   */
  client(deadlineMs = 30_000): VswapClient {
    const creds = this.options.credentials;
    return new VswapClient({
      address: this.address,
      deadlineMs,
      token: creds ? (readTokenFile(creds.adminToken) ?? null) : null,
      ca: creds ? creds.ca : null,
    });
  }

  /** Stops every node: the coordinator first, then the backends. */
  async stop(): Promise<void> {
    const all = [...this.nodes.values()];
    const coord = all.filter((n) => n.kind === 'coordinator');
    const rest = all.filter((n) => n.kind !== 'coordinator');
    for (const group of [coord, rest]) {
      await Promise.all(
        group.map(async (n) => {
          const child = n.service?.child;
          if (!child) return;
          if (child.signalCode === 'SIGSTOP') child.kill('SIGCONT');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await stopChild(child, 'SIGTERM');
          clearTimeout(timer);
        }),
      );
    }
  }

  /** Everything a node logged (up to 256 KiB), for failure messages. */
  logs(name: string): string {
    return this.nodes.get(name)?.service?.stderr() ?? '';
  }
}

/** A backend's flags for the cluster's credentials: TLS, client certificates from the CA, the cluster token. */
export function backendSecurityArgs(c: CredentialPaths | undefined): string[] {
  if (!c) return [];
  return [
    '--tls-cert',
    c.serverCert,
    '--tls-key',
    c.serverKey,
    '--tls-ca',
    c.ca,
    '--cluster-token-file',
    c.clusterToken,
  ];
}

/** The coordinator's flags for the cluster's credentials: TLS, principals, and what it presents to backends. */
export function coordinatorSecurityArgs(c: CredentialPaths | undefined): string[] {
  if (!c) return [];
  return [
    '--tls-cert',
    c.serverCert,
    '--tls-key',
    c.serverKey,
    '--principals',
    c.principals,
    '--cluster-token-file',
    c.clusterToken,
    '--backend-ca',
    c.ca,
    '--backend-client-cert',
    c.clientCert,
    '--backend-client-key',
    c.clientKey,
  ];
}
