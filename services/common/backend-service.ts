/**
 * vswap.v1.Backend as a gRPC service over a backend core (zswap, swapfile):
 * the request/response mapping both share. Put, Get and Delete are served as
 * unary calls and on Link streams (link-server.ts) by the same functions, so
 * the two cannot answer differently; Reconcile is reconcile-server.ts.
 */
import type { BackendHandlers } from '../../proto/generated/vswap/v1/Backend';
import type { BackendStatsResponse } from '../../proto/generated/vswap/v1/BackendStatsResponse';
import type { ColdestRequest__Output } from '../../proto/generated/vswap/v1/ColdestRequest';
import type { ColdestResponse } from '../../proto/generated/vswap/v1/ColdestResponse';
import type { InfoResponse } from '../../proto/generated/vswap/v1/InfoResponse';
import { LinkServer, type LinkCalls } from './link-server';
import type { Logger } from './logger';
import type { LinkCallObserver } from './metrics-grpc';
import { loadVswapProto } from './proto';
import { reconcileHandler, type ReconcileSession } from './reconcile-server';
import { unary, type ServiceBinding } from './server';

/** What a backend core answers, method by method. */
export interface BackendCalls extends LinkCalls {
  info(): Promise<InfoResponse> | InfoResponse;
  stats(): Promise<BackendStatsResponse> | BackendStatsResponse;
  coldest(req: ColdestRequest__Output): Promise<ColdestResponse> | ColdestResponse;
  beginReconcile(): Promise<ReconcileSession>;
}

/** The service binding; `observe` counts the calls links carry (the gRPC metrics). */
export function backendService(calls: BackendCalls, log: Logger, observe?: LinkCallObserver): ServiceBinding {
  const links = new LinkServer({ log, calls, observe });
  const implementation: BackendHandlers = {
    Put: unary(log, 'Put', (req) => calls.put(req)),
    Get: unary(log, 'Get', (req) => calls.get(req)),
    Delete: unary(log, 'Delete', (req) => calls.delete(req)),
    Info: unary(log, 'Info', () => calls.info()),
    Stats: unary(log, 'Stats', () => calls.stats()),
    Coldest: unary(log, 'Coldest', (req) => calls.coldest(req)),
    Reconcile: reconcileHandler({ log, begin: () => calls.beginReconcile() }),
    Link: links.handler,
  };
  return {
    name: 'vswap.v1.Backend',
    definition: loadVswapProto().vswap.v1.Backend.service,
    implementation,
    drain: () => links.close(),
  };
}
