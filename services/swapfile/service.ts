/**
 * vswap.v1.Backend over the swapfile core: request/response mapping only.
 * Errors thrown by the core are VswapErrors; unary() and toServiceError map
 * them. Coldest answers an empty list: a swap device has no LRU to write back
 * from (it is the bottom tier).
 */
import type { BackendHandlers } from '../../proto/generated/vswap/v1/Backend';
import type { Logger } from '../common/logger';
import { reconcileHandler } from '../common/reconcile-server';
import { unary } from '../common/server';
import type { Swapfile } from './swapfile';

export function swapfileBackendImplementation(swapfile: Swapfile, log: Logger): BackendHandlers {
  return {
    Put: unary(log, 'Put', (req) => swapfile.put(req.pages, req.tags, req.epoch)),
    Get: unary(log, 'Get', async (req) => ({ pages: await swapfile.get(req.handles, req.epoch) })),
    Delete: unary(log, 'Delete', (req) => swapfile.delete(req.handles, req.ignoreMissing, req.epoch)),
    Info: unary(log, 'Info', () => swapfile.info()),
    Stats: unary(log, 'Stats', () => swapfile.stats()),
    Coldest: unary(log, 'Coldest', () => ({ entries: [] })),
    Reconcile: reconcileHandler({ log, begin: () => swapfile.beginReconcile() }),
  };
}
