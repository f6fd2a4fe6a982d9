/**
 * The swapfile service: one swap device (a local file, or Redis as the remote
 * tier) serving vswap.v1.Backend, plus health and reflection.
 */
import { announceReady } from '../common/ready';
import { runMain, startServer } from '../common/server';
import { applyHeapGrowth } from '../common/heap-growth';
import { createLogger } from '../common/logger';
import { createServiceMetrics, startMetricsServer, type MetricsServer } from '../common/metrics';
import { registerSwapfileMetrics } from './metrics';
import { loadSwapfileConfig } from './config';
import { backendSecurity } from '../common/auth/backend-security';
import { swapfileBackendService } from './service';
import { Swapfile } from './swapfile';
import { FileStore } from './store-file';
import { RedisStore } from './store-redis';
import type { PageStore } from './page-store';

runMain('swapfile', async () => {
  const config = loadSwapfileConfig();
  applyHeapGrowth(config.heapGrowthPercent);
  const log = createLogger({ name: 'swapfile', level: config.logLevel });
  const metrics = config.metricsListen === undefined ? undefined : createServiceMetrics();
  // Before anything is opened: a listener that may not be exposed stops the start here.
  const security = backendSecurity(config, log, metrics?.registry);
  const backend = new Swapfile(config.capacityPages, log);
  let store: PageStore;
  if (config.store === 'redis') {
    store = await RedisStore.open({
      url: config.redisUrl!,
      keyPrefix: config.redisKeyPrefix,
      capacity: config.capacityPages,
      discard: config.discard,
      keyRing: config.redisKeyRing,
      plaintextWarning: config.plaintextWarning,
      log,
      onEpochChange: (epoch, words) => backend.onEpochChange(epoch, words),
    });
  } else {
    store = FileStore.open({
      path: config.path,
      capacity: config.capacityPages,
      fsync: config.fsync,
      fsyncDelayMs: config.fsyncDelayMs,
      log,
    });
  }
  backend.attach(store);
  let metricsServer: MetricsServer | undefined;
  if (metrics && config.metricsListen !== undefined) {
    registerSwapfileMetrics(metrics.registry, backend);
    try {
      metricsServer = await startMetricsServer({ address: config.metricsListen, registry: metrics.registry, log });
    } catch (err) {
      await store.close();
      throw new Error(
        `--metrics-listen (VSWAP_SWAPFILE_METRICS_LISTEN): ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  let server;
  try {
    server = await startServer({
      address: config.listen,
      credentials: security.credentials,
      interceptors: [...(metrics?.interceptors ?? []), ...security.interceptors],
      services: [swapfileBackendService(backend, log, metrics?.observeLinkCall)],
      log,
    });
  } catch (err) {
    await metricsServer?.close();
    await store.close();
    throw new Error(`--listen (VSWAP_SWAPFILE_LISTEN): ${err instanceof Error ? err.message : String(err)}`);
  }
  log.info(
    {
      address: server.address,
      store: store.kind,
      capacity: config.capacityPages,
      used: backend.allocator.used,
      epoch: store.epoch,
    },
    'swapfile serving',
  );
  security.warn();
  announceReady('swapfile', server.address, { metrics: metricsServer?.address });
  return {
    async stop() {
      await server.shutdown();
      await store.close();
      await metricsServer?.close();
      log.info('swapfile stopped');
    },
  };
});
