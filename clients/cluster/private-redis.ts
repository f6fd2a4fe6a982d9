/**
 * A redis-server of the local cluster's own (`npm start --with-redis`), on a
 * free port on 127.0.0.1, keeping its data (append-only file) in a directory
 * under the cluster's data directory, so that the remote tier survives a
 * restart of the cluster like the file-backed swapfile does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { freePort } from '../../services/common/free-port';
import { stopChild } from '../../services/common/spawn-service';

export interface PrivateRedisOptions {
  /** Data directory (created). */
  dir: string;
  /** Default: a free port. */
  port?: number;
  /** Called with the child as soon as it is spawned (for cleanup on signals). */
  onSpawn?: (child: ChildProcess) => void;
  /** How long to wait for the port to accept connections; default 10 s. */
  timeoutMs?: number;
}

/** The first `name` found in the directories of PATH, or undefined. */
export function findOnPath(name: string, envPath = process.env.PATH ?? ''): string | undefined {
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

export class PrivateRedis {
  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    readonly dir: string,
    private readonly output: () => string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** What redis-server printed (its log), for error messages. */
  log(): string {
    return this.output();
  }

  /** Starts redis-server; throws a one-line reason when it is not on PATH or does not come up. */
  static async start(options: PrivateRedisOptions): Promise<PrivateRedis> {
    const bin = findOnPath('redis-server');
    if (!bin) throw new Error('--with-redis needs redis-server on PATH (Debian/Ubuntu: apt-get install redis-server); or give --redis-url of a running Redis');
    fs.mkdirSync(options.dir, { recursive: true });
    const port = options.port ?? (await freePort());
    // Persistence on (appendonly), RDB snapshots off: one way to persist, and no
    // fork on a timer stealing the machine's two cores from the benchmarks.
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', options.dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--daemonize', 'no', '--protected-mode', 'yes'];
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    options.onSpawn?.(child);
    let out = '';
    const keep = (d: Buffer): void => {
      out = (out + d.toString('utf8')).slice(-64 * 1024);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const redis = new PrivateRedis(child, port, options.dir, () => out);
    const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(`redis-server exited (${signal ?? `code ${code}`}) before it served:\n${out}`)));
    const failed = new Promise<string>((resolve) => child.once('error', (err) => resolve(`cannot start redis-server: ${err.message}`)));
    const ready = waitForPort(port, options.timeoutMs ?? 10_000).then(
      () => undefined,
      (err: Error) => `redis-server: ${err.message}:\n${out}`,
    );
    const problem = await Promise.race([ready, exited, failed]);
    if (problem !== undefined) {
      await stopChild(child, 'SIGKILL');
      throw new Error(problem);
    }
    return redis;
  }

  /** SIGTERM: redis-server flushes its append-only file and exits. */
  async stop(): Promise<void> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await stopChild(this.child, 'SIGTERM');
    clearTimeout(timer);
  }
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
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
