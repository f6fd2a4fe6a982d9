/**
 * zswap's Prometheus figures under the kernel's words: zswpout / zswpin
 * (vmstat), zswpwb (pages written back), stored_pages and pool_total_size
 * (debugfs), rejects by reason. Read from Zswap.stats() when scraped.
 */
import type { Registry } from 'prom-client';
import { metricFrom } from '../common/metrics';
import type { Zswap } from './zswap';

/** Reject counters of the kernel's debugfs and the reason label each gets. */
const REJECTS: readonly [string, string][] = [
  ['reject_compress_poor', 'compress_poor'],
  ['reject_compress_fail', 'compress_fail'],
  ['reject_alloc_fail', 'alloc_fail'],
];

export function registerZswapMetrics(registry: Registry, zswap: Zswap, options: { poolLimitBytes: number }): void {
  const counter = (name: string): number => zswap.stats().counters.find((c) => c.name === name)?.value ?? 0;
  metricFrom(registry, 'counter', 'vswap_zswpout_total', 'pages stored in the pool', () => counter('zswpout'));
  metricFrom(registry, 'counter', 'vswap_zswpin_total', 'pages read from the pool', () => counter('zswpin'));
  metricFrom(registry, 'counter', 'vswap_zswpwb_total', 'pages written back from the pool to a swapfile', () =>
    counter('written_back_pages'),
  );
  metricFrom(registry, 'gauge', 'vswap_zswap_stored_pages', 'pages stored in the pool now', () =>
    counter('stored_pages'),
  );
  metricFrom(registry, 'gauge', 'vswap_zswap_stored_incompressible_pages', 'pages stored uncompressed now', () =>
    counter('stored_incompressible_pages'),
  );
  metricFrom(
    registry,
    'gauge',
    'vswap_zswap_pool_total_size_bytes',
    'bytes of pool memory (memory store) or stored values (redis store) held now',
    () => counter('pool_total_size'),
  );
  metricFrom(
    registry,
    'gauge',
    'vswap_zswap_pool_limit_bytes',
    'the pool limit (--pool-bytes)',
    () => options.poolLimitBytes,
  );
  metricFrom(
    registry,
    'counter',
    'vswap_zswap_reject_total',
    "pages refused by the pool, by reason (as the kernel's reject_* counters)",
    () => REJECTS.map(([name, reason]) => [{ reason }, counter(name)] as const),
    ['reason'],
  );
  metricFrom(
    registry,
    'counter',
    'vswap_zswap_pool_limit_hit_total',
    'pages refused because the pool was at its limit (or above its accept threshold)',
    () => counter('pool_limit_hit'),
  );
  metricFrom(
    registry,
    'counter',
    'vswap_zswap_unseal_fail_total',
    'objects whose value in Redis did not open under their handle (changed, moved, or under a key not in the ring): answered DATA_LOSS',
    () => counter('unseal_fail'),
  );
  metricFrom(registry, 'counter', 'vswap_zswap_decompress_fail_total', 'pages that failed to decompress', () =>
    counter('decompress_fail'),
  );
}
