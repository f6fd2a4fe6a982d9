/**
 * How a service's listener is secured: TLS (--tls-cert/--tls-key), client
 * certificates (--tls-ca: required and verified, mutual TLS), and the rules
 * that keep a service from being exposed by accident:
 * - plaintext on an address that is not loopback only with --insecure (warned);
 * - a service given no credentials at all (protected mode, as Redis's) serves
 *   loopback only, and says so in a warning; elsewhere it refuses to start
 *   unless --insecure.
 */
import * as grpc from '@grpc/grpc-js';
import { ConfigError, bool, optional, str } from '../config';
import type { Logger } from '../logger';
import { readPemFile } from './secrets';

/** The listener options every service has (spread into its option declarations). */
export function listenerSecurityOptions() {
  return {
    tlsCert: optional(str('PEM certificate chain served on the listener (TLS; with --tls-key)')),
    tlsKey: optional(str('PEM private key of --tls-cert')),
    tlsCa: optional(
      str('PEM CA certificates: callers must present a client certificate signed by one of them (mutual TLS)'),
    ),
    insecure: bool('allow plaintext, or no credentials, on an address that is not loopback (logs a warning)', false),
  };
}

export interface ListenerSecurity {
  /** host:port the service binds. */
  address: string;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  tlsCa: string | undefined;
  insecure: boolean;
  /** Whether callers must authenticate (a principals file, a cluster token or client certificates). */
  authenticates: boolean;
}

export interface SecuredListener {
  credentials: grpc.ServerCredentials;
  /**
   * Logs the warnings about how the listener is exposed (protected mode,
   * --insecure). Called once the service is serving, so that a start that
   * fails ends with its own reason as the last line.
   */
  warn(log: Logger): void;
}

/** 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export function hostOf(address: string): string {
  return address.slice(0, address.lastIndexOf(':'));
}

/**
 * The server credentials for the listener, after the checks above; throws
 * ConfigError (the service does not start) when a rule is broken.
 */
export function listenerCredentials(o: ListenerSecurity): SecuredListener {
  const warnings: string[] = [];
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined))
    throw new ConfigError('--tls-cert and --tls-key go together: give both or neither');
  if (o.tlsCa !== undefined && o.tlsCert === undefined)
    throw new ConfigError('--tls-ca (client certificates) needs TLS: give --tls-cert and --tls-key too');
  const loopback = isLoopbackHost(hostOf(o.address));
  const tls = o.tlsCert !== undefined;
  if (!o.authenticates) {
    if (!loopback && !o.insecure)
      throw new ConfigError(
        'no credentials are configured, so the service serves loopback only ' +
          `(protected mode) and will not listen on ${o.address}: ` +
          'configure credentials (see README, Security), listen on 127.0.0.1, or pass --insecure',
      );
    warnings.push(
      loopback
        ? 'protected mode: no credentials are configured, so any local process ' +
            'may call every method; listening on loopback only'
        : '--insecure: no credentials are configured and the listener is not ' +
            'loopback: anyone who reaches it may call every method',
    );
  }
  if (!tls && !loopback) {
    if (!o.insecure)
      throw new ConfigError(
        `refusing to serve plaintext on ${o.address} (not loopback): give --tls-cert and --tls-key, or pass --insecure`,
      );
    warnings.push('--insecure: serving plaintext on an address that is not loopback');
  }
  const warn = (log: Logger): void => {
    for (const w of warnings) log.warn({ address: o.address }, w);
  };
  if (!tls) return { credentials: grpc.ServerCredentials.createInsecure(), warn };
  const cert = readPemFile(o.tlsCert!, '--tls-cert');
  const key = readPemFile(o.tlsKey!, '--tls-key');
  const ca = o.tlsCa === undefined ? null : readPemFile(o.tlsCa, '--tls-ca');
  try {
    return {
      credentials: grpc.ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], ca !== null),
      warn,
    };
  } catch (err) {
    throw new ConfigError(`--tls-cert/--tls-key/--tls-ca: ${(err as Error).message}`);
  }
}
