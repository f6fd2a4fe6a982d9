/**
 * vswap.v1.Backend over the swapfile core: request/response mapping only
 * (backend-service.ts serves it). Errors thrown by the core are VswapErrors;
 * toServiceError maps them. Coldest answers an empty list: a swap device has
 * no LRU to write back from (it is the bottom tier).
 */
import { backendService } from '../common/backend-service';
import type { Logger } from '../common/logger';
import type { LinkCallObserver } from '../common/metrics-grpc';
import type { ServiceBinding } from '../common/server';
import type { Swapfile } from './swapfile';

/** vswap.v1.Backend over `swapfile`; `observe` counts the calls links carry (the gRPC metrics). */
export function swapfileBackendService(swapfile: Swapfile, log: Logger, observe?: LinkCallObserver): ServiceBinding {
  return backendService(
    {
      put: (req) => swapfile.put(req.pages, req.tags, req.epoch),
      get: async (req) => ({ pages: await swapfile.get(req.handles, req.epoch) }),
      delete: (req) => swapfile.delete(req.handles, req.ignoreMissing, req.epoch),
      info: () => swapfile.info(),
      stats: () => swapfile.stats(),
      coldest: () => ({ entries: [] }),
      beginReconcile: () => swapfile.beginReconcile(),
    },
    log,
    observe,
  );
}
