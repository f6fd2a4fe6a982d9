/**
 * How the fault harness reaches a coordinator that authenticates its callers:
 * TLS with the cluster CA and the admin token on every call. Raw gRPC clients
 * (the recording client's mutations, deadline storms, swapoffs, the dedup
 * probe) get it from their channel credentials, so no call can go without it.
 */
import * as grpc from '@grpc/grpc-js';
import type { VirtualSwapClient } from '../../proto/generated/vswap/v1/VirtualSwap';
import { clientChannel } from '../../services/common/auth/tls-channel';
import { CHANNEL_OPTIONS, loadVswapProto } from '../../services/common/proto';

export interface CoordinatorAccess {
  /** The admin bearer token. */
  token: string;
  /** PEM of the CA that signed the coordinator's certificate. */
  ca: Buffer;
}

/**
 * A raw VirtualSwap client of `address`: TLS plus `authorization: Bearer
 * <token>` on every call; plaintext without access (protected mode). The
 * channel comes from tlsChannel, which knows how to dial an IP address over TLS.
 */
export function coordinatorClient(address: string, access: CoordinatorAccess | undefined): VirtualSwapClient {
  const channel = clientChannel(address, access && { ca: access.ca }, CHANNEL_OPTIONS);
  const credentials = access
    ? grpc.credentials.combineChannelCredentials(
        channel.credentials,
        grpc.credentials.createFromMetadataGenerator((_params, callback) => {
          const md = new grpc.Metadata();
          md.set('authorization', `Bearer ${access.token}`);
          callback(null, md);
        }),
      )
    : channel.credentials;
  return new (loadVswapProto().vswap.v1.VirtualSwap)(address, credentials, channel.options);
}
