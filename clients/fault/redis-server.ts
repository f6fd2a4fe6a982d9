/**
 * A redis-server of the caller's own (a test, or the fault harness), on a free
 * port in its own directory, that can be crashed (SIGKILL), paused
 * (SIGSTOP/SIGCONT) and restarted on the same port and directory.
 * With `persistent`, every write is in the append-only file before Redis
 * answers (appendfsync always), so a kill -9 loses nothing acknowledged.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../../services/common/free-port';

export interface RedisServerOptions {
  /** Keep data across restarts (appendonly, fsync always); default false. */
  persistent?: boolean;
  /** Data directory; default a fresh temporary one. */
  dir?: string;
  /** Port; default a free one. */
  port?: number;
  /** Called with every redis-server child as soon as it is spawned (cleanup on signals). */
  onSpawn?: (child: ChildProcess) => void;
}

export class RedisServer {
  private child: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly persistent: boolean,
    private readonly onSpawn: ((child: ChildProcess) => void) | undefined,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The running process id, if any. */
  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-redis-'));
    fs.mkdirSync(dir, { recursive: true });
    const server = new RedisServer(options.port ?? (await freePort()), dir, options.persistent ?? false, options.onSpawn);
    await server.restart();
    return server;
  }

  /** (Re)starts the process on the same port and directory (no-op when running). */
  async restart(): Promise<void> {
    if (this.pid !== undefined) return;
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--daemonize', 'no'];
    args.push(...(this.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']));
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.child = child;
    this.onSpawn?.(child);
    await waitForPort(this.port, 10_000);
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

  async stop(): Promise<void> {
    this.resume();
    const child = this.child;
    const timer = setTimeout(() => child?.kill('SIGKILL'), 5000);
    await stopChild(child, 'SIGTERM');
    clearTimeout(timer);
    this.child = undefined;
  }
}

export async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
