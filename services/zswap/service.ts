/**
 * vswap.v1.Backend over the zswap core: request/response mapping only. Errors
 * thrown by the core are VswapErrors; unary() and toServiceError map them.
 */
import type * as grpc from '@grpc/grpc-js';
import { toServiceError } from '../common/errors';
import type { Logger } from '../common/logger';
import { unary } from '../common/server';
import type { BackendHandlers } from '../../proto/generated/vswap/v1/Backend';
import type { ReconcileRequest__Output } from '../../proto/generated/vswap/v1/ReconcileRequest';
import type { ReconcileResponse } from '../../proto/generated/vswap/v1/ReconcileResponse';
import type { DeleteReasonName, Zswap } from './zswap';

const REASONS: Record<number, DeleteReasonName> = {
  0: 'DELETE_REASON_UNSPECIFIED',
  1: 'DELETE_FREED',
  2: 'DELETE_WRITTEN_BACK',
  3: 'DELETE_MIGRATED',
  4: 'DELETE_REPLACED',
};

/** Enum values arrive as names (LOADER_OPTIONS enums: String); numbers from other loaders. */
function reasonName(reason: string | number): DeleteReasonName {
  return typeof reason === 'number' ? (REASONS[reason] ?? 'DELETE_REASON_UNSPECIFIED') : (reason as DeleteReasonName);
}

export function zswapBackendImplementation(zswap: Zswap, log: Logger): BackendHandlers {
  return {
    Put: unary(log, 'Put', async (req) => zswap.put(req.pages)),
    Get: unary(log, 'Get', async (req) => ({ pages: await zswap.get(req.handles, req.touch) })),
    Delete: unary(log, 'Delete', async (req) => zswap.delete(req.handles, reasonName(req.reason), req.ignoreMissing)),
    Info: unary(log, 'Info', async () => zswap.info()),
    Stats: unary(log, 'Stats', () => zswap.stats()),
    Coldest: unary(log, 'Coldest', async (req) => ({ entries: await zswap.coldest(req.maxEntries) })),
    Reconcile: (call) => reconcile(zswap, log, call),
  };
}

/**
 * One reply per chunk (the handles of it we do not have), then on half-close
 * the orphans are deleted and one final reply says how many. Chunks are
 * handled in order; reading pauses while the client is slow to take replies.
 */
function reconcile(zswap: Zswap, log: Logger, call: grpc.ServerDuplexStream<ReconcileRequest__Output, ReconcileResponse>): void {
  let failed = false;
  const send = (msg: ReconcileResponse): Promise<void> =>
    new Promise((resolve) => {
      if (call.write(msg)) return resolve();
      call.pause();
      call.once('drain', () => {
        call.resume();
        resolve();
      });
    });
  const fail = (err: unknown): void => {
    if (failed) return;
    failed = true;
    call.emit('error', toServiceError(err, log, 'Reconcile'));
  };
  let chain = zswap.beginReconcile();
  chain.catch(fail);
  call.on('data', (req: ReconcileRequest__Output) => {
    chain = chain.then(async (session) => {
      const missing = await session.check(req.handles);
      if (!failed) await send({ missing, done: false, deleted: 0 });
      return session;
    });
    chain.catch(fail);
  });
  call.on('end', () => {
    chain
      .then(async (session) => {
        if (failed) return;
        const deleted = await session.finish();
        await send({ missing: [], done: true, deleted });
        call.end();
      })
      .catch(fail);
  });
  call.on('cancelled', () => {
    failed = true;
  });
}
