/**
 * The backends' gate: only the coordinator may call vswap.v1.Backend. It
 * proves itself with the cluster secret (`authorization: Bearer <secret>`,
 * --cluster-token-file) and/or, with --tls-ca, a client certificate from the
 * cluster CA whose CN is the coordinator's (--tls-client-cn). Anyone else gets
 * UNAUTHENTICATED on every method, before the handler runs. Health and
 * reflection stay open (they carry no pages).
 */
import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { optional, str } from '../config';
import { type RefusalReason, Refusals } from './refusals';
import { bearerOf, sameDigest, sha256 } from './secrets';

/** The backends' own options next to listenerSecurityOptions(). */
export function clusterGuardOptions() {
  return {
    clusterTokenFile: optional(
      str('file holding the cluster secret: the only bearer token accepted (the coordinator presents it)'),
    ),
    tlsClientCn: str(
      'with --tls-ca: the subject CN a client certificate must carry (the coordinator presents it)',
      'vswap-coordinator',
      (v) => (v === '' ? 'must not be empty' : undefined),
    ),
  };
}

export interface ClusterGuardOptions {
  /** The cluster secret; undefined = no token required. */
  token: string | undefined;
  /** CN a verified client certificate must carry; undefined = no certificate required (TLS without --tls-ca). */
  clientCn: string | undefined;
  refusals: Refusals;
}

/** What grpc-js tells of a call's transport (its AuthContext): the client certificate, once verified. */
export interface PeerAuth {
  sslPeerCertificate?: PeerCertificate;
}

/** Methods under this prefix are guarded; the rest (health, reflection) are open. */
const GUARDED = '/vswap.v1.';

/** What is wrong with a caller, or undefined when it is the coordinator. */
export function clusterRefusal(
  o: Pick<ClusterGuardOptions, 'token' | 'clientCn'> & { tokenDigest?: Buffer },
  metadata: grpc.Metadata,
  auth: PeerAuth,
): { reason: RefusalReason; message: string } | undefined {
  if (o.clientCn !== undefined) {
    const cn = auth.sslPeerCertificate?.subject?.CN;
    if (cn === undefined)
      return { reason: 'no_credentials', message: 'a client certificate from the cluster CA is required' };
    if (cn !== o.clientCn)
      return { reason: 'unknown_certificate', message: 'only the coordinator may call this service' };
  }
  if (o.token !== undefined) {
    const bearer = bearerOf(metadata);
    if (bearer.kind === 'none')
      return { reason: 'no_credentials', message: 'no credentials: send authorization: Bearer <cluster secret>' };
    if (bearer.kind === 'malformed')
      return { reason: 'malformed_credentials', message: 'the authorization metadata is not "Bearer <token>"' };
    if (!sameDigest(bearer.digest, o.tokenDigest ?? sha256(o.token)))
      return { reason: 'bad_token', message: 'the bearer token is not the cluster secret' };
  }
  return undefined;
}

/** A server interceptor answering UNAUTHENTICATED to every guarded call not from the coordinator. */
export function clusterGuard(o: ClusterGuardOptions): grpc.ServerInterceptor {
  const tokenDigest = o.token === undefined ? undefined : sha256(o.token);
  const check = { token: o.token, clientCn: o.clientCn, tokenDigest };
  return (method, call) => {
    if (!method.path.startsWith(GUARDED)) return new grpc.ServerInterceptingCall(call);
    return new grpc.ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, mdNext) {
            const refusal = clusterRefusal(check, metadata, call.getAuthContext());
            if (refusal === undefined) {
              mdNext(metadata);
              return;
            }
            const name = method.path.slice(method.path.lastIndexOf('/') + 1);
            o.refusals.refuse(undefined, name, refusal.reason, refusal.message);
            call.sendStatus({
              code: grpc.status.UNAUTHENTICATED,
              details: refusal.message,
              metadata: new grpc.Metadata(),
            });
          },
        });
      },
    });
  };
}
