/**
 * The zswap service's options (flags, or VSWAP_ZSWAP_* variables). Every value
 * is validated at start; a bad one stops the process with one line naming it.
 */
import {
  ConfigError,
  LOG_LEVELS,
  address,
  bool,
  bytes,
  int,
  loadConfig,
  memoryBytes,
  oneOf,
  optional,
  redisEncryptionOptions,
  resolveRedisEncryption,
  str,
  type ConfigOf,
} from '../common/config';
import { heapGrowthOption } from '../common/heap-growth';
import type { KeyRing } from '../common/page-cipher';
import { PAGE_SIZE } from '../common/limits';
import { metricsListenOption } from '../common/metrics';
import { listenerSecurityOptions } from '../common/auth/listener';
import { clusterGuardOptions } from '../common/auth/cluster-guard';

export const ZSWAP_ENV_PREFIX = 'VSWAP_ZSWAP';

export const COMPRESSOR_NAMES = ['lz4', 'zstd', 'deflate'] as const;
export type CompressorName = (typeof COMPRESSOR_NAMES)[number];

export const STORE_KINDS = ['memory', 'redis'] as const;
export type ZswapStoreKind = (typeof STORE_KINDS)[number];

/**
 * Default "poor compression" bound: 3072 bytes (75% of a page). Above it a
 * zsmalloc-style size class holds barely more than one object per page's worth
 * of memory, so keeping the page in RAM saves too little to be worth the pool
 * space (the kernel draws the same line at PAGE_SIZE, later zswap versions
 * lower).
 */
export const DEFAULT_MAX_COMPRESSED_BYTES = 3072;

export const zswapOptionSpecs = {
  listen: address('address to serve vswap.v1.Backend on (port 0 picks a free one)', '127.0.0.1:50052'),
  compressor: oneOf('compression algorithm of the pool', COMPRESSOR_NAMES, 'lz4'),
  poolBytes: memoryBytes(
    "pool limit: bytes of pool memory (memory store) or stored values (redis store); at most this machine's memory",
    '256M',
    64 * 1024,
  ),
  acceptThresholdPercent: int(
    'once the pool was full, refuse stores until it shrinks below this percentage of the limit',
    90,
    { min: 1, max: 100 },
  ),
  maxCompressedBytes: bytes(
    'a page that does not compress below this many bytes is "poor" ' +
      '(rejected, or stored as is with --store-incompressible); at most ' +
      `${PAGE_SIZE}`,
    String(DEFAULT_MAX_COMPRESSED_BYTES),
    { min: 64, max: PAGE_SIZE },
  ),
  storeIncompressible: bool(
    'store poorly compressing pages uncompressed (counted as stored_incompressible_pages) instead of rejecting them',
    false,
  ),
  store: oneOf('where compressed objects live', STORE_KINDS, 'memory'),
  redisUrl: optional(str('Redis URL for --store redis, e.g. redis://127.0.0.1:6379')),
  redisKeyPrefix: str('prefix of every Redis key this service uses', 'vswap:zswap:', (v) =>
    v === '' ? 'must not be empty' : undefined,
  ),
  ...redisEncryptionOptions(),
  metricsListen: metricsListenOption(),
  logLevel: oneOf('log level (logs go to stderr; falls back to VSWAP_LOG_LEVEL)', LOG_LEVELS, 'info'),
  heapGrowthPercent: heapGrowthOption(),
  ...listenerSecurityOptions(),
  ...clusterGuardOptions(),
};

export type ZswapConfig = ConfigOf<typeof zswapOptionSpecs> & {
  /** store=redis: the key ring objects are sealed with (after compression), or undefined for plaintext. */
  redisKeyRing: KeyRing | undefined;
  /** store=redis without a key: what to warn about at start. */
  plaintextWarning: string | undefined;
};

export interface LoadZswapConfigOptions {
  /** Default process.argv.slice(2). */
  argv?: readonly string[];
  /** Default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** Loads and cross-checks the options; throws ConfigError naming the bad one. */
export function loadZswapConfig(options: LoadZswapConfigOptions = {}): ZswapConfig {
  const config = loadConfig(zswapOptionSpecs, {
    program: 'zswap',
    envPrefix: ZSWAP_ENV_PREFIX,
    argv: options.argv,
    env: options.env,
  });
  if (config.store === 'redis' && config.redisUrl === undefined) {
    throw new ConfigError('--redis-url (VSWAP_ZSWAP_REDIS_URL) is required with --store redis');
  }
  if (config.store !== 'redis') return { ...config, redisKeyRing: undefined, plaintextWarning: undefined };
  const enc = resolveRedisEncryption(config, ZSWAP_ENV_PREFIX, config.redisUrl!);
  return { ...config, redisKeyRing: enc.keyRing, plaintextWarning: enc.keyRing ? undefined : enc.warning };
}

/** "--redis-url (VSWAP_ZSWAP_REDIS_URL)": how errors name an option. */
export function optionName(key: keyof ZswapConfig): string {
  const kebab = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return `--${kebab} (${ZSWAP_ENV_PREFIX}_${kebab.replace(/-/g, '_').toUpperCase()})`;
}
