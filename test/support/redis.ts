import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';
import { freePort } from './ports';

export interface RedisServerOptions {
  /** Keep data across restarts (appendonly, fsync always); default false. */
  persistent?: boolean;
  /** Data directory; default a fresh temporary one. */
  dir?: string;
  /** Port; default a free one. */
  port?: number;
}

/** A redis-server of the test's own, on a free port, in its own directory. */
export class RedisServer {
  private child: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly persistent: boolean,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-redis-'));
    const server = new RedisServer(options.port ?? (await freePort()), dir, options.persistent ?? false);
    await server.restart();
    return server;
  }

  /** (Re)starts the process on the same port and directory. */
  async restart(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--daemonize', 'no'];
    args.push(...(this.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']));
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.child = child;
    await waitForPort(this.port, 10_000);
  }

  /** SIGKILL: a crash, losing whatever was not persisted. */
  async kill(): Promise<void> {
    await stopChild(this.child, 'SIGKILL');
    this.child = undefined;
  }

  async stop(): Promise<void> {
    await stopChild(this.child, 'SIGTERM');
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
