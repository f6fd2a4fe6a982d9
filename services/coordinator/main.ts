#!/usr/bin/env node
import * as path from 'node:path';
import { loadConfig } from '../common/config';
import { applyHeapGrowth } from '../common/heap-growth';
import { createLogger } from '../common/logger';
import { createServiceMetrics, startMetricsServer, type MetricsServer } from '../common/metrics';
import { loadVswapProto } from '../common/proto';
import { announceReady } from '../common/ready';
import { runMain, startServer } from '../common/server';
import { parseBackendSpecs } from './backend-registry';
import { coordinatorOptions } from './config';
import { coordinatorSecurity } from './auth/coordinator-security';
import { BackendClient } from '../common/backend-client';
import { CoalescingCalls } from './coalesce';
import { RequestLog } from './request-log';
import { type RunningCoordinator, startCoordinator } from './running-coordinator';
import { registerCoordinatorMetrics } from './metrics';
import { TierCode } from './slot-table';
import { virtualSwapService } from './virtual-swap-service';

/**
 * Writes zswap's pages back to the swapfiles until none is left or `ms` has
 * passed, so that a graceful stop of the whole cluster (zswap's pool is
 * volatile) keeps what a durable tier can hold. Returns the pages moved.
 */
async function writebackBeforeStop(
  vswap: RunningCoordinator,
  ms: number,
  log: ReturnType<typeof createLogger>,
): Promise<number> {
  const deadline = Date.now() + ms;
  let moved = 0;
  while (Date.now() < deadline) {
    const n = await vswap.admin.writeback(4096, '').catch((err: unknown) => {
      log.warn({ err: String(err) }, 'writeback before stop failed');
      return 0;
    });
    if (n === 0) break;
    moved += n;
  }
  const left = vswap.table.pagesByTier()[TierCode.ZSWAP] ?? 0;
  log.info(
    { moved, zswapPagesLeft: left, ms },
    left === 0 ? 'zswap written back before stop' : 'writeback before stop ended with pages still in zswap',
  );
  return moved;
}

/** The crash test seam (--crash-after-commit-id): kill -9 of this process between a call's journal commit and its requests.log append. */
function crashAfterCommit(requestId: string): (method: string, key: string) => void {
  return (_method, key) => {
    if (key.endsWith(`\0${requestId}`)) process.kill(process.pid, 'SIGKILL');
  };
}

runMain('coordinator', async () => {
  const config = loadConfig(coordinatorOptions, { program: 'vswap-coordinator', envPrefix: 'VSWAP_COORDINATOR' });
  applyHeapGrowth(config.heapGrowthPercent);
  const log = createLogger({ name: 'coordinator', level: config.logLevel });
  const metrics = config.metricsListen === undefined ? undefined : createServiceMetrics();
  // Credentials are read and checked before the journal is opened.
  const security = coordinatorSecurity(config, log, metrics?.registry);
  // SIGHUP re-reads the principals file (and never stops the coordinator).
  process.on('SIGHUP', () => {
    if (security.principals) security.principals.reload('SIGHUP');
    else log.info('SIGHUP: no principals file to re-read (protected mode)');
  });
  const { tls: backendTls, token: clusterToken } = security.backends;
  // Answers for retries, kept next to the journal and synced as it is.
  const requests = new RequestLog({
    windowMs: config.retryWindowMs,
    maxEntries: config.retryMaxEntries,
    maxSlots: config.retryMaxSlots,
    maxPageBytes: config.retryMaxPageBytes,
    compactAfterBytes: config.retryCompactAfterBytes,
    file: path.join(path.resolve(config.dataDir), 'requests.log'),
    fsync: config.journalFsync,
    ...(config.crashAfterCommitId === undefined ? {} : { afterCommit: crashAfterCommit(config.crashAfterCommitId) }),
    log,
  });
  const vswap = await startCoordinator({
    dataDir: path.resolve(config.dataDir),
    backends: parseBackendSpecs(config.backends),
    journalFsync: config.journalFsync,
    backendDeadlineMs: config.backendDeadlineMs,
    writebackBatch: config.writebackBatch,
    pollMs: config.pollMs,
    deleteRetryMs: config.deleteRetryMs,
    snapshotAfterBytes: config.snapshotAfterBytes,
    // The start-up snapshot carries only the journal's answers requests.log lacks.
    keepReplayedAnswer: (p) => requests.lacks(p),
    // Puts and Gets of concurrent requests in one turn go out as one backend call (coalesce.ts).
    connect: (spec, o) =>
      new CoalescingCalls(
        new BackendClient(spec.address, { deadlineMs: o.deadlineMs, tls: backendTls, token: clusterToken }),
      ),
    log,
  });
  // Answers whose change the journal has but requests.log missed (a crash between the two).
  requests.restoreFromJournal(vswap.takeReplayedAnswers());
  vswap.keepAnswers(() => requests.unpersisted());
  let metricsServer: MetricsServer | undefined;
  let server;
  try {
    if (metrics && config.metricsListen !== undefined) {
      registerCoordinatorMetrics(metrics.registry, vswap, { maxOwners: config.metricsMaxOwners });
      metricsServer = await startMetricsServer({ address: config.metricsListen, registry: metrics.registry, log });
    }
    server = await startServer({
      address: config.listen,
      log,
      credentials: security.credentials,
      interceptors: metrics?.interceptors,
      services: [
        {
          name: 'vswap.v1.VirtualSwap',
          definition: loadVswapProto().vswap.v1.VirtualSwap.service,
          implementation: virtualSwapService(vswap, log, requests, security.gate(vswap.table)),
        },
      ],
    });
  } catch (err) {
    await metricsServer?.close();
    await vswap.close();
    requests.close();
    security.close();
    throw err;
  }
  security.warn();
  announceReady('coordinator', server.address, { metrics: metricsServer?.address });
  const running = server;
  return {
    async stop() {
      await running.shutdown();
      if (config.stopWritebackMs > 0) await writebackBeforeStop(vswap, config.stopWritebackMs, log);
      await vswap.close();
      requests.close();
      security.close();
      await metricsServer?.close();
    },
  };
});
