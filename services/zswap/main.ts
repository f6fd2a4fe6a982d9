/**
 * The zswap service: a compressed page pool serving vswap.v1.Backend.
 *   node dist/services/zswap/main.js --listen 127.0.0.1:50052 --compressor lz4 --pool-bytes 256M
 */
import { applyHeapGrowth } from '../common/heap-growth';
import { createLogger } from '../common/logger';
import { createServiceMetrics, startMetricsServer, type MetricsServer } from '../common/metrics';
import { announceReady } from '../common/ready';
import { runMain, startServer } from '../common/server';
import { createCompressor } from './compressor';
import { loadZswapConfig, optionName } from './config';
import { backendSecurity } from '../common/auth/backend-security';
import { registerZswapMetrics } from './metrics';
import { zswapBackendService } from './service';
import { openObjectStore } from './store-factory';
import { Zswap } from './zswap';

runMain('zswap', async () => {
  const config = loadZswapConfig();
  applyHeapGrowth(config.heapGrowthPercent);
  const log = createLogger({ name: 'zswap', level: config.logLevel });
  const metrics = config.metricsListen === undefined ? undefined : createServiceMetrics();
  // Before anything is opened: a listener that may not be exposed stops the start here.
  const security = backendSecurity(config, log, metrics?.registry);
  const compressor = createCompressor(config.compressor);
  if (!compressor.ok) throw new Error(`${optionName('compressor')}: ${compressor.error}`);
  const store = await openObjectStore(config, log);
  let zswap: Zswap;
  try {
    zswap = await Zswap.open({
      compressor: compressor.value,
      store,
      poolLimitBytes: config.poolBytes,
      acceptThresholdPercent: config.acceptThresholdPercent,
      maxCompressedBytes: config.maxCompressedBytes,
      storeIncompressible: config.storeIncompressible,
      log,
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  let metricsServer: MetricsServer | undefined;
  const server = await (async () => {
    if (metrics && config.metricsListen !== undefined) {
      registerZswapMetrics(metrics.registry, zswap, { poolLimitBytes: config.poolBytes });
      metricsServer = await startMetricsServer({ address: config.metricsListen, registry: metrics.registry, log });
    }
    return startServer({
      address: config.listen,
      log,
      credentials: security.credentials,
      interceptors: [...(metrics?.interceptors ?? []), ...security.interceptors],
      services: [zswapBackendService(zswap, log, metrics?.observeLinkCall)],
    });
  })().catch(async (err: unknown) => {
    await metricsServer?.close();
    await zswap.close();
    throw err;
  });
  log.info(
    {
      address: server.address,
      compressor: config.compressor,
      store: config.store,
      poolBytes: config.poolBytes,
      acceptThresholdPercent: config.acceptThresholdPercent,
    },
    'zswap serving',
  );
  security.warn();
  announceReady('zswap', server.address, { metrics: metricsServer?.address });
  return {
    async stop() {
      await server.shutdown();
      await zswap.close();
      await metricsServer?.close();
    },
  };
});
