import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as BackendProto } from '../../proto/generated/backend';
import type { ProtoGrpcType as CoordinatorProto } from '../../proto/generated/coordinator';
import { MAX_MESSAGE_BYTES } from './limits';
import { FLOW_CONTROL_WINDOW_BYTES } from './flow-control';

/** proto/ at the package root, from source (services/common) or from dist. */
export const PROTO_ROOT = findProtoRoot();

function findProtoRoot(): string {
  for (const up of ['../../proto', '../../../proto']) {
    const candidate = path.resolve(__dirname, up);
    if (require('node:fs').existsSync(path.join(candidate, 'vswap/v1/coordinator.proto'))) return candidate;
  }
  throw new Error(`cannot find proto/vswap/v1 above ${__dirname}`);
}

export const PROTO_FILES = ['vswap/v1/coordinator.proto', 'vswap/v1/backend.proto'];

/** The options the generated types in proto/generated were made with. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

let cached: protoLoader.PackageDefinition | undefined;

/** Both vswap protos in one package definition (what reflection serves). */
export function packageDefinition(): protoLoader.PackageDefinition {
  cached ??= protoLoader.loadSync(PROTO_FILES, LOADER_OPTIONS);
  return cached;
}

export type VswapProto = CoordinatorProto & BackendProto;

export function loadVswapProto(): VswapProto {
  return grpc.loadPackageDefinition(packageDefinition()) as unknown as VswapProto;
}

/** Channel options every client in the project uses. */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  // Small retry buffer: grpc-js streams go quadratic with the 1 MiB default.
  'grpc.per_rpc_retry_buffer_size': 64 * 1024,
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW_BYTES,
  // channelz keeps per-call counters and traces for a channelz service, which no vswap process serves.
  'grpc.enable_channelz': 0,
};
