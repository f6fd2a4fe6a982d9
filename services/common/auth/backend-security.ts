/**
 * A backend's listener security in one call: TLS and protected mode
 * (listener.ts) plus the gate that lets only the coordinator in (cluster-guard.ts).
 */
import type * as grpc from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger';
import { clusterGuard } from './cluster-guard';
import { listenerCredentials } from './listener';
import { Refusals } from './refusals';
import { readSecretFile } from './secrets';

export interface BackendSecurityConfig {
  listen: string;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  tlsCa: string | undefined;
  insecure: boolean;
  clusterTokenFile: string | undefined;
  tlsClientCn: string;
}

export interface BackendSecurity {
  credentials: grpc.ServerCredentials;
  /** Logs how the listener is exposed (protected mode, --insecure); call once serving. */
  warn(): void;
  /** The guard (empty in protected mode: no credentials configured). */
  interceptors: grpc.ServerInterceptor[];
  refusals: Refusals;
}

export function backendSecurity(config: BackendSecurityConfig, log: Logger, registry?: Registry): BackendSecurity {
  const token =
    config.clusterTokenFile === undefined ? undefined : readSecretFile(config.clusterTokenFile, '--cluster-token-file');
  const clientCn = config.tlsCa === undefined ? undefined : config.tlsClientCn;
  const authenticates = token !== undefined || clientCn !== undefined;
  const listener = listenerCredentials({
    address: config.listen,
    tlsCert: config.tlsCert,
    tlsKey: config.tlsKey,
    tlsCa: config.tlsCa,
    insecure: config.insecure,
    authenticates,
  });
  const refusals = new Refusals(log, registry);
  return {
    credentials: listener.credentials,
    warn: () => listener.warn(log),
    interceptors: authenticates ? [clusterGuard({ token, clientCn, refusals })] : [],
    refusals,
  };
}
