/**
 * vswap.v1.Backend over the swapfile core: request/response mapping only.
 * Errors thrown by the core are VswapErrors; unary(), the link server and
 * toServiceError map them. Coldest answers an empty list: a swap device has no LRU to write back
 * from (it is the bottom tier).
 */
import type { BackendHandlers } from '../../proto/generated/vswap/v1/Backend';
import { LinkServer, type LinkCalls } from '../common/link-server';
import type { Logger } from '../common/logger';
import type { LinkCallObserver } from '../common/metrics-grpc';
import { loadVswapProto } from '../common/proto';
import { reconcileHandler } from '../common/reconcile-server';
import { unary, type ServiceBinding } from '../common/server';
import type { Swapfile } from './swapfile';

/**
 * vswap.v1.Backend over `swapfile`: Put, Get and Delete both as unary calls and on
 * links; `observe` counts the calls links carry (the gRPC metrics).
 */
export function swapfileBackendService(swapfile: Swapfile, log: Logger, observe?: LinkCallObserver): ServiceBinding {
  const calls: LinkCalls = {
    put: (req) => swapfile.put(req.pages, req.tags, req.epoch),
    get: async (req) => ({ pages: await swapfile.get(req.handles, req.epoch) }),
    delete: (req) => swapfile.delete(req.handles, req.ignoreMissing, req.epoch),
  };
  const links = new LinkServer({ log, calls, observe });
  const implementation: BackendHandlers = {
    Put: unary(log, 'Put', calls.put),
    Get: unary(log, 'Get', calls.get),
    Delete: unary(log, 'Delete', calls.delete),
    Info: unary(log, 'Info', () => swapfile.info()),
    Stats: unary(log, 'Stats', () => swapfile.stats()),
    Coldest: unary(log, 'Coldest', () => ({ entries: [] })),
    Reconcile: reconcileHandler({ log, begin: () => swapfile.beginReconcile() }),
    Link: links.handler,
  };
  return {
    name: 'vswap.v1.Backend',
    definition: loadVswapProto().vswap.v1.Backend.service,
    implementation,
    drain: () => links.close(),
  };
}
