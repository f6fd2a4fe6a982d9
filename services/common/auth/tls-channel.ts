/**
 * A client channel's credentials and options from the TLS material, for every
 * vswap client (the SDK and vswapctl, the coordinator's links to its backends,
 * the health check, the fault harness, the benches).
 *
 * Why not grpc.credentials.createSsl alone: grpc-js sends the target's host as
 * the TLS server name (SNI) even when it is an IP address, which RFC 6066
 * forbids, and Node warns on every such connection's first use
 * (`DEP0123 ... Setting the TLS ServerName to an IP address is not permitted`)
 * — in the normal case, a cluster on 127.0.0.1. grpc-js's only knob for the
 * SNI is the channel option grpc.ssl_target_name_override, which also makes it
 * check the certificate against that name instead of the target. So for an
 * IP target the override is a fixed name (our servers serve one certificate
 * and ignore SNI) and our own checkServerIdentity checks the certificate
 * against the IP actually dialled (its IP SANs), exactly as before: a server
 * whose certificate does not name that IP is still refused. A DNS name target
 * is left as grpc-js does it (SNI and check against the name).
 */
import { isIP } from 'node:net';
import { type PeerCertificate, checkServerIdentity } from 'node:tls';
import * as grpc from '@grpc/grpc-js';

/** What a TLS client presents and trusts (PEM). */
export interface ClientTls {
  /** The CA(s) the server's certificate must be signed by. */
  ca: Buffer;
  /** Client certificate and its key (mutual TLS): both or neither. */
  key?: Buffer | null;
  cert?: Buffer | null;
}

/** The second and third arguments of a grpc-js client's constructor. */
export interface ClientChannel {
  credentials: grpc.ChannelCredentials;
  options: grpc.ChannelOptions;
}

/**
 * The TLS server name sent when the target is an IP address: a DNS-style name
 * under .invalid (RFC 2606), so that it can never be mistaken for a real host.
 * No certificate needs to carry it (see checkServerIdentity below).
 */
export const IP_TARGET_SERVER_NAME = 'vswap.invalid';

const TARGET_NAME_OVERRIDE = 'grpc.ssl_target_name_override';

/**
 * The IP address a target dials, or undefined when it names a host (or a Unix
 * socket). The target forms grpc-js accepts: `host:port`, `[v6]:port`,
 * `dns:[//authority/]host:port` and `ipv4:`/`ipv6:` lists (grpc-js takes the
 * first address as the TLS host, so do we).
 */
export function targetIp(target: string): string | undefined {
  const scheme = /^(dns|ipv4|ipv6):(?:\/\/[^/]*\/)?(.*)$/.exec(target);
  if (/^unix(-abstract)?:/.test(target)) return undefined;
  let hostPort = scheme ? scheme[2]! : target;
  if (scheme && scheme[1] !== 'dns') hostPort = hostPort.split(',')[0]!;
  const host = grpc.experimental.splitHostPort(hostPort)?.host ?? hostPort;
  return isIP(host) !== 0 ? host : undefined;
}

/**
 * TLS to `target`: the credentials, and `options` (the caller's channel
 * options, kept) with what an IP target needs added. Throws as createSsl does
 * on unreadable PEM.
 */
export function tlsChannel(target: string, tls: ClientTls, options: grpc.ChannelOptions = {}): ClientChannel {
  const ip = targetIp(target);
  // A caller's own override wins: grpc-js then checks the certificate against it, as asked.
  if (ip === undefined || options[TARGET_NAME_OVERRIDE] !== undefined)
    return { credentials: grpc.credentials.createSsl(tls.ca, tls.key ?? null, tls.cert ?? null), options };
  return {
    credentials: grpc.credentials.createSsl(tls.ca, tls.key ?? null, tls.cert ?? null, {
      // grpc-js calls this with the override; the certificate must name the IP dialled (an IP SAN).
      checkServerIdentity: (_name: string, cert: PeerCertificate) => checkServerIdentity(ip, cert),
    }),
    options: { ...options, [TARGET_NAME_OVERRIDE]: IP_TARGET_SERVER_NAME },
  };
}

/** tlsChannel with `tls`, plaintext (the options unchanged) without. */
export function clientChannel(
  target: string,
  tls: ClientTls | undefined,
  options: grpc.ChannelOptions = {},
): ClientChannel {
  return tls ? tlsChannel(target, tls, options) : { credentials: grpc.credentials.createInsecure(), options };
}
