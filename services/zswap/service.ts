/**
 * vswap.v1.Backend over the zswap core: request/response mapping only. Errors
 * thrown by the core are VswapErrors; unary() and toServiceError map them.
 */
import type { Logger } from '../common/logger';
import { reconcileHandler } from '../common/reconcile-server';
import { unary } from '../common/server';
import type { BackendHandlers } from '../../proto/generated/vswap/v1/Backend';
import { DeleteReason } from '../../proto/generated/vswap/v1/DeleteReason';
import type { DeleteReasonName, Zswap } from './zswap';

/** The generated enum's names in proto number order (the const object keeps declaration order). */
const REASONS: readonly DeleteReasonName[] = Object.values(DeleteReason);

/** Enum values arrive as names (LOADER_OPTIONS enums: String); numbers from other loaders. */
function reasonName(reason: string | number): DeleteReasonName {
  return typeof reason === 'number' ? (REASONS[reason] ?? 'DELETE_REASON_UNSPECIFIED') : (reason as DeleteReasonName);
}

export function zswapBackendImplementation(zswap: Zswap, log: Logger): BackendHandlers {
  return {
    Put: unary(log, 'Put', async (req) => zswap.put(req.pages, req.tags, req.epoch)),
    Get: unary(log, 'Get', async (req) => ({ pages: await zswap.get(req.handles, req.touch, req.epoch) })),
    Delete: unary(log, 'Delete', async (req) =>
      zswap.delete(req.handles, reasonName(req.reason), req.ignoreMissing, req.epoch),
    ),
    Info: unary(log, 'Info', async () => zswap.info()),
    Stats: unary(log, 'Stats', () => zswap.stats()),
    Coldest: unary(log, 'Coldest', async (req) => ({ entries: await zswap.coldest(req.maxEntries) })),
    Reconcile: reconcileHandler({ log, begin: () => zswap.beginReconcile() }),
  };
}
