/**
 * How the fault harness reaches a coordinator that authenticates its callers:
 * TLS with the cluster CA and the admin token on every call. Raw gRPC clients
 * (the recording client's mutations, deadline storms, swapoffs, the dedup
 * probe) get it from their channel credentials, so no call can go without it.
 */
import * as grpc from '@grpc/grpc-js';

export interface CoordinatorAccess {
  /** The admin bearer token. */
  token: string;
  /** PEM of the CA that signed the coordinator's certificate. */
  ca: Buffer;
}

/** TLS plus `authorization: Bearer <token>` on every call; plaintext without access (protected mode). */
export function coordinatorChannel(access: CoordinatorAccess | undefined): grpc.ChannelCredentials {
  if (!access) return grpc.credentials.createInsecure();
  const authorization = `Bearer ${access.token}`;
  return grpc.credentials.combineChannelCredentials(
    grpc.credentials.createSsl(access.ca),
    grpc.credentials.createFromMetadataGenerator((_params, callback) => {
      const md = new grpc.Metadata();
      md.set('authorization', authorization);
      callback(null, md);
    }),
  );
}
