import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import { spawnService, stopChild, type StartedService, type SpawnServiceOptions } from '../../services/common/spawn-service';

/**
 * Every process a benchmark starts, so that none outlives it: stopped in
 * order at the end, and SIGKILLed synchronously if the benchmark exits any
 * other way (an error, Ctrl-C, an uncaught exception).
 */
export class ChildRegistry {
  private readonly children = new Set<ChildProcess>();
  private readonly onExit = (): void => this.killAllNow();

  constructor() {
    process.on('exit', this.onExit);
  }

  track(child: ChildProcess): void {
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
  }

  /** Starts a service and tracks it (also while it is still starting). */
  async startService(options: SpawnServiceOptions): Promise<StartedService> {
    return spawnService({
      ...options,
      onSpawn: (child) => {
        this.track(child);
        options.onSpawn?.(child);
      },
    });
  }

  /** SIGTERM everyone, SIGKILL whoever is still there after graceMs. */
  async stopAll(graceMs = 3000): Promise<void> {
    await Promise.all(
      [...this.children].map(async (child) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        timer.unref();
        await stopChild(child, 'SIGTERM');
        clearTimeout(timer);
      }),
    );
  }

  killAllNow(): void {
    for (const child of this.children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    this.children.clear();
  }

  dispose(): void {
    process.off('exit', this.onExit);
  }
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A private redis-server on a free port, without persistence (nothing
 * written to disk): the remote tier the Redis stores talk to.
 */
export async function startRedis(registry: ChildRegistry, dir: string, timeoutMs = 10_000): Promise<{ url: string; port: number; pid: number }> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  registry.track(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const failed = new Promise<string>((resolve) => {
    child.once('error', (e) => resolve(`cannot run redis-server: ${e.message}`));
    child.once('exit', (code) => resolve(`redis-server exited with code ${code}: ${stderr.trim().split('\n')[0] ?? ''}`));
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const outcome = await Promise.race([failed, canConnect(port).then((ok) => (ok ? 'up' : 'down'))]);
    if (outcome === 'up') return { url: `redis://127.0.0.1:${port}`, port, pid: child.pid ?? 0 };
    if (outcome !== 'down') throw new Error(outcome);
    if (Date.now() > deadline) throw new Error(`redis-server does not listen on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on every Linux we run on). */
const USER_HZ = 100;

/**
 * CPU seconds (user + system) a process has used so far, from
 * /proc/<pid>/stat; NaN where there is no /proc. 10 ms resolution: fine over
 * a measurement of seconds. CPU time per page does not depend on what else
 * the machine runs, unlike pages per second.
 */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = require('node:fs').readFileSync(`/proc/${pid}/stat`, 'latin1') as string;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return NaN;
  }
}
