/**
 * The coordinator's security from its options: the listener (TLS, client
 * certificates, protected mode), the principals file and the gate in front of
 * vswap.v1.VirtualSwap, and the credentials it presents to the backends.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import { ConfigError } from '../../common/config';
import type { Logger } from '../../common/logger';
import { listenerCredentials } from '../../common/auth/listener';
import { Refusals } from '../../common/auth/refusals';
import { type BackendCredentials, type BackendCredentialsConfig, backendCredentials } from './backend-credentials';
import { AuthGate, type SlotOwnersView } from './authorize';
import { PrincipalsFile } from './principals-file';

export interface CoordinatorSecurityConfig extends BackendCredentialsConfig {
  listen: string;
  principals: string | undefined;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  tlsCa: string | undefined;
  insecure: boolean;
}

export interface CoordinatorSecurity {
  credentials: grpc.ServerCredentials;
  /** Logs how the listener is exposed (protected mode, --insecure); call once serving. */
  warn(): void;
  /** Undefined in protected mode (no principals file): every caller on loopback may do everything. */
  principals: PrincipalsFile | undefined;
  refusals: Refusals;
  backends: BackendCredentials;
  /** The gate over the slot table (undefined in protected mode). */
  gate(slots: SlotOwnersView): AuthGate | undefined;
  close(): void;
}

/** Reads and checks everything before the coordinator opens its journal; throws ConfigError. */
export function coordinatorSecurity(
  config: CoordinatorSecurityConfig,
  log: Logger,
  registry?: Registry,
): CoordinatorSecurity {
  if (config.tlsCa !== undefined && config.principals === undefined)
    throw new ConfigError(
      '--tls-ca needs --principals: a client certificate authenticates as the principal whose cert_cn is its CN',
    );
  const backends = backendCredentials(config);
  const principals = config.principals === undefined ? undefined : new PrincipalsFile({ file: config.principals, log });
  try {
    const listener = listenerCredentials({
      address: config.listen,
      tlsCert: config.tlsCert,
      tlsKey: config.tlsKey,
      tlsCa: config.tlsCa,
      insecure: config.insecure,
      authenticates: principals !== undefined,
    });
    const refusals = new Refusals(log, registry);
    return {
      credentials: listener.credentials,
      warn: () => listener.warn(log),
      principals,
      refusals,
      backends,
      gate: (slots) => principals && new AuthGate({ principals: () => principals.current, slots, refusals }),
      close: () => principals?.close(),
    };
  } catch (err) {
    principals?.close();
    throw err;
  }
}
