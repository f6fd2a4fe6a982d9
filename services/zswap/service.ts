/**
 * vswap.v1.Backend over the zswap core: request/response mapping only. Errors
 * thrown by the core are VswapErrors; unary(), the link server and
 * toServiceError map them.
 */
import { LinkServer, type LinkCalls } from '../common/link-server';
import type { Logger } from '../common/logger';
import type { LinkCallObserver } from '../common/metrics-grpc';
import { loadVswapProto } from '../common/proto';
import { reconcileHandler } from '../common/reconcile-server';
import { unary, type ServiceBinding } from '../common/server';
import type { BackendHandlers } from '../../proto/generated/vswap/v1/Backend';
import { DeleteReason } from '../../proto/generated/vswap/v1/DeleteReason';
import type { DeleteReasonName, Zswap } from './zswap';

/** The generated enum's names in proto number order (the const object keeps declaration order). */
const REASONS: readonly DeleteReasonName[] = Object.values(DeleteReason);

/** Enum values arrive as names (LOADER_OPTIONS enums: String); numbers from other loaders. */
function reasonName(reason: string | number): DeleteReasonName {
  return typeof reason === 'number' ? (REASONS[reason] ?? 'DELETE_REASON_UNSPECIFIED') : (reason as DeleteReasonName);
}

/**
 * vswap.v1.Backend over `zswap`: Put, Get and Delete both as unary calls and on
 * links; `observe` counts the calls links carry (the gRPC metrics).
 */
export function zswapBackendService(zswap: Zswap, log: Logger, observe?: LinkCallObserver): ServiceBinding {
  const calls: LinkCalls = {
    put: (req) => zswap.put(req.pages, req.tags, req.epoch),
    get: async (req) => ({ pages: await zswap.get(req.handles, req.touch, req.epoch) }),
    delete: (req) => zswap.delete(req.handles, reasonName(req.reason), req.ignoreMissing, req.epoch),
  };
  const links = new LinkServer({ log, calls, observe });
  const implementation: BackendHandlers = {
    Put: unary(log, 'Put', calls.put),
    Get: unary(log, 'Get', calls.get),
    Delete: unary(log, 'Delete', calls.delete),
    Info: unary(log, 'Info', async () => zswap.info()),
    Stats: unary(log, 'Stats', () => zswap.stats()),
    Coldest: unary(log, 'Coldest', async (req) => ({ entries: await zswap.coldest(req.maxEntries) })),
    Reconcile: reconcileHandler({ log, begin: () => zswap.beginReconcile() }),
    Link: links.handler,
  };
  return {
    name: 'vswap.v1.Backend',
    definition: loadVswapProto().vswap.v1.Backend.service,
    implementation,
    drain: () => links.close(),
  };
}
