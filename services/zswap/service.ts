/**
 * vswap.v1.Backend over the zswap core: request/response mapping only
 * (backend-service.ts serves it). Errors thrown by the core are VswapErrors;
 * toServiceError maps them.
 */
import { backendService } from '../common/backend-service';
import type { Logger } from '../common/logger';
import type { LinkCallObserver } from '../common/metrics-grpc';
import type { ServiceBinding } from '../common/server';
import { DeleteReason } from '../../proto/generated/vswap/v1/DeleteReason';
import type { DeleteReasonName, Zswap } from './zswap';

/** The generated enum's names in proto number order (the const object keeps declaration order). */
const REASONS: readonly DeleteReasonName[] = Object.values(DeleteReason);

/** Enum values arrive as names (LOADER_OPTIONS enums: String); numbers from other loaders. */
function reasonName(reason: string | number): DeleteReasonName {
  return typeof reason === 'number' ? (REASONS[reason] ?? 'DELETE_REASON_UNSPECIFIED') : (reason as DeleteReasonName);
}

/** vswap.v1.Backend over `zswap`; `observe` counts the calls links carry (the gRPC metrics). */
export function zswapBackendService(zswap: Zswap, log: Logger, observe?: LinkCallObserver): ServiceBinding {
  return backendService(
    {
      put: (req) => zswap.put(req.pages, req.tags, req.epoch),
      get: async (req) => ({ pages: await zswap.get(req.handles, req.touch, req.epoch) }),
      delete: (req) => zswap.delete(req.handles, reasonName(req.reason), req.ignoreMissing, req.epoch),
      info: () => zswap.info(),
      stats: () => zswap.stats(),
      coldest: async (req) => ({ entries: await zswap.coldest(req.maxEntries) }),
      beginReconcile: () => zswap.beginReconcile(),
    },
    log,
    observe,
  );
}
