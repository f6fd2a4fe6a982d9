/**
 * A vswap.v1.Backend that stores nothing: the gRPC ceiling the backend
 * benchmark compares the real services with. Put hands out handles and keeps
 * nothing; Get returns as many 4096-byte pages as it is asked for, views of
 * one preallocated buffer. The payloads cross the wire both ways exactly as
 * with a real backend, through the same server bootstrap (startServer,
 * unary) and validation, with zero storage work.
 *
 *   node dist/clients/bench/echo-server.js [--listen 127.0.0.1:0]
 */
import { sharedEnv } from '../../services/common/config';
import type * as grpc from '@grpc/grpc-js';
import { Command } from 'commander';
import { loadVswapProto } from '../../services/common/proto';
import { startServer, unary, runMain } from '../../services/common/server';
import { createLogger } from '../../services/common/logger';
import { announceReady } from '../../services/common/ready';
import { MAX_BATCH, PAGE_SIZE } from '../../services/common/limits';
import { checkBatchSize, checkPages } from '../../services/common/validate';
import type { PutRequest__Output } from '../../proto/generated/vswap/v1/PutRequest';
import type { PutResponse } from '../../proto/generated/vswap/v1/PutResponse';
import type { GetRequest__Output } from '../../proto/generated/vswap/v1/GetRequest';
import type { GetResponse } from '../../proto/generated/vswap/v1/GetResponse';
import type { DeleteRequest__Output } from '../../proto/generated/vswap/v1/DeleteRequest';
import type { DeleteResponse } from '../../proto/generated/vswap/v1/DeleteResponse';
import type { InfoResponse } from '../../proto/generated/vswap/v1/InfoResponse';
import type { BackendStatsResponse } from '../../proto/generated/vswap/v1/BackendStatsResponse';
import type { ColdestResponse } from '../../proto/generated/vswap/v1/ColdestResponse';
import type { ReconcileRequest__Output } from '../../proto/generated/vswap/v1/ReconcileRequest';
import type { ReconcileResponse } from '../../proto/generated/vswap/v1/ReconcileResponse';

runMain('echo-server', async () => {
  const log = createLogger({ name: 'echo', level: sharedEnv(undefined, { logLevel: 'warn' }).logLevel });
  // Get's answer: views of one buffer, made once (a byte pattern, so that a
  // mistaken "round trip verified" against the echo would fail loudly).
  const arena = Buffer.alloc(MAX_BATCH * PAGE_SIZE, 0xa5);
  const views: Buffer[] = [];
  for (let i = 0; i < MAX_BATCH; i++) views.push(arena.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE));
  // Handles and outcomes per batch size, also made once.
  let nextHandle = 1;
  const stored: PutResponse['outcomes'] = new Array<'PUT_STORED'>(MAX_BATCH).fill('PUT_STORED');
  const sizes = new Array<number>(MAX_BATCH).fill(PAGE_SIZE);

  const implementation: grpc.UntypedServiceImplementation = {
    put: unary(log, 'Put', (req: PutRequest__Output): PutResponse => {
      checkPages(req.pages);
      const n = req.pages.length;
      const handles = new Array<number>(n);
      for (let i = 0; i < n; i++) handles[i] = nextHandle++;
      return { handles, outcomes: stored!.slice(0, n), storedSizes: sizes.slice(0, n) };
    }),
    get: unary(log, 'Get', (req: GetRequest__Output): GetResponse => {
      checkBatchSize(req.handles.length, 'handles');
      return { pages: views.slice(0, req.handles.length) };
    }),
    delete: unary(log, 'Delete', (req: DeleteRequest__Output): DeleteResponse => {
      checkBatchSize(req.handles.length, 'handles');
      return { deleted: req.handles.length, missing: [] };
    }),
    info: unary(log, 'Info', (): InfoResponse => ({
      kind: 'echo',
      store: 'none',
      capacityPages: 0,
      usedPages: 0,
      storedBytes: 0,
      epoch: String(process.pid),
      maxBatch: MAX_BATCH,
      volatile: true,
      compressor: 'none',
    })),
    stats: unary(log, 'Stats', (): BackendStatsResponse => ({ counters: [], fragmentation: 1 })),
    coldest: unary(log, 'Coldest', (): ColdestResponse => ({ entries: [] })),
    reconcile: (call: grpc.ServerDuplexStream<ReconcileRequest__Output, ReconcileResponse>) => {
      call.on('data', () => call.write({ missing: [], done: false }));
      call.on('end', () => {
        call.write({ missing: [], done: true, deleted: 0 });
        call.end();
      });
    },
  };

  const proto = loadVswapProto();
  const server = await startServer({
    address: new Command('echo-server')
      .option('--listen <host:port>', 'address to serve vswap.v1.Backend on', '127.0.0.1:0')
      .parse()
      .opts<{ listen: string }>().listen,
    services: [{ name: 'vswap.v1.Backend', definition: proto.vswap.v1.Backend.service, implementation }],
    log,
  });
  announceReady('echo', server.address);
  return { stop: () => server.shutdown() };
});
