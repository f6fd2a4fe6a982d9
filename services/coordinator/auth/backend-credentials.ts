/**
 * How the coordinator proves itself to the backends: the cluster secret as
 * `authorization: Bearer <secret>` on every call (--cluster-token-file) and,
 * with --backend-ca, TLS to them, presenting a client certificate from the
 * cluster CA (--backend-client-cert/--backend-client-key: mutual TLS).
 * The TLS material, not a channel: each backend's channel is made for its
 * address (services/common/auth/tls-channel.ts: an IP address is checked
 * against the certificate's IP SANs without being sent as the server name).
 */
import { createSecureContext } from 'node:tls';
import { ConfigError } from '../../common/config';
import { readPemFile, readSecretFile } from '../../common/auth/secrets';
import type { ClientTls } from '../../common/auth/tls-channel';

export interface BackendCredentialsConfig {
  clusterTokenFile: string | undefined;
  backendCa: string | undefined;
  backendClientCert: string | undefined;
  backendClientKey: string | undefined;
}

export interface BackendCredentials {
  /** TLS to the backends (CA, and the client certificate when given); undefined = plaintext. */
  tls: ClientTls | undefined;
  token: string | undefined;
}

export function backendCredentials(config: BackendCredentialsConfig): BackendCredentials {
  const token =
    config.clusterTokenFile === undefined ? undefined : readSecretFile(config.clusterTokenFile, '--cluster-token-file');
  if ((config.backendClientCert === undefined) !== (config.backendClientKey === undefined))
    throw new ConfigError('--backend-client-cert and --backend-client-key go together: give both or neither');
  if (config.backendClientCert !== undefined && config.backendCa === undefined)
    throw new ConfigError('--backend-client-cert needs TLS to the backends: give --backend-ca too');
  if (config.backendCa === undefined) return { tls: undefined, token };
  const ca = readPemFile(config.backendCa, '--backend-ca');
  const key =
    config.backendClientKey === undefined ? null : readPemFile(config.backendClientKey, '--backend-client-key');
  const cert =
    config.backendClientCert === undefined ? null : readPemFile(config.backendClientCert, '--backend-client-cert');
  try {
    // Parsed now (as each channel will), so that bad PEM stops the coordinator at start, naming the options.
    createSecureContext({ ca, key: key ?? undefined, cert: cert ?? undefined });
    return { tls: { ca, key, cert }, token };
  } catch (err) {
    throw new ConfigError(`--backend-ca/--backend-client-cert/--backend-client-key: ${(err as Error).message}`);
  }
}
