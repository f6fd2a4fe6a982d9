import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RedisServer } from './redis';

/**
 * Copies a persistent redis-server's data directory (its append-only file,
 * fsynced on every write with persistence "always"): the state to roll back to.
 */
export function snapshotRedis(redis: RedisServer): string {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'vswap-redis-snap-'));
  fs.cpSync(redis.dir, copy, { recursive: true });
  return copy;
}

/** Crashes Redis and brings it back from an older snapshot (an older AOF restored by an operator or a failover). */
export async function rollBackRedis(redis: RedisServer, snapshot: string): Promise<void> {
  await redis.kill();
  for (const entry of fs.readdirSync(redis.dir))
    fs.rmSync(path.join(redis.dir, entry), { recursive: true, force: true });
  fs.cpSync(snapshot, redis.dir, { recursive: true });
  await redis.restart();
}
