#!/usr/bin/env node
import * as path from 'node:path';
import { loadConfig } from '../common/config';
import { createLogger } from '../common/logger';
import { loadVswapProto } from '../common/proto';
import { announceReady } from '../common/ready';
import { runMain, startServer } from '../common/server';
import { parseBackendSpecs } from './backend-registry';
import { coordinatorOptions } from './config';
import { Coordinator } from './coordinator';
import { RequestLog } from './request-log';
import { virtualSwapService } from './virtual-swap-service';

runMain('coordinator', async () => {
  const config = loadConfig(coordinatorOptions, { program: 'vswap-coordinator', envPrefix: 'VSWAP_COORDINATOR' });
  const log = createLogger({ name: 'coordinator', level: config.logLevel });
  const coordinator = await Coordinator.start({
    dataDir: path.resolve(config.dataDir),
    backends: parseBackendSpecs(config.backends),
    journalFsync: config.journalFsync,
    backendDeadlineMs: config.backendDeadlineMs,
    writebackBatch: config.writebackBatch,
    pollMs: config.pollMs,
    snapshotAfterBytes: config.snapshotAfterBytes,
    log,
  });
  const requests = new RequestLog({ windowMs: config.retryWindowMs, maxEntries: config.retryMaxEntries, maxSlots: config.retryMaxSlots, log });
  const server = await startServer({
    address: config.listen,
    log,
    services: [{ name: 'vswap.v1.VirtualSwap', definition: loadVswapProto().vswap.v1.VirtualSwap.service, implementation: virtualSwapService(coordinator, log, requests) }],
  });
  announceReady('coordinator', server.address);
  return {
    async stop() {
      await server.shutdown();
      await coordinator.close();
    },
  };
});
