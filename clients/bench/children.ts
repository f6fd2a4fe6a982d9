import type { ChildRegistry } from '../cluster/child-registry';
import { RedisServer } from '../cluster/redis-server';

/** A private redis-server on a free port, without persistence: the remote tier the Redis stores talk to. */
export async function startRedis(
  registry: ChildRegistry,
  dir: string,
): Promise<{ url: string; port: number; pid: number }> {
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
