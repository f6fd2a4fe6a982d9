import type { ChildProcess } from 'node:child_process';
import { spawnService, stopChild, type StartedService, type SpawnServiceOptions } from '../../services/common/spawn-service';
import { RedisServer } from '../cluster/redis-server';

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

/** A private redis-server on a free port, without persistence: the remote tier the Redis stores talk to. */
export async function startRedis(registry: ChildRegistry, dir: string): Promise<{ url: string; port: number; pid: number }> {
  const redis = await RedisServer.start({ dir, persistence: 'off', onSpawn: (child) => registry.track(child) });
  return { url: redis.url, port: redis.port, pid: redis.pid ?? 0 };
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
