/**
 * Options of the swapfile service: flags, or VSWAP_SWAPFILE_* variables.
 * Everything is checked at start; a bad value stops the service with one line
 * naming the option.
 */
import { MAX_CAPACITY } from './allocator';
import {
  ConfigError,
  LOG_LEVELS,
  address,
  bool,
  int,
  loadConfig,
  oneOf,
  optional,
  redisEncryptionOptions,
  resolveRedisEncryption,
  str,
  type ConfigOf,
  type LoadConfigOptions,
} from '../common/config';
import { heapGrowthOption } from '../common/heap-growth';
import type { KeyRing } from '../common/page-cipher';
import { metricsListenOption } from '../common/metrics';
import { listenerSecurityOptions } from '../common/auth/listener';
import { clusterGuardOptions } from '../common/auth/cluster-guard';

export const SWAPFILE_ENV_PREFIX = 'VSWAP_SWAPFILE';
export const swapfileOptions = {
  listen: address('address to serve vswap.v1.Backend on (port 0 picks a free one)', '127.0.0.1:50053'),
  capacityPages: int('size of the swap device in 4 KiB pages (262144 = 1 GiB)', 262144, { min: 1, max: MAX_CAPACITY }),
  store: oneOf('where the pages live: a local file, or Redis (the remote tier)', ['file', 'redis'] as const, 'file'),
  path: str(
    'the swap file (store=file); its directory is created, and the allocation map is kept next to it as <path>.map',
    '.vswap/swapfile',
    (v) => (v.trim() === '' ? 'the path is empty' : undefined),
  ),
  fsync: oneOf(
    'durability of the file store: always = fdatasync before every Put is ' +
      'answered; batch = fdatasync on a short timer and at shutdown; never',
    ['always', 'batch', 'never'] as const,
    'batch',
  ),
  fsyncDelayMs: int('fsync=batch: how long writes may wait for their fdatasync', 50, { min: 1, max: 60_000 }),
  discard: bool(
    'release storage on Delete: drops the Redis keys; the file store keeps ' +
      'the bytes of a freed slot until it is reused (Node has no hole ' +
      'punching)',
    true,
  ),
  redisUrl: optional(
    str('Redis to store pages in (required with --store redis), e.g. redis://127.0.0.1:6379', undefined),
  ),
  redisKeyPrefix: str('prefix of every Redis key this service writes', 'vswap:swapfile:', (v) =>
    v === '' ? 'the prefix is empty' : undefined,
  ),
  ...redisEncryptionOptions(),
  metricsListen: metricsListenOption(),
  logLevel: oneOf('log level on stderr (falls back to VSWAP_LOG_LEVEL)', LOG_LEVELS, 'info'),
  heapGrowthPercent: heapGrowthOption(),
  ...listenerSecurityOptions(),
  ...clusterGuardOptions(),
};

export type SwapfileConfig = ConfigOf<typeof swapfileOptions> & {
  /** store=redis: the key ring pages are sealed with, or undefined for plaintext (see plaintextWarning). */
  redisKeyRing: KeyRing | undefined;
  /** store=redis without a key: what to warn about at start. */
  plaintextWarning: string | undefined;
};

/** Reads and checks the options; throws ConfigError naming the bad one. */
export function loadSwapfileConfig(options: Partial<LoadConfigOptions> = {}): SwapfileConfig {
  const config = loadConfig(swapfileOptions, { program: 'vswap-swapfile', envPrefix: SWAPFILE_ENV_PREFIX, ...options });
  if (config.store === 'redis' && config.redisUrl === undefined) {
    throw new ConfigError(`--redis-url (${SWAPFILE_ENV_PREFIX}_REDIS_URL) is required with --store redis`);
  }
  if (config.redisUrl !== undefined && !/^rediss?:\/\//.test(config.redisUrl)) {
    throw new ConfigError(
      `--redis-url (${SWAPFILE_ENV_PREFIX}_REDIS_URL): "${config.redisUrl}" is not a redis:// or rediss:// URL`,
    );
  }
  if (config.store !== 'redis') return { ...config, redisKeyRing: undefined, plaintextWarning: undefined };
  const enc = resolveRedisEncryption(config, SWAPFILE_ENV_PREFIX, config.redisUrl!);
  return { ...config, redisKeyRing: enc.keyRing, plaintextWarning: enc.keyRing ? undefined : enc.warning };
}
