/**
 * A swapfile service's Prometheus figures: slots used and pages written, read
 * and released on this swap device. Read from its counters when scraped.
 */
import type { Registry } from 'prom-client';
import { metricFrom } from '../common/metrics';
import type { Swapfile } from './swapfile';

export function registerSwapfileMetrics(registry: Registry, backend: Swapfile): void {
  const c = backend.counters;
  metricFrom(
    registry,
    'gauge',
    'vswap_swapfile_used_pages',
    'physical slots in use on this swap device',
    () => backend.allocator.used,
  );
  metricFrom(
    registry,
    'gauge',
    'vswap_swapfile_capacity_pages',
    'physical slots of this swap device',
    () => backend.allocator.capacity,
  );
  metricFrom(
    registry,
    'counter',
    'vswap_swapfile_written_pages_total',
    'pages written to this swap device',
    () => c.swpout,
  );
  metricFrom(registry, 'counter', 'vswap_swapfile_read_pages_total', 'pages read from this swap device', () => c.swpin);
  metricFrom(
    registry,
    'counter',
    'vswap_swapfile_deleted_pages_total',
    'pages released on this swap device',
    () => c.deleted_pages,
  );
  metricFrom(
    registry,
    'counter',
    'vswap_swapfile_no_space_total',
    'pages refused because the device was full',
    () => c.no_space,
  );
  metricFrom(
    registry,
    'counter',
    'vswap_swapfile_stale_handles_total',
    'requests naming a handle of an older epoch or generation (refused)',
    () => c.stale_handles,
  );
  metricFrom(
    registry,
    'counter',
    'vswap_swapfile_unseal_fail_total',
    'pages whose value in Redis did not open under their handle (changed, moved, or under a key not in the ring): answered DATA_LOSS',
    () => backend.unsealFailures,
  );
  metricFrom(
    registry,
    'counter',
    'vswap_swapfile_epoch_changes_total',
    'times the store changed epoch (its data was replaced under the service)',
    () => c.epoch_changes,
  );
}
