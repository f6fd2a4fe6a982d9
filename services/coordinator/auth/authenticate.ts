/**
 * Who is calling: a bearer token (`authorization: Bearer <token>`) whose
 * SHA-256 a principal holds, or else a client certificate, verified by TLS
 * against --tls-ca, whose CN a principal names (cert_cn). A token wins over a
 * certificate. Tokens are looked up by digest, and the digest compared in
 * constant time.
 */
import type * as grpc from '@grpc/grpc-js';
import type { PeerAuth } from '../../common/auth/cluster-guard';
import type { RefusalReason } from '../../common/auth/refusals';
import { bearerOf, sameDigest } from '../../common/auth/secrets';
import type { Principal, PrincipalSet } from './principals';

export type Authentication = { ok: true; principal: Principal } | { ok: false; reason: RefusalReason; message: string };

export function authenticate(set: PrincipalSet, metadata: grpc.Metadata, auth: PeerAuth): Authentication {
  const bearer = bearerOf(metadata);
  if (bearer.kind === 'malformed')
    return {
      ok: false,
      reason: 'malformed_credentials',
      message: 'the authorization metadata is not "Bearer <token>"',
    };
  if (bearer.kind === 'token') {
    const p = set.byToken.get(bearer.digest.toString('hex'));
    if (p?.tokenSha256 === undefined || !sameDigest(p.tokenSha256, bearer.digest))
      return { ok: false, reason: 'bad_token', message: 'the bearer token is not valid' };
    return { ok: true, principal: p };
  }
  // A certificate with several CNs names no single principal.
  const cn: unknown = auth.sslPeerCertificate?.subject?.CN;
  if (cn !== undefined) {
    const p = typeof cn === 'string' ? set.byCertCn.get(cn) : undefined;
    if (p === undefined)
      return { ok: false, reason: 'unknown_certificate', message: 'the client certificate names no principal' };
    return { ok: true, principal: p };
  }
  return {
    ok: false,
    reason: 'no_credentials',
    message: 'no credentials: send the metadata authorization: Bearer <token>',
  };
}
