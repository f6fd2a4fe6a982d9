/**
 * A redis-server of our own, on a free port of 127.0.0.1 in its own
 * directory: the remote tier of `npm start --with-redis`, the benchmarks'
 * Redis, and the one tests and the fault harness crash (SIGKILL), pause
 * (SIGSTOP/SIGCONT) and restart on the same port and directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, waitForPort } from './free-port';
import { stopChild } from './spawn-service';

/**
 * `off`: nothing on disk (a restart loses everything: a volatile remote tier).
 * `always`: every write is in the append-only file before Redis answers, so a
 * kill -9 loses nothing acknowledged. `everysec`: the append-only file synced
 * once a second. RDB snapshots stay off in every mode (no fork on a timer).
 */
export type RedisPersistence = 'off' | 'always' | 'everysec';

export interface RedisServerOptions {
  /** Default `off`. */
  persistence?: RedisPersistence;
  /** Data directory (created); default a fresh temporary one. */
  dir?: string;
  /** Default a free port. */
  port?: number;
  /** Called with every redis-server child as soon as it is spawned (cleanup on signals). */
  onSpawn?: (child: ChildProcess) => void;
  /** How long a start waits for the port; default 10 s. */
  timeoutMs?: number;
}

/** The first `name` found in the directories of `envPath`, or undefined. */
export function findOnPath(name: string, envPath: string): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export class RedisServer {
  private child: ChildProcess | undefined;
  /** The tail of what redis-server printed, for error messages. */
  private output = '';

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly options: RedisServerOptions,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The running process id, if any. */
  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  /** The running process, if any. */
  get process(): ChildProcess | undefined {
    return this.pid === undefined ? undefined : this.child;
  }

  /** What redis-server printed lately (its log). */
  log(): string {
    return this.output;
  }

  /** Starts redis-server; throws a one-line reason when it does not come up. */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-redis-'));
    fs.mkdirSync(dir, { recursive: true });
    const server = new RedisServer(options.port ?? (await freePort()), dir, options);
    await server.restart();
    return server;
  }

  /** (Re)starts the process on the same port and directory (no-op when running). */
  async restart(): Promise<void> {
    if (this.pid !== undefined) return;
    const persistence = this.options.persistence ?? 'off';
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--save',
      '',
      '--daemonize',
      'no',
    ];
    args.push(
      ...(persistence === 'off' ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', persistence]),
    );
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.options.onSpawn?.(child);
    const keep = (d: Buffer): void => {
      this.output = (this.output + d.toString('utf8')).slice(-64 * 1024);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const exited = new Promise<string>((resolve) =>
      child.once('exit', (code, signal) =>
        resolve(`redis-server exited (${signal ?? `code ${code}`}) before it served:\n${this.output}`),
      ),
    );
    const failed = new Promise<string>((resolve) =>
      child.once('error', (err) =>
        resolve(`cannot start redis-server: ${err.message} (Debian/Ubuntu: apt-get install redis-server)`),
      ),
    );
    const ready = waitForPort(this.port, this.options.timeoutMs ?? 10_000).then(
      () => undefined,
      (err: Error) => `redis-server: ${err.message}:\n${this.output}`,
    );
    const problem = await Promise.race([ready, exited, failed]);
    if (problem !== undefined) {
      await stopChild(child, 'SIGKILL');
      this.child = undefined;
      throw new Error(problem);
    }
  }

  /** SIGKILL: a crash, losing whatever was not persisted. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child?.signalCode === 'SIGSTOP') child.kill('SIGCONT');
    await stopChild(child, 'SIGKILL');
    this.child = undefined;
  }

  /** SIGSTOP: a hung Redis (connections stay open, nothing answers). */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** SIGTERM: redis-server flushes its append-only file and exits. */
  async stop(): Promise<void> {
    this.resume();
    const child = this.child;
    const timer = setTimeout(() => child?.kill('SIGKILL'), 5000);
    await stopChild(child, 'SIGTERM');
    clearTimeout(timer);
    this.child = undefined;
  }
}
