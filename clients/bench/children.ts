import * as path from 'node:path';
import type { ChildRegistry } from '../cluster/child-registry';
import { DIST_ROOT } from '../cluster/local-cluster';
import { RedisServer } from '../cluster/redis-server';
import type { StartedService } from '../cluster/spawn-service';
import { VswapClient } from '../sdk/client';

/** A private redis-server on a free port, without persistence: the remote tier the Redis stores talk to. */
export async function startRedis(
  registry: ChildRegistry,
  dir: string,
): Promise<{ url: string; port: number; pid: number }> {
  const redis = await RedisServer.start({ dir, persistence: 'off', onSpawn: (child) => registry.track(child) });
  return { url: redis.url, port: redis.port, pid: redis.pid ?? 0 };
}

/**
 * The bare forwarder (forwarder.ts) in front of a backend, and an SDK client
 * of it (the caller closes it). The forwarder serves plaintext and asks for
 * no token, so the client says so: by default the SDK takes a CA and token
 * from VSWAP_CA, VSWAP_TOKEN or the .vswap/ a `npm start` in the same
 * directory left, and would speak TLS to it until its retries ran out.
 */
export async function startForwarder(
  registry: ChildRegistry,
  backendAddress: string,
  deadlineMs: number,
): Promise<{ service: StartedService; client: VswapClient }> {
  const service = await registry.startService({
    script: path.join(DIST_ROOT, 'clients/bench/forwarder.js'),
    args: ['--backend', backendAddress],
    env: { VSWAP_LOG_LEVEL: 'warn' },
    timeoutMs: 20_000,
    stderrLimit: 64 * 1024,
  });
  return { service, client: new VswapClient({ address: service.address, deadlineMs, token: null, ca: null }) };
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

/**
 * CPU per page of named processes, summed over the windows it measures:
 * where a path's CPU goes (the client, the hop, the backend). On a machine
 * whose cores are all busy, pages/s follows the sum over the processes, so
 * two paths' sums say what their ratio can be, however noisy pages/s is.
 */
export class CpuMeter {
  /** CPU seconds per process name, over the measured windows only. */
  private readonly seconds = new Map<string, number>();
  private pages = 0;

  constructor(private readonly pids: Readonly<Record<string, number>>) {}

  /** Runs `window` (which reports the pages it completed) and adds what each process used meanwhile. */
  async measure<T extends { pages: number }>(window: () => Promise<T>): Promise<T> {
    const before = this.read();
    const result = await window();
    const after = this.read();
    for (const [name, s] of after) this.seconds.set(name, (this.seconds.get(name) ?? 0) + s - before.get(name)!);
    this.pages += result.pages;
    return result;
  }

  /** Milliseconds of CPU per 1000 pages, per process and their `total`; NaN before any page or without /proc. */
  msPer1000Pages(): Record<string, number> {
    const out: Record<string, number> = {};
    let total = 0;
    for (const name of Object.keys(this.pids)) {
      const ms = ((this.seconds.get(name) ?? NaN) * 1e6) / this.pages;
      out[name] = ms;
      total += ms;
    }
    out.total = total;
    return out;
  }

  private read(): Map<string, number> {
    return new Map(Object.entries(this.pids).map(([name, pid]) => [name, processCpuSeconds(pid)]));
  }
}
