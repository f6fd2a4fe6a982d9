import type { Logger } from '../common/logger';
import type { ZswapConfig } from './config';
import { MemoryObjectStore } from './memory-store';
import type { ObjectStore } from './object-store';
import { RedisObjectStore } from './redis-store';

/** The store --store names; a Redis that cannot be reached fails here. */
export async function openObjectStore(config: ZswapConfig, log: Logger): Promise<ObjectStore> {
  if (config.store === 'memory') return new MemoryObjectStore();
  return RedisObjectStore.connect({
    url: config.redisUrl ?? '',
    keyPrefix: config.redisKeyPrefix,
    keyRing: config.redisKeyRing,
    plaintextWarning: config.plaintextWarning,
    log,
  });
}
